import { formatDuration, parseDuration, subtractDuration } from '../../src/retention/duration.js';
import {
  applyPolicy,
  EMPTY_POLICY_REASON,
  isEmptyPolicy,
  type PolicySnapshot,
  type RetentionPolicy,
  UNLIMITED,
} from '../../src/retention/policy.js';
import { readPolicy } from '../../src/settings/prune.js';
import { inputErrorOf, reader } from '../support/helpers.js';

// The snapshots of restic's TestApplyPolicy (internal/data/snapshot_policy_test.go), in its order:
// `<UTC time> [tags]`. Several share a time; restic sorts them stably, we by id: the ids below are
// given descending tails so that both orders agree.
const RESTIC_SNAPSHOTS = `
  2014-09-01 10:20:30 | 2014-09-02 10:20:30 | 2014-09-05 10:20:30
  2014-09-06 10:20:30 | 2014-09-08 10:20:30 | 2014-09-09 10:20:30
  2014-09-10 10:20:30 | 2014-09-11 10:20:30 | 2014-09-20 10:20:30
  2014-09-22 10:20:30 | 2014-08-08 10:20:30 | 2014-08-10 10:20:30
  2014-08-12 10:20:30 | 2014-08-13 10:20:30 | 2014-08-13 10:20:30.1
  2014-08-15 10:20:30 | 2014-08-18 10:20:30 | 2014-08-20 10:20:30
  2014-08-21 10:20:30 | 2014-08-22 10:20:30 | 2014-10-01 10:20:30 foo
  2014-10-02 10:20:30 foo | 2014-10-05 10:20:30 foo | 2014-10-06 10:20:30 foo
  2014-10-08 10:20:30 foo | 2014-10-09 10:20:30 foo | 2014-10-10 10:20:30 foo
  2014-10-11 10:20:30 foo | 2014-10-20 10:20:30 foo | 2014-10-22 10:20:30 foo
  2014-11-08 10:20:30 foo | 2014-11-10 10:20:30 foo | 2014-11-12 10:20:30 foo
  2014-11-13 10:20:30 foo | 2014-11-13 10:20:30.1 bar | 2014-11-15 10:20:30 foo,bar
  2014-11-18 10:20:30 | 2014-11-20 10:20:30 | 2014-11-21 10:20:30
  2014-11-22 10:20:30 | 2015-09-01 10:20:30 | 2015-09-02 10:20:30
  2015-09-05 10:20:30 | 2015-09-06 10:20:30 | 2015-09-08 10:20:30
  2015-09-09 10:20:30 | 2015-09-10 10:20:30 | 2015-09-11 10:20:30
  2015-09-20 10:20:30 | 2015-09-22 10:20:30 | 2015-08-08 10:20:30
  2015-08-10 10:20:30 | 2015-08-12 10:20:30 | 2015-08-13 10:20:30
  2015-08-13 10:20:30.1 | 2015-08-15 10:20:30 | 2015-08-18 10:20:30
  2015-08-20 10:20:30 | 2015-08-21 10:20:30 | 2015-08-22 10:20:30
  2015-10-01 10:20:30 | 2015-10-02 10:20:30 | 2015-10-05 10:20:30
  2015-10-06 10:20:30 | 2015-10-08 10:20:30 | 2015-10-09 10:20:30
  2015-10-10 10:20:30 | 2015-10-11 10:20:30 | 2015-10-20 10:20:30
  2015-10-22 10:20:30 | 2015-10-22 10:20:30 | 2015-10-22 10:20:30 foo,bar
  2015-10-22 10:20:30 foo,bar | 2015-10-22 10:20:30 foo,bar | 2015-11-08 10:20:30
  2015-11-10 10:20:30 | 2015-11-12 10:20:30 | 2015-11-13 10:20:30
  2015-11-13 10:20:30.1 | 2015-11-15 10:20:30 | 2015-11-18 10:20:30
  2015-11-20 10:20:30 | 2015-11-21 10:20:30 | 2015-11-22 10:20:30
  2016-01-01 01:02:03 | 2016-01-01 01:03:03 | 2016-01-01 07:08:03
  2016-01-03 07:02:03 | 2016-01-04 10:23:03 | 2016-01-04 11:23:03
  2016-01-04 12:23:03 | 2016-01-04 12:24:03 | 2016-01-04 12:28:03
  2016-01-04 12:30:03 | 2016-01-04 16:23:03 | 2016-01-05 09:02:03
  2016-01-06 08:02:03 | 2016-01-07 10:02:03 | 2016-01-08 20:02:03
  2016-01-09 21:02:03 | 2016-01-12 21:02:03 | 2016-01-12 21:08:03
  2016-01-18 12:02:03
`;

function snapshot(text: string, index: number): PolicySnapshot {
  const [date, time, tags] = text.split(' ');
  const at = new Date(`${date}T${time}Z`);
  const stamp = at.toISOString().replace(/[-:]/g, '');
  const tail = (0xffffffff - index).toString(16);
  return { id: `${stamp}-${tail}`, time: at, tags: tags ? tags.split(',') : [] };
}

const snapshots = RESTIC_SNAPSHOTS.split(/[\n|]/)
  .map((item) => item.trim())
  .filter(Boolean)
  .map(snapshot);
const NOW = new Date('2100-01-01T00:00:00Z');

/** Each kept snapshot as restic's golden files show it: time (no trailing zeros) and reasons. */
function kept(list: PolicySnapshot[], policy: RetentionPolicy, now = NOW): string[] {
  const byId = new Map(list.map((s) => [s.id, s]));
  return applyPolicy(list, policy, now).keep.map(({ id, reasons }) => {
    const time = byId
      .get(id)!
      .time.toISOString()
      .replace('T', ' ')
      .replace('Z', '')
      .replace(/\.?0+$/, '');
    return `${time}  ${reasons.join(', ')}`;
  });
}

// restic's golden files (internal/data/testdata/policy_keep_snapshots_<n>), with our tag reason
// ("tag foo" for "has tags [foo]"). Not ported: 0 (restic removes everything for an empty policy, we
// keep everything), 19 (a tag list that must match all of its tags) and 30-35 (keep-within-hourly...).
const FULL: Array<[number, RetentionPolicy, string[]]> = [
  [
    1,
    { last: 10 },
    [
      '2016-01-18 12:02:03  last snapshot',
      '2016-01-12 21:08:03  last snapshot',
      '2016-01-12 21:02:03  last snapshot',
      '2016-01-09 21:02:03  last snapshot',
      '2016-01-08 20:02:03  last snapshot',
      '2016-01-07 10:02:03  last snapshot',
      '2016-01-06 08:02:03  last snapshot',
      '2016-01-05 09:02:03  last snapshot',
      '2016-01-04 16:23:03  last snapshot',
      '2016-01-04 12:30:03  last snapshot',
    ],
  ],
  [
    5,
    { hourly: 20 },
    [
      '2016-01-18 12:02:03  hourly snapshot',
      '2016-01-12 21:08:03  hourly snapshot',
      '2016-01-09 21:02:03  hourly snapshot',
      '2016-01-08 20:02:03  hourly snapshot',
      '2016-01-07 10:02:03  hourly snapshot',
      '2016-01-06 08:02:03  hourly snapshot',
      '2016-01-05 09:02:03  hourly snapshot',
      '2016-01-04 16:23:03  hourly snapshot',
      '2016-01-04 12:30:03  hourly snapshot',
      '2016-01-04 11:23:03  hourly snapshot',
      '2016-01-04 10:23:03  hourly snapshot',
      '2016-01-03 07:02:03  hourly snapshot',
      '2016-01-01 07:08:03  hourly snapshot',
      '2016-01-01 01:03:03  hourly snapshot',
      '2015-11-22 10:20:30  hourly snapshot',
      '2015-11-21 10:20:30  hourly snapshot',
      '2015-11-20 10:20:30  hourly snapshot',
      '2015-11-18 10:20:30  hourly snapshot',
      '2015-11-15 10:20:30  hourly snapshot',
      '2015-11-13 10:20:30.1  hourly snapshot',
    ],
  ],
  [
    6,
    { daily: 3 },
    [
      '2016-01-18 12:02:03  daily snapshot',
      '2016-01-12 21:08:03  daily snapshot',
      '2016-01-09 21:02:03  daily snapshot',
    ],
  ],
  [
    9,
    { last: 5, daily: 5 },
    [
      '2016-01-18 12:02:03  last snapshot, daily snapshot',
      '2016-01-12 21:08:03  last snapshot, daily snapshot',
      '2016-01-12 21:02:03  last snapshot',
      '2016-01-09 21:02:03  last snapshot, daily snapshot',
      '2016-01-08 20:02:03  last snapshot, daily snapshot',
      '2016-01-07 10:02:03  daily snapshot',
    ],
  ],
  [11, { weekly: 2 }, ['2016-01-18 12:02:03  weekly snapshot', '2016-01-12 21:08:03  weekly snapshot']],
  [
    13,
    { daily: 3, weekly: 4 },
    [
      '2016-01-18 12:02:03  daily snapshot, weekly snapshot',
      '2016-01-12 21:08:03  daily snapshot, weekly snapshot',
      '2016-01-09 21:02:03  daily snapshot, weekly snapshot',
      '2016-01-03 07:02:03  weekly snapshot',
    ],
  ],
  [
    14,
    { monthly: 6 },
    [
      '2016-01-18 12:02:03  monthly snapshot',
      '2015-11-22 10:20:30  monthly snapshot',
      '2015-10-22 10:20:30  monthly snapshot',
      '2015-09-22 10:20:30  monthly snapshot',
      '2015-08-22 10:20:30  monthly snapshot',
      '2014-11-22 10:20:30  monthly snapshot',
    ],
  ],
  [
    15,
    { daily: 2, weekly: 2, monthly: 6 },
    [
      '2016-01-18 12:02:03  daily snapshot, weekly snapshot, monthly snapshot',
      '2016-01-12 21:08:03  daily snapshot, weekly snapshot',
      '2015-11-22 10:20:30  monthly snapshot',
      '2015-10-22 10:20:30  monthly snapshot',
      '2015-09-22 10:20:30  monthly snapshot',
      '2015-08-22 10:20:30  monthly snapshot',
      '2014-11-22 10:20:30  monthly snapshot',
    ],
  ],
  [
    16,
    { yearly: 10 },
    [
      '2016-01-18 12:02:03  yearly snapshot',
      '2015-11-22 10:20:30  yearly snapshot',
      '2014-11-22 10:20:30  yearly snapshot',
      '2014-08-08 10:20:30  oldest yearly snapshot',
    ],
  ],
  [
    17,
    { daily: 7, weekly: 2, monthly: 3, yearly: 10 },
    [
      '2016-01-18 12:02:03  daily snapshot, weekly snapshot, monthly snapshot, yearly snapshot',
      '2016-01-12 21:08:03  daily snapshot, weekly snapshot',
      '2016-01-09 21:02:03  daily snapshot',
      '2016-01-08 20:02:03  daily snapshot',
      '2016-01-07 10:02:03  daily snapshot',
      '2016-01-06 08:02:03  daily snapshot',
      '2016-01-05 09:02:03  daily snapshot',
      '2015-11-22 10:20:30  monthly snapshot, yearly snapshot',
      '2015-10-22 10:20:30  monthly snapshot',
      '2014-11-22 10:20:30  yearly snapshot',
      '2014-08-08 10:20:30  oldest yearly snapshot',
    ],
  ],
  [
    18,
    { tags: ['foo'] },
    [
      '2015-10-22 10:20:30  tag foo',
      '2015-10-22 10:20:30  tag foo',
      '2015-10-22 10:20:30  tag foo',
      '2014-11-15 10:20:30  tag foo',
      '2014-11-13 10:20:30  tag foo',
      '2014-11-12 10:20:30  tag foo',
      '2014-11-10 10:20:30  tag foo',
      '2014-11-08 10:20:30  tag foo',
      '2014-10-22 10:20:30  tag foo',
      '2014-10-20 10:20:30  tag foo',
      '2014-10-11 10:20:30  tag foo',
      '2014-10-10 10:20:30  tag foo',
      '2014-10-09 10:20:30  tag foo',
      '2014-10-08 10:20:30  tag foo',
      '2014-10-06 10:20:30  tag foo',
      '2014-10-05 10:20:30  tag foo',
      '2014-10-02 10:20:30  tag foo',
      '2014-10-01 10:20:30  tag foo',
    ],
  ],
  [
    20,
    { tags: ['foo', 'bar'] },
    [
      '2015-10-22 10:20:30  tag foo, tag bar',
      '2015-10-22 10:20:30  tag foo, tag bar',
      '2015-10-22 10:20:30  tag foo, tag bar',
      '2014-11-15 10:20:30  tag foo, tag bar',
      '2014-11-13 10:20:30.1  tag bar',
      '2014-11-13 10:20:30  tag foo',
      '2014-11-12 10:20:30  tag foo',
      '2014-11-10 10:20:30  tag foo',
      '2014-11-08 10:20:30  tag foo',
      '2014-10-22 10:20:30  tag foo',
      '2014-10-20 10:20:30  tag foo',
      '2014-10-11 10:20:30  tag foo',
      '2014-10-10 10:20:30  tag foo',
      '2014-10-09 10:20:30  tag foo',
      '2014-10-08 10:20:30  tag foo',
      '2014-10-06 10:20:30  tag foo',
      '2014-10-05 10:20:30  tag foo',
      '2014-10-02 10:20:30  tag foo',
      '2014-10-01 10:20:30  tag foo',
    ],
  ],
  [21, { within: parseDuration('1d') }, ['2016-01-18 12:02:03  within 1d']],
  [
    23,
    { within: parseDuration('7d') },
    ['2016-01-18 12:02:03  within 7d', '2016-01-12 21:08:03  within 7d', '2016-01-12 21:02:03  within 7d'],
  ],
  [
    25,
    { within: parseDuration('1m14d') },
    [
      '2016-01-18 12:02:03  within 1m14d',
      '2016-01-12 21:08:03  within 1m14d',
      '2016-01-12 21:02:03  within 1m14d',
      '2016-01-09 21:02:03  within 1m14d',
      '2016-01-08 20:02:03  within 1m14d',
      '2016-01-07 10:02:03  within 1m14d',
      '2016-01-06 08:02:03  within 1m14d',
      '2016-01-05 09:02:03  within 1m14d',
      '2016-01-04 16:23:03  within 1m14d',
      '2016-01-04 12:30:03  within 1m14d',
      '2016-01-04 12:28:03  within 1m14d',
      '2016-01-04 12:24:03  within 1m14d',
      '2016-01-04 12:23:03  within 1m14d',
      '2016-01-04 11:23:03  within 1m14d',
      '2016-01-04 10:23:03  within 1m14d',
      '2016-01-03 07:02:03  within 1m14d',
      '2016-01-01 07:08:03  within 1m14d',
      '2016-01-01 01:03:03  within 1m14d',
      '2016-01-01 01:02:03  within 1m14d',
    ],
  ],
  [
    27,
    { within: parseDuration('13d23h') },
    [
      '2016-01-18 12:02:03  within 13d23h',
      '2016-01-12 21:08:03  within 13d23h',
      '2016-01-12 21:02:03  within 13d23h',
      '2016-01-09 21:02:03  within 13d23h',
      '2016-01-08 20:02:03  within 13d23h',
      '2016-01-07 10:02:03  within 13d23h',
      '2016-01-06 08:02:03  within 13d23h',
      '2016-01-05 09:02:03  within 13d23h',
      '2016-01-04 16:23:03  within 13d23h',
    ],
  ],
  [
    28,
    { within: parseDuration('2m2h') },
    [
      '2016-01-18 12:02:03  within 2m2h',
      '2016-01-12 21:08:03  within 2m2h',
      '2016-01-12 21:02:03  within 2m2h',
      '2016-01-09 21:02:03  within 2m2h',
      '2016-01-08 20:02:03  within 2m2h',
      '2016-01-07 10:02:03  within 2m2h',
      '2016-01-06 08:02:03  within 2m2h',
      '2016-01-05 09:02:03  within 2m2h',
      '2016-01-04 16:23:03  within 2m2h',
      '2016-01-04 12:30:03  within 2m2h',
      '2016-01-04 12:28:03  within 2m2h',
      '2016-01-04 12:24:03  within 2m2h',
      '2016-01-04 12:23:03  within 2m2h',
      '2016-01-04 11:23:03  within 2m2h',
      '2016-01-04 10:23:03  within 2m2h',
      '2016-01-03 07:02:03  within 2m2h',
      '2016-01-01 07:08:03  within 2m2h',
      '2016-01-01 01:03:03  within 2m2h',
      '2016-01-01 01:02:03  within 2m2h',
      '2015-11-22 10:20:30  within 2m2h',
      '2015-11-21 10:20:30  within 2m2h',
      '2015-11-20 10:20:30  within 2m2h',
      '2015-11-18 10:20:30  within 2m2h',
    ],
  ],
  [
    39,
    { daily: 3, weekly: 2, monthly: UNLIMITED, yearly: UNLIMITED },
    [
      '2016-01-18 12:02:03  daily snapshot, weekly snapshot, monthly snapshot, yearly snapshot',
      '2016-01-12 21:08:03  daily snapshot, weekly snapshot',
      '2016-01-09 21:02:03  daily snapshot',
      '2015-11-22 10:20:30  monthly snapshot, yearly snapshot',
      '2015-10-22 10:20:30  monthly snapshot',
      '2015-09-22 10:20:30  monthly snapshot',
      '2015-08-22 10:20:30  monthly snapshot',
      '2014-11-22 10:20:30  monthly snapshot, yearly snapshot',
      '2014-10-22 10:20:30  monthly snapshot',
      '2014-09-22 10:20:30  monthly snapshot',
      '2014-08-22 10:20:30  monthly snapshot',
      '2014-08-08 10:20:30  oldest monthly snapshot, oldest yearly snapshot',
    ],
  ],
];
const SUMMARY: Array<[number, RetentionPolicy, number, string]> = [
  [2, { last: 15 }, 15, '2016-01-04 10:23:03  last snapshot'],
  [3, { last: 99 }, 99, '2014-08-13 10:20:30.1  last snapshot'],
  [4, { last: 200 }, 103, '2014-08-08 10:20:30  last snapshot'],
  [7, { daily: 10 }, 10, '2016-01-01 07:08:03  daily snapshot'],
  [8, { daily: 30 }, 30, '2015-09-22 10:20:30  daily snapshot'],
  [10, { last: 2, daily: 10 }, 10, '2016-01-01 07:08:03  daily snapshot'],
  [12, { weekly: 4 }, 4, '2016-01-03 07:02:03  weekly snapshot'],
  [22, { within: parseDuration('2d') }, 1, '2016-01-18 12:02:03  within 2d'],
  [24, { within: parseDuration('1m') }, 19, '2016-01-01 01:02:03  within 1m'],
  [26, { within: parseDuration('1y1d1m') }, 63, '2015-08-08 10:20:30  within 1y1m1d'],
  [29, { within: parseDuration('1y2m3d3h') }, 68, '2014-11-15 10:20:30  within 1y2m3d3h'],
  [36, { last: UNLIMITED }, 103, '2014-08-08 10:20:30  last snapshot'],
  [37, { last: UNLIMITED, hourly: UNLIMITED }, 103, '2014-08-08 10:20:30  last snapshot, hourly snapshot'],
  [38, { hourly: UNLIMITED }, 90, '2014-08-08 10:20:30  hourly snapshot'],
];

describe('applyPolicy reproduces restic', () => {
  test.each(FULL)('policy_keep_snapshots_%i', (_, policy, expected) => {
    expect(kept(snapshots, policy)).toEqual(expected);
  });

  test.each(SUMMARY)('policy_keep_snapshots_%i: count and oldest kept', (_, policy, count, oldest) => {
    const result = kept(snapshots, policy);
    expect(result).toHaveLength(count);
    expect(result.at(-1)).toBe(oldest);
  });

  test('every snapshot is either kept or removed, newest first, whatever the input order', () => {
    const policy = { daily: 7, weekly: 2, monthly: 3, yearly: 10 };
    const shuffled = [...snapshots].reverse();
    const { keep, remove } = applyPolicy(shuffled, policy, NOW);
    expect(keep.length + remove.length).toBe(snapshots.length);
    const order = [...keep.map((k) => k.id), ...remove.map((r) => r.id)];
    expect(new Set(order).size).toBe(snapshots.length);
    const times = (ids: string[]) => ids.map((id) => snapshots.find((s) => s.id === id)!.time.getTime());
    for (const list of [keep.map((k) => k.id), remove.map((r) => r.id)]) {
      expect(times(list)).toEqual([...times(list)].sort((a, b) => b - a));
    }
    expect(kept(shuffled, policy)).toEqual(kept(snapshots, policy));
  });
});

const at = (text: string, tags: string[] = [], index = 0) =>
  snapshot(`${text} ${tags.join(',')}`.trim(), index);
const series = (...times: string[]) => times.map((time, i) => at(time, [], i));

describe('applyPolicy', () => {
  test('an empty policy keeps everything (restic refuses to run one)', () => {
    for (const policy of [{}, { last: 0 }, { within: parseDuration('0d') }, { tags: [] }]) {
      const { keep, remove } = applyPolicy(snapshots, policy, NOW);
      expect(remove).toEqual([]);
      expect(keep).toHaveLength(snapshots.length);
      expect(keep[0].reasons).toEqual([EMPTY_POLICY_REASON]);
    }
  });

  test('a snapshot counts against every rule that keeps it', () => {
    const list = series('2026-03-02 10:00:00', '2026-03-01 10:00:00', '2026-02-28 10:00:00');
    expect(kept(list, { last: 1, daily: 2 })).toEqual([
      '2026-03-02 10:00:00  last snapshot, daily snapshot',
      '2026-03-01 10:00:00  daily snapshot',
    ]);
  });

  test('a rule with budget left keeps the oldest snapshot, even in a bucket it already kept', () => {
    const list = series(
      '2026-03-02 10:00:00',
      '2026-03-02 09:00:00',
      '2026-03-01 10:00:00',
      '2026-03-01 09:00:00',
    );
    expect(kept(list, { daily: 5 })).toEqual([
      '2026-03-02 10:00:00  daily snapshot',
      '2026-03-01 10:00:00  daily snapshot',
      '2026-03-01 09:00:00  oldest daily snapshot',
    ]);
    // Without budget left, the oldest goes.
    expect(kept(list, { daily: 2 })).toHaveLength(2);
  });

  test('weeks are ISO 8601 weeks in UTC (Monday first; the year of the Thursday)', () => {
    const list = series(
      '2021-01-04 00:00:00', // 2021-W01
      '2021-01-03 23:59:59', // 2020-W53
      '2020-12-28 00:00:00', // 2020-W53
      '2020-12-27 12:00:00', // 2020-W52
      '2019-12-30 00:00:00', // 2020-W01
      '2019-12-29 12:00:00', // 2019-W52
      '2019-12-28 12:00:00', // 2019-W52, oldest
    );
    expect(kept(list, { weekly: UNLIMITED })).toEqual([
      '2021-01-04 00:00:00  weekly snapshot',
      '2021-01-03 23:59:59  weekly snapshot',
      '2020-12-27 12:00:00  weekly snapshot',
      '2019-12-30 00:00:00  weekly snapshot',
      '2019-12-29 12:00:00  weekly snapshot',
      '2019-12-28 12:00:00  oldest weekly snapshot',
    ]);
  });

  test('hourly, monthly and yearly buckets', () => {
    const list = series(
      '2026-01-01 10:59:00',
      '2026-01-01 10:00:00',
      '2025-12-31 23:30:00',
      '2025-12-01 00:00:00',
      '2025-11-30 23:59:59',
    );
    expect(kept(list, { hourly: 2 })).toEqual([
      '2026-01-01 10:59:00  hourly snapshot',
      '2025-12-31 23:30:00  hourly snapshot',
    ]);
    expect(kept(list, { monthly: 2, yearly: 1 })).toEqual([
      '2026-01-01 10:59:00  monthly snapshot, yearly snapshot',
      '2025-12-31 23:30:00  monthly snapshot',
    ]);
  });

  test('keep-within: strictly newer than the newest minus the duration', () => {
    const list = series(
      '2026-03-31 12:00:00',
      '2026-03-03 12:00:01',
      '2026-03-03 12:00:00',
      '2026-03-02 12:00:00',
    );
    // 31 March minus one month is "31 February", which rolls over to 3 March (Go's AddDate).
    expect(kept(list, { within: parseDuration('1m') })).toEqual([
      '2026-03-31 12:00:00  within 1m',
      '2026-03-03 12:00:01  within 1m',
    ]);
    expect(kept(list, { within: parseDuration('4w1d') })).toHaveLength(3);
  });

  test('keep-within measures from the newest snapshot before now: one from the future does not count', () => {
    const list = series(
      '2030-01-01 00:00:00',
      '2026-01-10 00:00:00',
      '2026-01-05 00:00:00',
      '2025-12-01 00:00:00',
    );
    expect(kept(list, { within: parseDuration('7d') }, new Date('2026-02-01T00:00:00Z'))).toEqual([
      '2030-01-01 00:00:00  within 7d',
      '2026-01-10 00:00:00  within 7d',
      '2026-01-05 00:00:00  within 7d',
    ]);
    // Only snapshots from the future: nothing to measure from, all kept.
    expect(kept(list, { within: parseDuration('7d') }, new Date('2000-01-01T00:00:00Z'))).toHaveLength(4);
  });

  test('keep-tag keeps snapshots carrying any of the tags; reasons list every rule that matched', () => {
    const list = [
      at('2026-01-03 00:00:00', ['nightly'], 0),
      at('2026-01-02 00:00:00', ['weekly', 'nightly'], 1),
      at('2026-01-01 00:00:00', ['manual'], 2),
    ];
    expect(kept(list, { tags: ['weekly', 'nightly'], last: 1 })).toEqual([
      '2026-01-03 00:00:00  tag nightly, last snapshot',
      '2026-01-02 00:00:00  tag weekly, tag nightly',
    ]);
    expect(applyPolicy(list, { tags: ['weekly'] }, NOW).remove.map((r) => r.id)).toEqual([
      list[0].id,
      list[2].id,
    ]);
  });

  test('snapshots of the same time are ordered by id', () => {
    const a = { id: '20260101T000000.000Z-00000001', time: new Date('2026-01-01T00:00:00Z'), tags: [] };
    const b = { ...a, id: '20260101T000000.000Z-00000002' };
    expect(applyPolicy([a, b], { last: 1 }, NOW)).toEqual({
      keep: [{ id: b.id, reasons: ['last snapshot'] }],
      remove: [{ id: a.id }],
    });
  });
});

describe('isEmptyPolicy', () => {
  test.each<[RetentionPolicy, boolean]>([
    [{}, true],
    [{ last: 0, daily: 0, tags: [] }, true],
    [{ within: parseDuration('0d') }, true],
    [{ last: UNLIMITED }, false],
    [{ within: parseDuration('1h') }, false],
    [{ tags: ['x'] }, false],
  ])('%j → %s', (policy, empty) => {
    expect(isEmptyPolicy(policy)).toBe(empty);
  });
});

describe('durations', () => {
  // restic's TestParseDuration, minus negative numbers (restic accepts them, we refuse) and weeks
  // (restic refuses them, we accept 1w as 7 days).
  test.each([
    ['9h', '9h'],
    ['3d', '3d'],
    ['4d2h', '4d2h'],
    ['7m5d', '7m5d'],
    ['6m4d8h', '6m4d8h'],
    ['5d7m', '7m5d'],
    ['4h3d9m', '9m3d4h'],
    [' 1y6m ', '1y6m'],
    ['2w', '2w'],
    ['1y4m3w1d', '1y4m3w1d'],
    ['0d', ''],
  ])('%j parses as %j', (text, canonical) => {
    expect(formatDuration(parseDuration(text))).toBe(canonical);
  });

  test.each([
    ['', /"" is not a duration/],
    ['s', /expected a number at "s"/],
    ['5', /5 has no unit/],
    ['30s', /unknown unit "s"/],
    ['1M', /unknown unit "M"/],
    ['1d2d', /"d" is given twice/],
    ['-7m5d', /expected a number at "-7m5d"/],
    ['1y 6m', /expected a number at " 6m"/],
    ['\u07c0d', /expected a number/], // NKO DIGIT ZERO: ASCII digits only, as restic
    ['99999999999999999999d', /too large/],
  ])('%j is refused', (text, message) => {
    expect(() => parseDuration(text)).toThrow(message);
  });

  test.each([
    ['2016-03-31T12:00:00Z', '1m', '2016-03-02T12:00:00.000Z'], // leap year: "31 February" is 2 March
    ['2015-03-31T12:00:00Z', '1m', '2015-03-03T12:00:00.000Z'],
    ['2016-02-29T00:00:00Z', '1y', '2015-03-01T00:00:00.000Z'],
    ['2026-01-10T05:00:00Z', '1w2d6h', '2025-12-31T23:00:00.000Z'],
    ['2026-01-01T00:00:00Z', '1y6m', '2024-07-01T00:00:00.000Z'],
  ])('%s minus %s is %s (Go AddDate, then hours)', (from, duration, expected) => {
    expect(new Date(subtractDuration(Date.parse(from), parseDuration(duration))).toISOString()).toBe(
      expected,
    );
  });

  test('a duration beyond the calendar reaches back to the beginning of time', () => {
    expect(subtractDuration(Date.now(), parseDuration('999999999y'))).toBe(-Infinity);
  });
});

describe('readPolicy', () => {
  test('reads every rule', () => {
    const policy = readPolicy(
      reader({
        'keep-last': '3',
        'keep-hourly': '24',
        'keep-daily': ' 7 ',
        'keep-weekly': '4',
        'keep-monthly': 'unlimited',
        'keep-yearly': 'Unlimited',
        'keep-within': '1y6m',
        'keep-tag': 'release, nightly\n# comment\nmanual',
      }),
    );
    expect(policy).toEqual({
      last: 3,
      hourly: 24,
      daily: 7,
      weekly: 4,
      monthly: UNLIMITED,
      yearly: UNLIMITED,
      within: { years: 1, months: 6, weeks: 0, days: 0, hours: 0 },
      tags: ['release', 'nightly', 'manual'],
    });
  });

  test('no inputs: an empty policy', () => {
    const policy = readPolicy(reader({}));
    expect(policy).toEqual({});
    expect(isEmptyPolicy(policy)).toBe(true);
  });

  test.each([
    [
      'keep-daily',
      'x',
      'Input "keep-daily": "x" is not a whole number. Give a count such as 7, or unlimited to keep all.',
    ],
    [
      'keep-last',
      '1.5',
      'Input "keep-last": "1.5" is not a whole number. Give a count such as 7, or unlimited to keep all.',
    ],
    [
      'keep-weekly',
      '-1',
      'Input "keep-weekly": "-1" is negative. Give a count such as 7, or unlimited to keep all.',
    ],
    [
      'keep-within',
      '30',
      'Input "keep-within": "30" is not a duration: 30 has no unit. Use numbers with units y, m (months), w, d or h, e.g. 30d, 2w, 6m, 1y6m, 12h.',
    ],
    [
      'keep-tag',
      'two words',
      'Input "keep-tag": "two words" is not a valid tag: use up to 64 letters, digits, ".", "_", ":" or "-".',
    ],
  ])('%s: %j is refused', (input, value, message) => {
    const error = inputErrorOf(() => readPolicy(reader({ [input]: value })));
    expect(error.input).toBe(input);
    expect(error.message).toBe(message);
  });
});
