// What the contenders of bench/main.ts share. Each is behind the same small interface (Contender):
//   reset()           fresh mirror and fresh destination (not timed)
//   backup(source)    one day's backup of a repository: the first call clones, later ones fetch
//   dropOld()         frees what the next runs do not need (older copies; not timed)
//   storedBytes()     the bytes in its destination now
//   dispose()         removes everything it wrote
// backup() resolves with a Run: { seconds, steps: { name: seconds }, toolPeakMiB, gitPeakMiB,
// uploadedBytes, ... }. uploadedBytes is measured, not reported: the bytes of the objects (S3) or files
// (folder, restic repository) that the run added to its destination.
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import type { Context, StoreKind } from '../context.js';
import { gitPeakMiB, type Measured, measureOk, toolPeakMiB } from '../lib/measure.js';
import { dirBytes } from '../lib/process.js';
import { prefixBytes } from '../lib/s3.js';

/** One measured run of a contender (one or more measured processes). */
export interface Run {
  seconds: number;
  steps: Record<string, number>;
  toolPeakMiB: number;
  gitPeakMiB: number;
  serverCpuSeconds: number;
  /** Bytes the run added to its destination (measured). */
  uploadedBytes?: number;
  /** backup-action: `created` / `unchanged` / `FAILED` per repository, and the sizes it reported. */
  statuses?: string[];
  reported?: string;
  bundleBytes?: number;
  /** restic: its summary's data_added, and the summary. */
  dataAdded?: number;
  summary?: unknown;
}

/** The backup contenders of scenarios 1-4. */
export interface Contender {
  kind: 'ours' | 'peer';
  name: string;
  shortName?: string;
  /** Where it writes: 's3', 'folder', or 'restic' (a local restic repository). */
  store: string;
  storeLabel: string;
  /** The comparison group: 's3', or 'folder' (restic's local repository is compared with the folders). */
  group?: StoreKind;
  reset(): Promise<void>;
  backup(source: string, options: { label: string }): Promise<Run>;
  /** Bytes in its destination now (every object or file it keeps there). */
  storedBytes(): Promise<number>;
  dropOld(): Promise<void>;
  dispose(): Promise<void>;
}

let serial = 0;
export const nextId = (prefix: string): string => `${prefix}-${++serial}`;

/** Folds measured steps ({ name: measure() result }) into a Run. */
export function combine(steps: Record<string, Measured>, extra: Partial<Run> = {}): Run {
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
export class Destination {
  readonly prefix: string;
  readonly dir: string;

  constructor(
    private readonly ctx: Context,
    readonly store: StoreKind,
    id: string,
  ) {
    this.prefix = id;
    this.dir = path.join(ctx.tmp, 'stores', id);
  }

  /** The bytes stored so far. */
  async bytes(): Promise<number> {
    return this.store === 's3' ? prefixBytes(this.ctx.s3, `${this.prefix}/`) : dirBytes(this.dir);
  }

  /** Relative keys of everything stored. */
  async keys(): Promise<string[]> {
    if (this.store === 's3') {
      return (await this.ctx.s3.list(`${this.prefix}/`)).map((o) =>
        (o.Key ?? '').slice(this.prefix.length + 1),
      );
    }
    return existsSync(this.dir) ? walk(this.dir, '') : [];
  }

  async remove(keys: string[]): Promise<void> {
    if (this.store === 's3') await this.ctx.s3.removeMany(keys.map((key) => `${this.prefix}/${key}`));
    else for (const key of keys) rmSync(path.join(this.dir, key), { recursive: true, force: true });
  }

  async clear(): Promise<void> {
    if (this.store === 's3') await this.remove(await this.keys());
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function walk(dir: string, relative: string): string[] {
  const keys: string[] = [];
  for (const entry of readdirSync(path.join(dir, relative), { withFileTypes: true })) {
    const key = relative ? `${relative}/${entry.name}` : entry.name;
    if (entry.isDirectory()) keys.push(...walk(dir, key));
    else keys.push(key);
  }
  return keys;
}

/** The mirror of a pipeline: `git clone --mirror` the first time, `git fetch --prune` later; measured. */
export async function updateMirror(
  ctx: Context,
  source: string,
  mirror: string,
  label: string,
): Promise<Record<string, Measured>> {
  const options = { env: ctx.env, detached: true, waitedRss: ctx.timeDir };
  if (!existsSync(path.join(mirror, 'HEAD'))) {
    mkdirSync(path.dirname(mirror), { recursive: true });
    const args = ['clone', '--mirror', '--quiet', source, mirror];
    return { clone: await measureOk(`${label}-clone`, 'git', args, options) };
  }
  const args = ['fetch', '--prune', '--quiet', 'origin'];
  return { fetch: await measureOk(`${label}-fetch`, 'git', args, { ...options, cwd: mirror }) };
}
