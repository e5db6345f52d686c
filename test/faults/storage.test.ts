import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pruneStore } from '../../src/retention/prune.js';
import { openStore, parseDestination } from '../../src/store/destination.js';
import {
  commitFile,
  createRichRepository,
  deterministicBytes,
  git,
  refsOf,
  tempDir,
} from '../support/fixtures.js';
import { s3Client } from '../support/helpers.js';
import { runCli } from '../support/run-action.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';

// Fault injection: the bundled CLI talks to the real S3-protocol server through a proxy that fails
// requests the ways real object stores do (503 SlowDown, 500, a connection reset while the request is
// sent, a response cut off halfway), adds latency, or holds chosen requests. What must hold: transient
// faults are absorbed and the data still proves; persistent ones fail the step clearly, in bounded
// time, without a manifest for incomplete parts; a killed or concurrent run never leaves a snapshot that
// lists as complete but is not; a full disk fails cleanly and keeps the earlier snapshots.
let s3: S3Server;
let proxy: FaultProxy;
let work: string;
let small: string;
let large: string;

/** Every injected fault and CLI run of this file, for the summary printed at the end. */
const tally = { runs: 0, faults: 0 };

beforeAll(async () => {
  work = tempDir();
  s3 = await startS3Server({ buckets: ['backups'] });
  proxy = await startFaultProxy({ target: s3.endpoint });
  small = createRichRepository(path.join(work, 'small'));
  // Two multipart parts (16 MiB each at most) and an incompressible pack.
  large = path.join(work, 'large');
  git(work, 'init', '-q', '-b', 'main', large);
  fs.writeFileSync(path.join(large, 'blob.bin'), deterministicBytes(20 * 1024 * 1024, 'large'));
  git(large, 'add', '.');
  git(large, 'commit', '-q', '-m', 'large');
});

afterAll(async () => {
  tally.faults += proxy?.injectedTotal() ?? 0;
  console.log(
    `fault injection: ${tally.faults} faults injected over ${tally.runs} CLI runs and ${proxy?.stats.requests} requests (${JSON.stringify(proxy?.stats.injected)})`,
  );
  await proxy?.stop();
  await s3?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

const env = () => ({ AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey });

/** The CLI through the proxy. */
function cli(args: string[], prefix: string) {
  tally.runs += 1;
  return runCli([...args, '--to', `s3://backups/${prefix}`, '--endpoint', proxy.endpoint], env());
}

/** Object keys under a prefix, read straight from the server (not through the proxy). */
async function keysUnder(prefix: string): Promise<string[]> {
  const listing = await s3Client(s3).send(
    new ListObjectsV2Command({ Bucket: 'backups', Prefix: `${prefix}/` }),
  );
  return (listing.Contents ?? []).map((object) => object.Key!).sort();
}

const listed = async (prefix: string) => {
  proxy.configure({ rate: 0 });
  const run = await cli(['list', '--json'], prefix);
  expect(run.exitCode).toBe(0);
  return JSON.parse(run.stdout) as Array<{ id: string; repository: string }>;
};

const noFaults = { rate: 0, latencyMs: 0, match: () => true, kinds: ['503', '500', 'reset', 'cut'] } as const;

afterEach(() => proxy.configure({ ...noFaults, kinds: [...noFaults.kinds] }));

describe('transient faults (20% of requests)', () => {
  test.each([1, 2, 3])(
    'seed %i: backup, verify, prune and restore succeed and the data proves',
    async (seed) => {
      const prefix = `transient-${seed}`;
      const repositories = ['--repo', small, '--repo', large];
      proxy.configure({ rate: 0.2, seed, latencyMs: 2 });
      const before = proxy.injectedTotal();

      const first = await cli(
        ['backup', ...repositories, '--mirror-dir', path.join(work, `m-${seed}`)],
        prefix,
      );
      expect(first.errors).toEqual([]);
      expect(first.exitCode).toBe(0);

      commitFile(small, `seed-${seed}.txt`, `${seed}\n`);
      const second = await cli(
        ['backup', ...repositories, '--mirror-dir', path.join(work, `m-${seed}`)],
        prefix,
      );
      expect(second.errors).toEqual([]);

      const verify = await cli(['verify', '--level', 'restore', '--snapshot', 'all'], prefix);
      expect(verify.errors).toEqual([]);
      expect(verify.exitCode).toBe(0);

      const prune = await cli(['prune', '--keep-last', '1'], prefix);
      expect(prune.errors).toEqual([]);
      expect(prune.exitCode).toBe(0);

      for (const [source, name] of [
        [small, 'local/small'],
        [large, 'local/large'],
      ]) {
        const target = path.join(work, `restored-${seed}-${path.basename(source)}`);
        const restore = await cli(['restore', '--repo', name, '--target', target], prefix);
        expect(restore.errors).toEqual([]);
        expect(refsOf(target)).toBe(refsOf(path.join(source, '.git')));
      }
      const injected = proxy.injectedTotal() - before;
      expect(injected).toBeGreaterThan(5); // the faults really happened

      // Nothing lost: exactly the newest snapshot of each repository remains, complete.
      const snapshots = await listed(prefix);
      expect(snapshots.map((s) => s.repository).sort()).toEqual(['local/large', 'local/small']);
    },
  );
  test('every kind of fault was injected along the way', () => {
    for (const kind of ['503', '500', 'reset', 'cut'] as const)
      expect(proxy.stats.injected[kind]).toBeGreaterThan(0);
  });
});

describe('persistent faults', () => {
  test.each([
    ['503 SlowDown on every request', { kinds: ['503'] as const }, /SlowDown|503/],
    ['500 on every request', { kinds: ['500'] as const }, /InternalError|500/],
    [
      'connection reset on every request',
      { kinds: ['reset'] as const },
      /cannot reach the storage|ECONNRESET|socket hang up/i,
    ],
  ])('%s: the backup fails clearly, in bounded time', async (_, fault, message) => {
    const prefix = `persistent-${fault.kinds[0]}`;
    proxy.configure({ rate: 1, kinds: [...fault.kinds] });
    const started = Date.now();
    const run = await cli(
      ['backup', '--repo', small, '--mirror-dir', path.join(work, 'm-persistent')],
      prefix,
    );
    expect(run.exitCode).toBe(1);
    expect(run.errors.join('\n')).toMatch(message);
    expect(run.stdout + run.stderr).not.toMatch(/\n\s+at /);
    expect(Date.now() - started).toBeLessThan(45_000);
    expect(await keysUnder(prefix)).toEqual([]);
  });

  test('uploads of parts always failing: the upload is abandoned and no manifest is written', async () => {
    const prefix = 'persistent-parts';
    proxy.configure({
      rate: 1,
      kinds: ['503'],
      match: (method, url) => method === 'PUT' && url.includes('partNumber='),
    });
    const run = await cli(['backup', '--repo', large, '--mirror-dir', path.join(work, 'm-parts')], prefix);
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/large: FAILED: storage error .*SlowDown \(HTTP 503\)/);
    expect((await keysUnder(prefix)).filter((key) => key.endsWith('manifest.json'))).toEqual([]);
    expect(await listed(prefix)).toEqual([]);
  });

  test('the manifest write always failing: the parts stay as orphans, nothing lists as a snapshot', async () => {
    const prefix = 'persistent-manifest';
    proxy.configure({
      rate: 1,
      kinds: ['500'],
      match: (method, url) => method === 'PUT' && url.includes('manifest.json'),
    });
    const run = await cli(['backup', '--repo', small, '--mirror-dir', path.join(work, 'm-manifest')], prefix);
    expect(run.exitCode).toBe(1);
    const keys = await keysUnder(prefix);
    expect(keys.some((key) => key.endsWith('.pack'))).toBe(true);
    expect(keys.some((key) => key.endsWith('manifest.json'))).toBe(false);
    expect(await listed(prefix)).toEqual([]);
  });
});

describe('a backup killed with SIGKILL', () => {
  /** Starts a backup through the proxy, and kills it when a request matching `at` arrives. */
  async function killedBackup(prefix: string, repository: string, at: RegExp): Promise<void> {
    const seen = proxy.stats.seen.length;
    proxy.configure({ latencyMs: (method, url) => (at.test(`${method} ${url}`) ? 60_000 : 0) });
    tally.runs += 1;
    const child = spawn(
      'node',
      [
        'dist/cli.js',
        'backup',
        '--to',
        `s3://backups/${prefix}`,
        '--endpoint',
        proxy.endpoint,
        '--repo',
        repository,
        '--mirror-dir',
        path.join(work, `m-${prefix}`),
      ],
      { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env() }, stdio: 'ignore' },
    );
    const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve(signal)));
    for (let waited = 0; !proxy.stats.seen.slice(seen).some((request) => at.test(request)); waited += 50) {
      if (waited > 30_000) throw new Error(`no request matching ${at} within 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    proxy.configure({ latencyMs: 0 });
  }

  test('mid-upload or before its manifest: no complete-looking snapshot; the next run succeeds; prune later removes the orphans', async () => {
    const prefix = 'killed';
    const first = await cli(['backup', '--repo', large, '--mirror-dir', path.join(work, 'm-killed')], prefix);
    expect(first.exitCode).toBe(0);
    const good = await listed(prefix);
    expect(good).toHaveLength(1);
    const goodKeys = await keysUnder(prefix);

    // Killed while a part of the new pack is on the wire, then while its index goes up, then with every
    // part uploaded but no manifest. The new pack is 20 MiB of new data: it goes up in multipart parts.
    fs.writeFileSync(path.join(large, 'k1.bin'), deterministicBytes(20 * 1024 * 1024, 'k1'));
    git(large, 'add', '.');
    git(large, 'commit', '-q', '-m', 'k1');
    await killedBackup(prefix, large, /^PUT .*partNumber=/);
    commitFile(large, 'k2.txt', 'two\n');
    await killedBackup(prefix, large, /^PUT .*\.idx/);
    commitFile(large, 'k3.txt', 'three\n');
    await killedBackup(prefix, large, /^PUT .*manifest\.json/);

    expect(await listed(prefix)).toEqual(good);
    const verify = await cli(['verify', '--level', 'read-data', '--snapshot', 'all'], prefix);
    expect(verify.exitCode).toBe(0);
    const orphans = (await keysUnder(prefix)).filter((key) => !goodKeys.includes(key));
    expect(orphans.length).toBeGreaterThan(0);
    // Format 2: what a killed run leaves is a complete pack and its index, never a manifest.
    expect(orphans.every((key) => /\/packs\/git\/.*\.(pack|idx)$/.test(key))).toBe(true);

    // The history that pack holds is rewritten away, so no later snapshot needs it: it stays an orphan.
    git(large, 'reset', '-q', '--hard', 'HEAD~3');
    commitFile(large, 'k4.txt', 'four\n');
    // The next run (its mirror lock was left by a killed process) writes a complete snapshot.
    const next = await cli(['backup', '--repo', large, '--mirror-dir', path.join(work, 'm-killed')], prefix);
    expect(next.errors).toEqual([]);
    expect(await listed(prefix)).toHaveLength(2);
    const proven = await cli(['verify', '--level', 'restore', '--snapshot', 'all'], prefix);
    expect(proven.errors).toEqual([]);

    // Prune, once the orphans are older than orphan-age (24 h by default: run as if a day later).
    const store = openStore(parseDestination('s3://backups/killed'), {
      region: s3.region,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    const later = new Date(Date.now() + 25 * 60 * 60 * 1000);
    const pruned = await pruneStore(store, {}, { dryRun: false, now: later });
    expect(pruned.units.flatMap((unit) => [...unit.orphanKeys, ...unit.packKeys]).sort()).toEqual(
      orphans.map((key) => key.slice(`${prefix}/`.length)).sort(),
    );
    const after = await keysUnder(prefix);
    expect(orphans.some((key) => after.includes(key))).toBe(false);
    expect(await listed(prefix)).toHaveLength(2);
    const still = await cli(['verify', '--level', 'read-data', '--snapshot', 'all'], prefix);
    expect(still.errors).toEqual([]);
  });
});

test('two backups of the same repository at the same time: two complete snapshots, nothing overwritten', async () => {
  const prefix = 'concurrent';
  proxy.configure({ latencyMs: 5 });
  const runs = await Promise.all(
    ['a', 'b', 'c'].map((name) =>
      cli(
        ['backup', '--repo', small, '--force', '--mirror-dir', path.join(work, `m-concurrent-${name}`)],
        prefix,
      ),
    ),
  );
  for (const run of runs) expect(run.errors).toEqual([]);
  const snapshots = await listed(prefix);
  expect(snapshots).toHaveLength(3);
  expect(new Set(snapshots.map((s) => s.id)).size).toBe(3);
  const verify = await cli(['verify', '--level', 'restore', '--snapshot', 'all'], prefix);
  expect(verify.errors).toEqual([]);
});

test('a full disk on a local-folder store fails cleanly and leaves the earlier snapshots intact', async () => {
  const store = path.join(work, 'disk-store');
  const mirrors = path.join(work, 'm-disk');
  const backup = () => ['dist/cli.js', 'backup', '--to', store, '--repo', large, '--mirror-dir', mirrors];
  tally.runs += 2;
  const first = spawnSync('node', backup(), { encoding: 'utf8' });
  expect(first.status).toBe(0);
  // 8 MiB of new, incompressible data: the snapshot's new pack is that large.
  fs.writeFileSync(path.join(large, 'disk.bin'), deterministicBytes(8 * 1024 * 1024, 'disk'));
  git(large, 'add', '.');
  git(large, 'commit', '-q', '-m', 'disk');
  // A 5 MiB file-size limit (ulimit -f, in 1 KiB blocks) with SIGXFSZ ignored, so writes fail EFBIG
  // as on a full disk. Format 2 writes the new pack beside the mirrors before uploading it, so that
  // is where the limit is hit first: the error says which folder is full.
  const full = spawnSync('bash', ['-c', `trap '' XFSZ; ulimit -f 5120; exec node ${backup().join(' ')}`], {
    encoding: 'utf8',
  });
  expect(full.status).toBe(1);
  expect(full.stdout).toMatch(/large: FAILED: .*m-disk\/local is full \(EFBIG\)/);
  expect(full.stdout + full.stderr).not.toMatch(/\n\s+at /);

  const list = spawnSync('node', ['dist/cli.js', 'list', '--to', store, '--json'], { encoding: 'utf8' });
  expect(JSON.parse(list.stdout)).toHaveLength(1);
  const leftovers = fs
    .readdirSync(store, { recursive: true })
    .map(String)
    .filter((file) => file.endsWith('.partial'));
  expect(leftovers).toEqual([]);
  const verify = spawnSync('node', ['dist/cli.js', 'verify', '--to', store, '--level', 'restore'], {
    encoding: 'utf8',
  });
  expect(verify.status).toBe(0);
});
