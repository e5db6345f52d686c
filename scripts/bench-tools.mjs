// The contenders of scripts/bench-peers.mjs, each behind the same small interface:
//   reset()           fresh mirror and fresh destination (not timed)
//   backup(source)    one day's backup of a repository: the first call clones, later ones fetch
//   dropOld()         frees what the next runs do not need (older copies; not timed)
//   dispose()         removes everything it wrote
// backup() resolves with a Run: { seconds, steps: { name: seconds }, toolPeakMiB, gitPeakMiB,
// uploadedBytes, ... }. uploadedBytes is measured, not reported: the bytes of the objects (S3) or files
// (folder, restic repository) that the run added to its destination.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { BUCKET, dirBytes, gitPeakMiB, measureOk, prefixBytes, tail, toolPeakMiB } from './bench-lib.mjs';

const SNAPSHOT_ID = /^\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{8}$/;
let serial = 0;
const nextId = (prefix) => `${prefix}-${++serial}`;

/** Folds measured steps ({ name: measure() result }) into a Run. */
export function combine(steps, extra = {}) {
  const results = Object.values(steps);
  return {
    seconds: results.reduce((sum, r) => sum + r.seconds, 0),
    steps: Object.fromEntries(Object.entries(steps).map(([name, r]) => [name, r.seconds])),
    toolPeakMiB: Math.max(0, ...results.map(toolPeakMiB)),
    gitPeakMiB: Math.max(0, ...results.map(gitPeakMiB)),
    serverCpuSeconds: results.reduce((sum, r) => sum + r.benchCpuSeconds, 0),
    ...extra,
  };
}

/** Where a contender writes: a prefix of the bench bucket, or a folder. */
class Destination {
  constructor(ctx, store, id) {
    this.ctx = ctx;
    this.store = store;
    this.prefix = id;
    this.dir = path.join(ctx.tmp, 'stores', id);
  }
  /** The bytes stored so far. */
  async bytes() {
    return this.store === 's3' ? prefixBytes(this.ctx.s3, `${this.prefix}/`) : dirBytes(this.dir);
  }
  /** Relative keys of everything stored. */
  async keys() {
    if (this.store === 's3') {
      return (await this.ctx.s3.list(`${this.prefix}/`)).map((o) => o.Key.slice(this.prefix.length + 1));
    }
    return existsSync(this.dir) ? walk(this.dir, '') : [];
  }
  async remove(keys) {
    if (this.store === 's3') await this.ctx.s3.removeMany(keys.map((key) => `${this.prefix}/${key}`));
    else for (const key of keys) rmSync(path.join(this.dir, key), { recursive: true, force: true });
  }
  async clear() {
    if (this.store === 's3') await this.remove(await this.keys());
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function walk(dir, relative) {
  const keys = [];
  for (const entry of readdirSync(path.join(dir, relative), { withFileTypes: true })) {
    const key = relative ? `${relative}/${entry.name}` : entry.name;
    if (entry.isDirectory()) keys.push(...walk(dir, key));
    else keys.push(key);
  }
  return keys;
}

/** The mirror of a pipeline: `git clone --mirror` the first time, `git fetch --prune` later; measured. */
async function updateMirror(ctx, source, mirror, label) {
  const options = { env: ctx.env, detached: true, waitedRss: ctx.timeDir };
  if (!existsSync(path.join(mirror, 'HEAD'))) {
    mkdirSync(path.dirname(mirror), { recursive: true });
    const args = ['clone', '--mirror', '--quiet', source, mirror];
    return { clone: await measureOk(`${label}-clone`, 'git', args, options) };
  }
  const args = ['fetch', '--prune', '--quiet', 'origin'];
  return { fetch: await measureOk(`${label}-fetch`, 'git', args, { ...options, cwd: mirror }) };
}

// ---------------------------------------------------------------------------------------------------
// backup-action (the CLI of dist/)

export class Ours {
  /** store: 's3' | 'folder' */
  constructor(ctx, store) {
    this.ctx = ctx;
    this.store = store;
    this.kind = 'ours';
    this.name = 'backup-action';
    this.shortName = 'backup-action';
    this.storeLabel = store === 's3' ? 'S3' : 'folder';
  }

  async reset() {
    await this.dispose();
    const id = nextId(`ours-${this.store}`);
    this.destination = new Destination(this.ctx, this.store, id);
    this.mirrorDir = path.join(this.ctx.tmp, 'mirrors', id);
  }

  storageArgs() {
    if (this.store === 'folder') return ['--to', this.destination.dir];
    return ['--to', `s3://${BUCKET}/${this.destination.prefix}`, '--endpoint', this.ctx.endpoint];
  }

  /** Runs one CLI command against this destination, measured (node's own VmHWM read at exit too). */
  cli(label, command, args, { cwd } = {}) {
    const { ctx } = this;
    return measureOk(
      label,
      process.execPath,
      [`--import=${ctx.preload.url}`, ctx.cli, command, ...this.storageArgs(), ...args],
      { env: ctx.env, cwd, rusage: ctx.preload.resultFile(label), detached: true },
    );
  }

  /** One `backup` run of one or more repositories; statuses are the `created`/`unchanged` per repository. */
  async backup(sources, { label, concurrency } = {}) {
    const before = await this.destination.bytes();
    const args = [...[sources].flat().flatMap((s) => ['--repo', s]), '--mirror-dir', this.mirrorDir];
    if (concurrency) args.push('--concurrency', String(concurrency));
    const result = await this.cli(label, 'backup', args);
    const uploadedBytes = (await this.destination.bytes()) - before;
    const statuses = [];
    const reported = [];
    for (const line of result.stdout.split('\n')) {
      const match = /: (created|unchanged|FAILED)\b.*\(([\d.]+ \w+) uploaded\)$/.exec(line);
      if (match) {
        statuses.push(match[1]);
        reported.push(match[2]);
      }
    }
    if (statuses.length !== [sources].flat().length) {
      throw new Error(`${label}: expected one result line per repository, got:\n${tail(result.stdout)}`);
    }
    return combine({ backup: result }, { uploadedBytes, statuses, reported: reported.join(', ') });
  }

  async verify(repository, level, { label }) {
    return combine({ verify: await this.cli(label, 'verify', ['--repo', repository, '--level', level]) });
  }

  async restore(repository, target, { label }) {
    return combine({ restore: await this.cli(label, 'restore', ['--repo', repository, '--target', target]) });
  }

  /** `snapshot --name <name> --path <glob>` run in `cwd`; uploadedBytes is what it stored. */
  async snapshot(cwd, name, glob, { label, compression = 'zstd' }) {
    const before = await this.destination.bytes();
    const args = ['--name', name, '--path', glob, '--compression', compression];
    const result = await this.cli(label, 'snapshot', args, { cwd });
    return combine({ snapshot: result }, { uploadedBytes: (await this.destination.bytes()) - before });
  }

  /** Keeps only the newest snapshot of each repository (the next run compares with it). */
  async dropOld() {
    const keys = await this.destination.keys();
    const newest = new Map();
    for (const key of keys) {
      const parts = key.split('/');
      const at = parts.findIndex((p) => SNAPSHOT_ID.test(p));
      if (at < 0) continue;
      const unit = parts.slice(0, at).join('/');
      if (!newest.has(unit) || newest.get(unit) < parts[at]) newest.set(unit, parts[at]);
    }
    await this.destination.remove(
      keys.filter((key) => {
        const parts = key.split('/');
        const at = parts.findIndex((p) => SNAPSHOT_ID.test(p));
        return at >= 0 && newest.get(parts.slice(0, at).join('/')) !== parts[at];
      }),
    );
  }

  async dispose() {
    await this.destination?.clear();
    if (this.mirrorDir) rmSync(this.mirrorDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------
// Hand pipelines: git clone --mirror (first day) / git fetch (later days), git bundle create --all to a
// file, then copy the file with aws s3 cp, cp or rclone copy, to a new key or folder each day.

export class BundlePipeline {
  /** uploader: 'aws' (S3) | 'cp' (folder) | 'rclone' (S3 or folder) */
  constructor(ctx, uploader, store) {
    this.ctx = ctx;
    this.uploader = uploader;
    this.store = store;
    this.kind = 'peer';
    this.name = { aws: 'git bundle + aws s3 cp', cp: 'git bundle + cp', rclone: 'git bundle + rclone copy' }[
      uploader
    ];
    this.storeLabel = store === 's3' ? 'S3' : 'folder';
  }

  async reset() {
    await this.dispose();
    const id = nextId(`${this.uploader}-${this.store}`);
    this.destination = new Destination(this.ctx, this.store, id);
    this.mirror = path.join(this.ctx.tmp, 'mirrors', id, 'repo.git');
    this.bundleDir = path.join(this.ctx.tmp, 'bundles', id);
    this.day = 0;
  }

  async backup(source, { label }) {
    const steps = await updateMirror(this.ctx, source, this.mirror, label);
    mkdirSync(this.bundleDir, { recursive: true });
    const file = path.join(this.bundleDir, 'repo.bundle');
    rmSync(file, { force: true });
    steps.bundle = await measureOk(`${label}-bundle`, 'git', ['bundle', 'create', '--quiet', file, '--all'], {
      env: this.ctx.env,
      cwd: this.mirror,
      detached: true,
      waitedRss: this.ctx.timeDir,
    });
    const bundleBytes = statSync(file).size;
    const before = await this.destination.bytes();
    steps.upload = await this.upload(file, `day${this.day++}`, label);
    const uploadedBytes = (await this.destination.bytes()) - before;
    rmSync(file, { force: true });
    return combine(steps, { uploadedBytes, bundleBytes });
  }

  upload(file, day, label) {
    const { ctx, destination } = this;
    const options = { env: ctx.env, detached: true, waitedRss: this.ctx.timeDir };
    const folder = path.join(destination.dir, day);
    if (this.store === 'folder') mkdirSync(folder, { recursive: true });
    switch (this.uploader) {
      case 'aws': {
        const target = `s3://${BUCKET}/${destination.prefix}/${day}/repo.bundle`;
        const args = ['s3', 'cp', '--only-show-errors', file, target, '--endpoint-url', ctx.endpoint];
        return measureOk(`${label}-aws`, ctx.aws, args, options);
      }
      case 'cp':
        return measureOk(`${label}-cp`, 'cp', [file, path.join(folder, 'repo.bundle')], options);
      case 'rclone': {
        const target = this.store === 's3' ? `bench:${BUCKET}/${destination.prefix}/${day}/` : `${folder}/`;
        return measureOk(`${label}-rclone`, 'rclone', ['copy', file, target], {
          ...options,
          env: ctx.rcloneEnv,
        });
      }
      default:
        throw new Error(`unknown uploader ${this.uploader}`);
    }
  }

  /** Earlier days' bundles are not needed by anything: a whole bundle is uploaded every day. */
  async dropOld() {
    await this.destination.clear();
  }

  async dispose() {
    await this.destination?.clear();
    if (this.mirror) rmSync(path.dirname(this.mirror), { recursive: true, force: true });
    if (this.bundleDir) rmSync(this.bundleDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------
// restic: git clone --mirror / git fetch, then `restic backup` of the mirror folder into a local
// repository (restic 0.14 cannot use the plain-http S3 server; the repository is a folder).

export class Restic {
  constructor(ctx) {
    this.ctx = ctx;
    this.kind = 'peer';
    this.name = 'restic backup (of the mirror)';
    this.shortName = 'restic';
    this.store = 'restic';
    this.storeLabel = 'local restic repo';
  }

  /** A new mirror and a new repository (`restic init`, not timed). */
  async reset() {
    await this.dispose();
    const id = nextId('restic');
    this.repo = path.join(this.ctx.tmp, 'restic', id);
    this.mirror = path.join(this.ctx.tmp, 'mirrors', id, 'repo.git');
    mkdirSync(path.dirname(this.repo), { recursive: true });
    const init = spawnSync('restic', ['init', '--repo', this.repo], {
      env: this.ctx.resticEnv,
      encoding: 'utf8',
    });
    if (init.status !== 0) throw new Error(`restic init failed: ${init.stderr}`);
  }

  async backup(source, { label }) {
    const steps = await updateMirror(this.ctx, source, this.mirror, label);
    const folder = await this.backupPath(this.mirror, { label });
    return combine({ ...steps, backup: folder.result }, folder.extra);
  }

  /** `restic backup --json <folder>`: the measured result, the repository's growth and data_added. */
  async backupPath(folder, { label }) {
    const before = dirBytes(this.repo);
    const result = await measureOk(
      `${label}-restic`,
      'restic',
      ['-r', this.repo, 'backup', '--json', folder],
      {
        env: this.ctx.resticEnv,
        detached: true,
        waitedRss: this.ctx.timeDir,
      },
    );
    const summary = result.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line))
      .find((message) => message.message_type === 'summary');
    if (!summary) throw new Error(`${label}: no summary from restic backup:\n${tail(result.stdout)}`);
    return {
      result,
      extra: { uploadedBytes: dirBytes(this.repo) - before, dataAdded: summary.data_added, summary },
    };
  }

  /** restic backup of a folder as a Run (no git). */
  async backupFolder(folder, { label }) {
    const { result, extra } = await this.backupPath(folder, { label });
    return combine({ backup: result }, extra);
  }

  async check({ label }) {
    const result = await measureOk(`${label}-check`, 'restic', ['-r', this.repo, 'check', '--read-data'], {
      env: this.ctx.resticEnv,
      detached: true,
      waitedRss: this.ctx.timeDir,
    });
    return combine({ check: result });
  }

  async restore(target, { label }) {
    const args = ['-r', this.repo, 'restore', 'latest', '--target', target];
    const result = await measureOk(`${label}-restore`, 'restic', args, {
      env: this.ctx.resticEnv,
      detached: true,
      waitedRss: this.ctx.timeDir,
    });
    return combine({ restore: result });
  }

  /** The repository is incremental: everything in it is needed. */
  async dropOld() {}

  async dispose() {
    if (this.repo) rmSync(this.repo, { recursive: true, force: true });
    if (this.mirror) rmSync(path.dirname(this.mirror), { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------
// tar | zstd to a file

/** `tar -cf - -C <parent> <name> | zstd -o <out>` (zstd's defaults: level 3, one thread). */
export async function tarZstd(ctx, parent, name, out, { label }) {
  rmSync(out, { force: true });
  mkdirSync(path.dirname(out), { recursive: true });
  const script = 'set -o pipefail; tar -cf - -C "$1" "$2" | zstd -q -f -o "$3"';
  const result = await measureOk(label, 'bash', ['-c', script, 'bash', parent, name, out], {
    env: ctx.env,
    detached: true,
    waitedRss: ctx.timeDir,
  });
  const run = combine({ archive: result }, { uploadedBytes: statSync(out).size });
  rmSync(out, { force: true });
  return run;
}
