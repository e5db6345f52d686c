// Scenario 3: BENCH_DAYS (30) next days with one new commit each (a new 100 KiB incompressible file), on
// the largest size, after `git repack -a -d -f` of the source. Per day: the bytes each contender wrote
// against the commit's own pack (`git pack-objects --revs --stdout` of main ^main~1), and its time
// against restic's; after the last day: the size of each store against restic's repository.
import { mkdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import type { Config, Context, Section } from '../context.js';
import { addCommit, commitPackBytes } from '../data.js';
import { bytes, type Cell, max, median, mib, mibOrDash, s, table } from '../lib/format.js';
import { measureOk } from '../lib/measure.js';
import { progress } from '../lib/process.js';
import type { Contender, Run } from '../tools/common.js';
import { backupContenders, backupOnce, missingPeers, push, rotate, sourceFor } from './common.js';
import { ratio } from './tables.js';

export const title = 'Next days, one new commit each (100 KiB incompressible file)';

/** Issue targets: written ≤ 1.2× the commit's own pack, time ≤ 2× restic's, store ≤ 1.1× restic's. */
const TARGET_WRITTEN = 1.2;
const TARGET_TIME = 2;
const TARGET_STORE = 1.1;

interface Day {
  day: number;
  run: Run;
  /** Bytes written ÷ that day's commit's own pack. */
  writtenRatio: number;
}

export async function scenarioOneCommit(ctx: Context, config: Config): Promise<Section> {
  const size = config.bigSize;
  const days = config.days;
  // The hand pipelines copy a whole bundle every day: measured on the first BENCH_REPS days only.
  const handDays = Math.min(config.reps, days);
  const { dir: original } = await sourceFor(ctx, size);
  // A copy of the cached source (hard-linked objects), so that the cache is never changed; repacked
  // (new files: the cache's stay as they are).
  const source = path.join(ctx.tmp, 'scenario', `change-${size}mib.git`);
  rmSync(source, { recursive: true, force: true });
  mkdirSync(path.dirname(source), { recursive: true });
  await measureOk('s3-copy', 'git', ['clone', '--mirror', '--quiet', original, source], { env: ctx.env });
  progress(`  git repack -a -d -f of the ${size} MiB source`);
  const repack = await measureOk('s3-repack', 'git', ['repack', '-a', '-d', '-f', '--quiet'], {
    env: ctx.env,
    cwd: source,
  });

  const contenders = backupContenders(ctx);
  const everyDay = (c: Contender) => c.kind === 'ours' || c.store === 'restic';
  const perDay = new Map<Contender, Day[]>(contenders.map((c) => [c, []]));
  const firstDay = new Map<Contender, Run>();
  const stored = new Map<Contender, { day1: number; last: number }>();
  const commitPacks: number[] = [];
  const tag = `s3-${size}mib`;
  try {
    for (const contender of contenders) {
      await contender.reset();
      firstDay.set(contender, await backupOnce(contender, source, `${tag}-day1`, 'created'));
      if (everyDay(contender)) {
        const day1 = await contender.storedBytes();
        stored.set(contender, { day1, last: day1 });
      } else {
        await contender.dropOld();
      }
    }
    for (let d = 0; d < days; d++) {
      await addCommit(source, d + 1);
      const commitPack = commitPackBytes(source);
      commitPacks.push(commitPack);
      const today = contenders.filter((c) => everyDay(c) || d < handDays);
      for (const contender of rotate(today, d)) {
        const run = await backupOnce(contender, source, `${tag}-day${d + 2}`, 'created');
        push(perDay, contender, { day: d + 2, run, writtenRatio: (run.uploadedBytes ?? NaN) / commitPack });
        // backup-action and restic keep every day (the store is the history); the pipelines need no old day.
        if (!everyDay(contender)) await contender.dropOld();
      }
      if (d + 1 === handDays) for (const c of contenders) if (!everyDay(c)) await c.dispose();
    }
    for (const [contender, sizes] of stored) sizes.last = await contender.storedBytes();
  } finally {
    for (const contender of contenders) await contender.dispose();
    rmSync(path.join(ctx.tmp, 'scenario'), { recursive: true, force: true });
  }

  const restic = contenders.find((c) => c.store === 'restic');
  const medianSeconds = (c: Contender) => median((perDay.get(c) ?? []).map((x) => x.run.seconds));
  const resticSeconds = restic ? medianSeconds(restic) : undefined;
  const groupOrder = (c: Contender) => (c.group === 's3' ? 0 : 1) * 2 + (c.kind === 'ours' ? 0 : 1);
  const ordered = [...contenders].sort((a, b) => groupOrder(a) - groupOrder(b));

  const dayRows: Cell[][] = ordered.map((c) => {
    const list = perDay.get(c) ?? [];
    const runs = list.map((x) => x.run);
    const seconds = runs.map((r) => r.seconds);
    const stepNames = [...new Set(runs.flatMap((r) => Object.keys(r.steps)))];
    const steps =
      stepNames.length > 1
        ? stepNames.map((name) => `${name} ${s(median(runs.map((r) => r.steps[name])))}`).join(' + ')
        : '';
    const written = runs.map((r) => r.uploadedBytes);
    const added =
      runs[0]?.dataAdded !== undefined ? ` (data_added ${bytes(median(runs.map((r) => r.dataAdded)))})` : '';
    const ratios = list.map((x) => x.writtenRatio);
    return [
      c.name,
      c.storeLabel,
      runs.length,
      s(median(seconds)),
      `${s(Math.min(...seconds))}–${s(max(seconds))}`,
      steps,
      mib(max(runs.map((r) => r.toolPeakMiB))),
      mibOrDash(max(runs.map((r) => r.gitPeakMiB))),
      `${bytes(median(written))} (${bytes(written[0])} – ${bytes(written[written.length - 1])})${added}`,
      `${median(ratios).toFixed(2)}× (max ${max(ratios).toFixed(2)}×)`,
      ratio(median(seconds), resticSeconds),
    ];
  });

  const commitPackSum = commitPacks.reduce((sum, n) => sum + n, 0);
  const resticStore = restic ? stored.get(restic) : undefined;
  const storeRows: Cell[][] = ordered
    .filter((c) => stored.has(c))
    .map((c) => {
      const { day1, last } = stored.get(c) ?? { day1: NaN, last: NaN };
      return [
        c.name,
        c.storeLabel,
        bytes(day1),
        bytes(last),
        bytes(last - day1),
        ratio(last - day1, commitPackSum),
        ratio(last, resticStore?.last),
        ratio(last - day1, resticStore ? resticStore.last - resticStore.day1 : undefined),
      ];
    });

  const targets: string[] = [];
  const verdict = (value: number, target: number) =>
    `${value.toFixed(2)}× (target ≤ ${target}×: ${value <= target ? 'met' : '**missed**'})`;
  for (const c of ordered.filter((x) => x.kind === 'ours')) {
    const list = perDay.get(c) ?? [];
    const where = `backup-action → ${c.storeLabel}`;
    targets.push(
      `- ${where}: written ÷ commit's own pack, median ${verdict(median(list.map((x) => x.writtenRatio)), TARGET_WRITTEN)}; ` +
        `worst day ${max(list.map((x) => x.writtenRatio)).toFixed(2)}×`,
    );
    if (resticSeconds !== undefined) {
      targets.push(
        `- ${where}: time ÷ restic's, medians ${verdict(medianSeconds(c) / resticSeconds, TARGET_TIME)}`,
      );
    }
    const mine = stored.get(c);
    if (mine && resticStore) {
      targets.push(
        `- ${where}: store after ${days + 1} snapshots ÷ restic's repository ${verdict(mine.last / resticStore.last, TARGET_STORE)}; ` +
          `what the ${days} days added: ${ratio(mine.last - mine.day1, resticStore.last - resticStore.day1)} restic's`,
      );
    }
  }

  const markdown = [
    `${size} MiB repository. Its copy is first repacked (\`git repack -a -d -f\`, ${s(repack.seconds)} s, not ` +
      'timed); every contender makes its day-1 backup (not timed); then each of ' +
      `${days} days adds one commit on main with one new 100 KiB incompressible file and runs backup-action ` +
      `and restic once each (the hand pipelines on the first ${handDays === 1 ? 'day' : `${handDays} days`} ` +
      'only: they copy a whole bundle ' +
      "every day), in a rotating order. backup-action keeps every snapshot (each day's new pack of what the " +
      "previous snapshot's refs do not reach, its index and its manifest), restic every snapshot of the " +
      "mirror folder. The commit's own pack is `git pack-objects --revs --stdout` of `main ^main~1` in the " +
      `source: median ${bytes(median(commitPacks))}, ${bytes(commitPackSum)} over the ${days} days.\n`,
    table(
      [
        'Contender',
        'Store',
        'Days',
        'Median (s)',
        'Min–max (s)',
        'Steps, medians (s)',
        'Peak RSS (MiB)',
        'git RSS (MiB)',
        'Written, median (first – last day)',
        "Written ÷ commit's pack",
        "Time ÷ restic's",
      ],
      ['l', 'l', 'r', 'r', 'l', 'l', 'r', 'r', 'r', 'r', 'r'],
      dayRows,
    ),
    '',
    `After ${days + 1} snapshots (day 1 and ${days} days of one commit):\n`,
    table(
      [
        'Contender',
        'Store',
        'After day 1',
        `After day ${days + 1}`,
        `Added by the ${days} days`,
        "Added ÷ the commits' packs",
        "Total ÷ restic's",
        "Added ÷ restic's",
      ],
      ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r'],
      storeRows,
    ),
    '',
    ...targets,
    ...missingPeers(ctx).map((note) => `- ${note}`),
    '',
  ].join('\n');
  const data = {
    repackSeconds: repack.seconds,
    commitPacks,
    firstDay: [...firstDay].map(([c, run]) => ({ contender: c.name, store: c.store, run })),
    days: [...perDay].map(([c, list]) => ({ contender: c.name, store: c.store, days: list })),
    stored: [...stored].map(([c, sizes]) => ({ contender: c.name, store: c.store, ...sizes })),
  };
  return { markdown, data };
}
