import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { backupAll, type BackupOptions } from '../../src/git/backup.js';
import { type FilesSnapshotSettings, snapshotFiles } from '../../src/files/backup.js';
import { resolveSource } from '../../src/git/source.js';
import { runReport } from '../../src/commands/report.js';
import { buildReport, writeReportJson } from '../../src/report/collect.js';
import type { Report, ReportUnit } from '../../src/report/report.js';
import { reportSummary, SUMMARY_LIMIT } from '../../src/report/markdown.js';
import { reportTable } from '../../src/report/table.js';
import { failureText } from '../../src/report/text.js';
import { readReportQuery, readReportSettings, type ReportQuery } from '../../src/settings/report.js';
import { listSnapshots } from '../../src/snapshot/catalog.js';
import {
  BUNDLE_FORMAT_VERSION,
  type GitManifest,
  MANIFEST_NAME,
  snapshotPrefix,
} from '../../src/snapshot/manifest.js';
import { LocalStore } from '../../src/store/local-store.js';
import { S3Store } from '../../src/store/s3-store.js';
import type { Store } from '../../src/store/store.js';
import { TOOL } from '../../src/util/version.js';
import { commitFile, git, tempDir } from '../support/fixtures.js';
import { inputErrorOf, reader } from '../support/helpers.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';

// The report engine against real snapshots (backupAll, snapshotFiles) in both stores: the local
// folder and S3 (a real S3-protocol server). The action and CLI wiring are tested elsewhere.
let s3: S3Server;
let work: string;
let opened = 0;

beforeAll(async () => {
  s3 = await startS3Server({ buckets: ['reports'] });
  work = tempDir();
});

afterAll(async () => {
  await s3?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

const HOUR = 3_600_000;
const settings = (inputs: Record<string, string> = {}): ReportQuery =>
  readReportQuery(reader(inputs), { RUNNER_TEMP: work });

/** A fresh store and the inputs that name it (for runReport, which opens stores as the action does). */
const stores: Array<[string, () => { store: Store; inputs: Record<string, string> }]> = [
  [
    'local folder',
    () => {
      // An existing, empty folder: what an empty bucket is for S3.
      const folder = path.join(work, `store-${++opened}`);
      fs.mkdirSync(folder);
      return { store: new LocalStore(folder), inputs: { destination: folder } };
    },
  ],
  [
    'S3',
    () => {
      const prefix = `root-${++opened}`;
      const store = new S3Store({
        bucket: 'reports',
        prefix,
        location: `s3://reports/${prefix}`,
        region: s3.region,
        endpoint: s3.endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
        endpointInput: 'endpoint',
      });
      const inputs = {
        destination: `s3://reports/${prefix}`,
        endpoint: s3.endpoint,
        'access-key-id': s3.accessKeyId,
        'secret-access-key': s3.secretAccessKey,
      };
      return { store, inputs };
    },
  ],
];

/** A small repository on branch main (a rich one would only slow the bundles down). */
function createRepository(name: string): string {
  const dir = path.join(work, `${name}-${++opened}`, name);
  fs.mkdirSync(dir, { recursive: true });
  git(dir, 'init', '--quiet', '--initial-branch=main');
  commitFile(dir, 'README.md', '# app\n');
  return dir;
}

function backupOptions(): BackupOptions {
  return {
    auth: { serverUrl: 'https://github.com' },
    force: false,
    tags: [],
    concurrency: 2,
    mirrorRoot: fs.mkdtempSync(path.join(work, 'mirrors-')),
    cacheMirrors: false,
  };
}

async function backup(store: Store, repository: string, options: BackupOptions) {
  const [result] = await backupAll(
    [{ source: resolveSource(repository, 'https://github.com'), store }],
    options,
  );
  expect(result.status).toBe('created');
  return result;
}

function filesSettings(baseDir: string): FilesSnapshotSettings {
  return { name: 'site/assets', patterns: '*.txt', baseDir, compression: 'gzip', tags: ['nightly'] };
}

const unitOf = (report: Report, source: string, kind: ReportUnit['kind'] = 'git') =>
  report.units.find((unit) => unit.source === source && unit.kind === kind)!;

describe.each(stores)('%s store', (_, open) => {
  test('fresh and stale by the injected now; change since the previous snapshot', async () => {
    const { store } = open();
    const repository = createRepository('app');
    const name = `local/${path.basename(repository)}`;
    const options = backupOptions();
    await backup(store, repository, options);
    commitFile(repository, 'more.txt', 'more content\n'.repeat(100));
    git(repository, 'tag', 'v2');
    const second = await backup(store, repository, options);

    const assets = path.join(work, `assets-${++opened}`);
    fs.mkdirSync(assets);
    fs.writeFileSync(path.join(assets, 'a.txt'), 'a\n');
    await snapshotFiles(store, filesSettings(assets));
    fs.writeFileSync(path.join(assets, 'b.txt'), 'b\n'.repeat(1000));
    const files = await snapshotFiles(store, filesSettings(assets));

    const now = new Date();
    const report = await buildReport([{ store }], settings(), now);
    expect(report).toMatchObject({
      format: 'backup-action-report',
      ok: true,
      maxAge: '26h',
      counts: { units: 2, fresh: 2, stale: 0, never: 0, unreadable: 0 },
      problems: [],
    });
    const repo = unitOf(report, name);
    const [newest, previous] = await listSnapshots(store, 'git', name);
    expect(repo).toMatchObject({
      verdict: 'fresh',
      snapshots: 2,
      location: store.location,
      latest: { id: second.snapshotId, refs: 2, empty: false },
      change: {
        previousId: previous.id,
        refs: { added: ['refs/tags/v2'], removed: [], moved: ['refs/heads/main'] },
      },
    });
    expect(repo.latest!.id).toBe(newest.id);
    expect(repo.latest!.ageMs).toBeGreaterThanOrEqual(0);
    expect(repo.latest!.ageMs).toBeLessThan(5 * 60_000);
    expect(repo.change!.sizeDelta).toBeGreaterThan(0);
    // The chart's history comes from the listing and agrees with the manifests.
    expect(repo.history.map((h) => h.id)).toEqual([newest.id, previous.id]);
    expect(repo.history[0].size).toBe(repo.latest!.size);
    expect(repo.history[0].size - repo.history[1].size).toBe(repo.change!.sizeDelta);
    expect(repo).not.toHaveProperty('lastVerify');

    expect(unitOf(report, 'site/assets', 'files')).toMatchObject({
      verdict: 'fresh',
      latest: { id: files.snapshotId, files: 2, fileBytes: 2 + 2000, tags: ['nightly'] },
      change: { filesDelta: 1 },
    });

    const summary = reportSummary(report);
    expect(summary).toContain('## ✅ all 2 fresh (max age 26h)');
    expect(summary).toContain(`| ✅ fresh | ${name} | \`${second.snapshotId}\` |`);
    expect(summary).toContain('refs: 1 added, 1 moved');
    expect(summary).toContain('| site/assets (files) |');
    expect(summary).toMatch(/\| 2 files \| [+−±]\d+ B, \+1 file \|/);
    expect(summary).toMatch(
      /```mermaid\nxychart-beta\n {2}title "local\/app"\n {2}x-axis \["[^"]+", "[^"]+"\]\n/,
    );

    // Two days later nothing new was backed up: both are stale, and named.
    const later = await buildReport([{ store }], settings(), new Date(now.getTime() + 48 * HOUR));
    expect(later.ok).toBe(false);
    expect(later.counts).toMatchObject({ units: 2, fresh: 0, stale: 2 });
    expect(unitOf(later, name).verdict).toBe('stale');
    expect(failureText(unitOf(later, name), later)).toMatch(
      new RegExp(`^${name}: stale: newest snapshot ${second.snapshotId} is 2d 0h old \\(max age 26h\\)$`),
    );
    expect(reportSummary(later)).toContain('## ❌ 2 of 2 stale (max age 26h)');
    expect(reportSummary(later)).toMatch(/Not fresh: `local\/app` \(2d 0h old\), `site\/assets \(files\)`/);
    // ... unless the allowed age is longer.
    const lenient = await buildReport(
      [{ store }],
      settings({ 'max-age': '3d' }),
      new Date(now.getTime() + 48 * HOUR),
    );
    expect(lenient.ok).toBe(true);
  });

  test('an expected repository never backed up is stale, named, through the selection of the action', async () => {
    const { store, inputs } = open();
    const repository = createRepository('present');
    await backup(store, repository, backupOptions());

    // As given to backup: a path (stored as local/present) and an owner/name (github.com/acme/missing).
    const parsed = readReportSettings(
      reader({ ...inputs, repositories: `${repository}\nacme/missing`, 'max-age': '2d' }),
      { RUNNER_TEMP: work },
    );
    const report = await runReport(parsed);
    expect(parsed.repositories).toEqual([repository, 'acme/missing']);
    expect(report.counts).toEqual({ units: 2, fresh: 1, stale: 0, never: 1, unreadable: 0 });
    expect(report.ok).toBe(false);
    expect(unitOf(report, 'github.com/acme/missing', null)).toMatchObject({
      verdict: 'never',
      snapshots: 0,
      history: [],
    });
    expect(unitOf(report, 'github.com/acme/missing', null).latest).toBeUndefined();
    expect(unitOf(report, 'local/present').verdict).toBe('fresh');
    const summary = reportSummary(report);
    expect(summary).toContain('## ❌ 1 of 2 stale (max age 2d): 1 never backed up');
    // Failing units come first in the table.
    const rows = summary.split('\n').filter((line) => line.startsWith('| ❌') || line.startsWith('| ✅'));
    expect(rows[0]).toMatch(/^\| ❌ never backed up \| github.com\/acme\/missing \| — \|/);
    expect(rows[1]).toMatch(/^\| ✅ fresh \| local\/present \|/);
    expect(reportTable(report)).toContain('never backed up  github.com/acme/missing');

    // Without repositories the whole store is reported; an empty store is a failure, not "all 0 fresh".
    const empty = open();
    const none = { report: await runReport(readReportSettings(reader(empty.inputs), { RUNNER_TEMP: work })) };
    expect(none.report.ok).toBe(false);
    expect(none.report.problems).toEqual([`no snapshots in ${empty.store.location}`]);
    expect(reportSummary(none.report)).toContain('## ❌ no snapshots found (max age 26h)');
  });

  test('an unreadable manifest makes its unit unreadable, not the report fail', async () => {
    const { store } = open();
    const broken = createRepository('broken');
    const healthy = createRepository('healthy');
    const options = backupOptions();
    await backup(store, broken, options);
    commitFile(broken, 'next.txt', 'next\n');
    await backup(store, broken, options);
    await backup(store, healthy, options);
    const [newest, previous] = await listSnapshots(store, 'git', 'local/broken');
    const garbage = () => Readable.from([Buffer.from('{ not json')]);

    // Only the previous manifest broken: still fresh, without a change, and why.
    await store.upload(previous.manifestKey, garbage());
    let report = await buildReport([{ store }], settings(), new Date());
    expect(unitOf(report, 'local/broken')).toMatchObject({ verdict: 'fresh', latest: { id: newest.id } });
    expect(unitOf(report, 'local/broken').change).toBeUndefined();
    expect(unitOf(report, 'local/broken').previousError).toContain('is not valid JSON');

    // The newest broken: unreadable, its age still known from the id; the other unit unaffected.
    await store.upload(newest.manifestKey, garbage());
    report = await buildReport([{ store }], settings(), new Date());
    const unit = unitOf(report, 'local/broken');
    expect(unit).toMatchObject({ verdict: 'unreadable', latest: { id: newest.id } });
    expect(unit.latest!.size).toBeUndefined();
    expect(unit.error).toBe(`manifest of local/broken ${newest.id} is not valid JSON`);
    expect(unitOf(report, 'local/healthy').verdict).toBe('fresh');
    expect(report.counts).toMatchObject({ units: 2, fresh: 1, unreadable: 1 });
    expect(reportSummary(report)).toContain('## ❌ 1 of 2 stale (max age 26h): 1 unreadable');
    expect(reportSummary(report)).toContain(`| ❌ unreadable | local/broken | \`${newest.id}\` |`);
  });
});

describe('settings', () => {
  test('defaults: 26h, every repository in the store, the JSON in RUNNER_TEMP (or a temp file)', () => {
    expect(readReportQuery(reader({}), { RUNNER_TEMP: '/runner/temp' })).toEqual({
      maxAge: '26h',
      maxAgeDuration: { years: 0, months: 0, weeks: 0, days: 0, hours: 26 },
      repositories: [],
      jsonPath: '/runner/temp/backup-report.json',
    });
    const outside = readReportQuery(reader({ repositories: 'a/b, c/d # two' }), {});
    expect(path.dirname(outside.jsonPath)).toBe(os.tmpdir());
    expect(path.basename(outside.jsonPath)).toMatch(/^backup-report-[0-9a-f]{12}\.json$/);
    expect(outside.repositories).toEqual(['a/b', 'c/d']);
    expect(readReportQuery(reader({ 'max-age': '1d12h', 'json-path': 'out/r.json' }), {})).toMatchObject({
      maxAge: '1d12h',
      jsonPath: path.resolve('out/r.json'),
    });
  });

  test.each(['soon', '26', '0h', '2x', '-1d'])('max-age "%s" is an InputError naming it', (value) => {
    const error = inputErrorOf(() => readReportQuery(reader({ 'max-age': value }), {}));
    expect(error.input).toBe('max-age');
    expect(error.message).toMatch(/^Input "max-age": /);
  });
});

describe('rendering and size', () => {
  /** 1,000 units, two snapshots each, as minimal manifests written straight into a local folder. */
  test('1,000 repositories in a store: the summary stays far under 1 MiB; JSON and table hold all', async () => {
    const root = path.join(work, 'thousand');
    const now = Date.UTC(2026, 10, 22, 12);
    const write = (index: number, age: number, sha: string, size: number) => {
      const id = `${new Date(now - age).toISOString().replace(/[-:]/g, '')}-${index.toString(16).padStart(8, '0')}`;
      const source = `github.com/org-${index % 7}/repository-${String(index).padStart(4, '0')}`;
      const manifest: GitManifest = {
        format: 'backup-action-snapshot',
        formatVersion: BUNDLE_FORMAT_VERSION,
        id,
        kind: 'git',
        source,
        createdAt: new Date(now - age).toISOString(),
        tool: TOOL,
        tags: [],
        url: `https://${source}.git`,
        git: {
          empty: false,
          objectFormat: 'sha1',
          head: 'refs/heads/main',
          refs: { 'refs/heads/main': sha },
        },
        parts: [{ name: 'repo.bundle', type: 'git-bundle', size, sha256: 'a'.repeat(64) }],
        size,
      };
      const folder = path.join(root, ...snapshotPrefix('git', source, id).split('/'));
      fs.mkdirSync(folder, { recursive: true });
      fs.writeFileSync(path.join(folder, MANIFEST_NAME), JSON.stringify(manifest));
      fs.writeFileSync(path.join(folder, 'repo.bundle'), Buffer.alloc(size));
    };
    const started = Date.now();
    for (let i = 0; i < 1000; i++) {
      // Every 10th is stale (3 days old); the rest were backed up an hour ago.
      const age = i % 10 === 0 ? 72 * HOUR : HOUR;
      write(i, age + 24 * HOUR, '1'.repeat(40), 100 + i);
      write(i, age, '2'.repeat(40), 200 + i);
    }
    const written = Date.now();
    const report = await buildReport([{ store: new LocalStore(root) }], settings(), new Date(now));
    const built = Date.now();
    expect(report.counts).toEqual({ units: 1000, fresh: 900, stale: 100, never: 0, unreadable: 0 });
    expect(report.units[0].change).toMatchObject({ sizeDelta: 100, refs: { moved: ['refs/heads/main'] } });

    const jsonPath = path.join(work, 'json', 'report.json');
    const summary = reportSummary(report, { jsonPath });
    const bytes = Buffer.byteLength(summary);
    console.log(
      `1,000 units: summary ${bytes} bytes; wrote 2,000 snapshots in ${written - started} ms, built the report in ${built - written} ms`,
    );
    expect(bytes).toBeLessThan(SUMMARY_LIMIT);
    expect(bytes).toBeLessThan(64 * 1024);
    expect(summary.startsWith('## ❌ 100 of 1000 stale (max age 26h)\n')).toBe(true);
    expect(summary).toContain(', and 80 more.');
    expect(summary).toContain(
      `_900 more of 1000 not shown (failing ones first); every one is in the JSON report (\`${jsonPath}\``,
    );
    // The 100 rows shown are exactly the stale ones.
    expect(summary.match(/^\| ❌ stale \|/gm)).toHaveLength(100);
    expect(summary.match(/^\| ✅ fresh \|/gm)).toBeNull();
    expect(summary.match(/^```mermaid\nxychart-beta$/gm)).toHaveLength(10);
    // The largest repository's chart comes first.
    expect(summary).toContain('### Stored size, last 10 snapshots of the 10 largest');
    expect(summary).toMatch(
      /title "github.com\/org-5\/repository-0999"\n.*\n {2}y-axis "KiB" 0 --> 2\n {2}line \[1.07, 1.17\]/,
    );

    await writeReportJson(report, jsonPath);
    const json = JSON.parse(fs.readFileSync(jsonPath, 'utf8')) as Report;
    expect(json.units).toHaveLength(1000);
    expect(json).toEqual(JSON.parse(JSON.stringify(report)));

    const table = reportTable(report).split('\n');
    expect(table[0]).toBe('100 of 1000 stale (max age 26h)');
    expect(table.filter((line) => /^(fresh|stale) /.test(line))).toHaveLength(1000);
  });

  test('worst case: 1,000 stale units with long names and long errors still fit', () => {
    const long = (i: number) => `github.com/${'o'.repeat(100)}/${'r'.repeat(90)}-${i}|x`;
    const units: ReportUnit[] = Array.from({ length: 1000 }, (_, i) => ({
      kind: 'git',
      source: long(i),
      location: 's3://bucket/prefix',
      verdict: 'unreadable',
      snapshots: 10,
      latest: { id: '20261122T141500.123Z-1a2b3c4d', createdAt: '2026-11-22T14:15:00.123Z', ageMs: 5 * HOUR },
      error: `manifest of ${long(i)} cannot be read: ${'a very long reason\n'.repeat(200)}`,
      history: Array.from({ length: 10 }, (_, j) => ({
        id: `202611${String(10 + j)}T141500.123Z-1a2b3c4d`,
        size: 1024 ** 3 * (j + 1) + i,
      })),
    }));
    const report: Report = {
      format: 'backup-action-report',
      formatVersion: 1,
      generatedAt: '2026-11-22T19:00:00.000Z',
      maxAge: '26h',
      staleBefore: '2026-11-21T17:00:00.000Z',
      ok: false,
      counts: { units: 1000, fresh: 0, stale: 0, never: 0, unreadable: 1000 },
      units,
      problems: [],
    };
    const summary = reportSummary(report);
    const bytes = Buffer.byteLength(summary);
    expect(bytes).toBeLessThan(SUMMARY_LIMIT);
    expect(summary).toContain('## ❌ 1000 of 1000 stale (max age 26h): 1000 unreadable');
    expect(summary).toContain('```mermaid');
    // User text cannot break the table: every row has its 7 cells.
    const rows = summary.split('\n').filter((line) => line.startsWith('| ❌'));
    expect(rows).toHaveLength(100);
    for (const row of rows) expect(row.split(/(?<!\\)\|/).length).toBe(9);
    // Even with every row allowed, rows are halved until the summary fits.
    const all = reportSummary(report, { maxRows: 1000 });
    console.log(
      `worst case, 1,000 units: summary ${bytes} bytes (100 rows), ${Buffer.byteLength(all)} bytes (every row allowed)`,
    );
    expect(Buffer.byteLength(all)).toBeLessThan(SUMMARY_LIMIT);
  });

  test('the terminal table aligns its columns', () => {
    const unit = (source: string, verdict: ReportUnit['verdict'], ageMs: number): ReportUnit => ({
      kind: 'git',
      source,
      location: '/srv/backups',
      verdict,
      snapshots: 1,
      latest: {
        id: '20261122T141500.123Z-1a2b3c4d',
        createdAt: '2026-11-22T14:15:00.123Z',
        ageMs,
        size: 5000,
        refs: 3,
      },
      history: [{ id: '20261122T141500.123Z-1a2b3c4d', size: 5000 }],
    });
    const report: Report = {
      format: 'backup-action-report',
      formatVersion: 1,
      generatedAt: '2026-11-22T19:00:00.000Z',
      maxAge: '26h',
      staleBefore: '2026-11-21T17:00:00.000Z',
      ok: false,
      counts: { units: 2, fresh: 1, stale: 1, never: 0, unreadable: 0 },
      units: [
        unit('github.com/a/b', 'fresh', 90 * 60_000),
        unit('local/a-much-longer-name', 'stale', 50 * HOUR),
      ],
      problems: [],
    };
    expect(reportTable(report)).toBe(
      [
        '1 of 2 stale (max age 26h)',
        '',
        'VERDICT  REPOSITORY                NEWEST SNAPSHOT                AGE        SIZE  CONTENTS  CHANGE SINCE PREVIOUS',
        'stale    local/a-much-longer-name  20261122T141500.123Z-1a2b3c4d  2d 2h   4.9 KiB  3 refs    first snapshot',
        'fresh    github.com/a/b            20261122T141500.123Z-1a2b3c4d  1h 30m  4.9 KiB  3 refs    first snapshot',
        '',
      ].join('\n'),
    );
  });
});
