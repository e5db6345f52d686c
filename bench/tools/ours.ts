// backup-action (the CLI of dist/) as a contender: backup, verify, restore and snapshot, measured with
// node's own VmHWM read at exit (the preload of writePreload).
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import type { Context, StoreKind } from '../context.js';
import { type Measured, measureOk } from '../lib/measure.js';
import { tail } from '../lib/process.js';
import { BUCKET } from '../lib/s3.js';
import { combine, type Contender, Destination, nextId, type Run } from './common.js';

const SNAPSHOT_ID = /^\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{8}$/;

export class Ours implements Contender {
  readonly kind = 'ours';
  readonly name = 'backup-action';
  readonly shortName = 'backup-action';
  readonly storeLabel: string;
  group?: StoreKind;
  private destination?: Destination;
  private mirrorDir?: string;

  constructor(
    private readonly ctx: Context,
    readonly store: StoreKind,
  ) {
    this.storeLabel = store === 's3' ? 'S3' : 'folder';
  }

  async reset(): Promise<void> {
    await this.dispose();
    const id = nextId(`ours-${this.store}`);
    this.destination = new Destination(this.ctx, this.store, id);
    this.mirrorDir = path.join(this.ctx.tmp, 'mirrors', id);
  }

  private get dest(): Destination {
    if (!this.destination) throw new Error('backup-action: reset() first');
    return this.destination;
  }

  private storageArgs(): string[] {
    if (this.store === 'folder') return ['--to', this.dest.dir];
    return ['--to', `s3://${BUCKET}/${this.dest.prefix}`, '--endpoint', this.ctx.endpoint];
  }

  /** Runs one CLI command against this destination, measured (node's own VmHWM read at exit too). */
  private cli(
    label: string,
    command: string,
    args: string[],
    { cwd }: { cwd?: string } = {},
  ): Promise<Measured> {
    const { ctx } = this;
    return measureOk(
      label,
      process.execPath,
      [`--import=${ctx.preload.url}`, ctx.cli, command, ...this.storageArgs(), ...args],
      { env: ctx.env, cwd, rusage: ctx.preload.resultFile(label), detached: true },
    );
  }

  /** One `backup` run of one or more repositories; statuses are the `created`/`unchanged` per repository. */
  async backup(
    sources: string | string[],
    { label, concurrency }: { label: string; concurrency?: number },
  ): Promise<Run> {
    const before = await this.dest.bytes();
    const all = [sources].flat();
    const args = [...all.flatMap((s) => ['--repo', s]), '--mirror-dir', this.mirrorDir ?? ''];
    if (concurrency) args.push('--concurrency', String(concurrency));
    const result = await this.cli(label, 'backup', args);
    const uploadedBytes = (await this.dest.bytes()) - before;
    const statuses: string[] = [];
    const reported: string[] = [];
    for (const line of result.stdout.split('\n')) {
      const match = /: (created|unchanged|FAILED)\b.*\(([\d.]+ \w+) uploaded\)$/.exec(line);
      if (match) {
        statuses.push(match[1]);
        reported.push(match[2]);
      }
    }
    if (statuses.length !== all.length) {
      throw new Error(`${label}: expected one result line per repository, got:\n${tail(result.stdout)}`);
    }
    return combine({ backup: result }, { uploadedBytes, statuses, reported: reported.join(', ') });
  }

  async verify(repository: string, level: string, { label }: { label: string }): Promise<Run> {
    return combine({ verify: await this.cli(label, 'verify', ['--repo', repository, '--level', level]) });
  }

  /** `restore --target`; `fullCheck` adds `--full-check` (git fsck --full, as `verify --level restore`). */
  async restore(
    repository: string,
    target: string,
    { label, fullCheck = false }: { label: string; fullCheck?: boolean },
  ): Promise<Run> {
    const args = ['--repo', repository, '--target', target, ...(fullCheck ? ['--full-check'] : [])];
    return combine({ restore: await this.cli(label, 'restore', args) });
  }

  /** `snapshot --name <name> --path <glob>` run in `cwd`; uploadedBytes is what it stored. */
  async snapshot(
    cwd: string,
    name: string,
    glob: string,
    { label, compression = 'zstd' }: { label: string; compression?: string },
  ): Promise<Run> {
    const before = await this.dest.bytes();
    const args = ['--name', name, '--path', glob, '--compression', compression];
    const result = await this.cli(label, 'snapshot', args, { cwd });
    return combine({ snapshot: result }, { uploadedBytes: (await this.dest.bytes()) - before });
  }

  async storedBytes(): Promise<number> {
    return this.dest.bytes();
  }

  /** Keeps only the newest snapshot of each repository (the next run compares with it). */
  async dropOld(): Promise<void> {
    const keys = await this.dest.keys();
    const newest = new Map<string, string>();
    for (const key of keys) {
      const parts = key.split('/');
      const at = parts.findIndex((p) => SNAPSHOT_ID.test(p));
      if (at < 0) continue;
      const unit = parts.slice(0, at).join('/');
      const known = newest.get(unit);
      if (known === undefined || known < parts[at]) newest.set(unit, parts[at]);
    }
    await this.dest.remove(
      keys.filter((key) => {
        const parts = key.split('/');
        const at = parts.findIndex((p) => SNAPSHOT_ID.test(p));
        return at >= 0 && newest.get(parts.slice(0, at).join('/')) !== parts[at];
      }),
    );
  }

  async dispose(): Promise<void> {
    await this.destination?.clear();
    if (this.mirrorDir) rmSync(this.mirrorDir, { recursive: true, force: true });
  }
}
