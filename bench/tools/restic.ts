// restic: git clone --mirror / git fetch, then `restic backup` of the mirror folder into a local
// repository (restic 0.14 cannot use the plain-http S3 server; the repository is a folder). Also
// `restic backup` of any folder, `restic check --read-data` and `restic restore`.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import type { Context, StoreKind } from '../context.js';
import { type Measured, measureOk } from '../lib/measure.js';
import { dirBytes, tail } from '../lib/process.js';
import { combine, type Contender, nextId, type Run, updateMirror } from './common.js';

/** The environment of restic: a password, a cache in `tmp`, no inherited repository settings. */
export function resticEnvironment(env: NodeJS.ProcessEnv, tmp: string): NodeJS.ProcessEnv {
  const resticEnv: NodeJS.ProcessEnv = {
    ...env,
    RESTIC_PASSWORD: 'bench-password',
    RESTIC_CACHE_DIR: path.join(tmp, 'restic-cache'),
  };
  for (const name of [
    'RESTIC_REPOSITORY',
    'RESTIC_REPOSITORY_FILE',
    'RESTIC_PASSWORD_FILE',
    'RESTIC_PASSWORD_COMMAND',
  ]) {
    delete resticEnv[name];
  }
  return resticEnv;
}

interface ResticSummary {
  message_type: string;
  data_added?: number;
}

export class Restic implements Contender {
  readonly kind = 'peer';
  readonly name = 'restic backup (of the mirror)';
  readonly shortName = 'restic';
  readonly store = 'restic';
  readonly storeLabel = 'local restic repo';
  group?: StoreKind;
  private repo = '';
  private mirror = '';

  constructor(private readonly ctx: Context) {}

  /** A new mirror and a new repository (`restic init`, not timed). */
  async reset(): Promise<void> {
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

  async backup(source: string, { label }: { label: string }): Promise<Run> {
    const steps = await updateMirror(this.ctx, source, this.mirror, label);
    const folder = await this.backupPath(this.mirror, { label });
    return combine({ ...steps, backup: folder.result }, folder.extra);
  }

  /** `restic backup --json <folder>`: the measured result, the repository's growth and data_added. */
  private async backupPath(
    folder: string,
    { label }: { label: string },
  ): Promise<{ result: Measured; extra: Partial<Run> }> {
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
      .map((line) => JSON.parse(line) as ResticSummary)
      .find((message) => message.message_type === 'summary');
    if (!summary) throw new Error(`${label}: no summary from restic backup:\n${tail(result.stdout)}`);
    return {
      result,
      extra: { uploadedBytes: dirBytes(this.repo) - before, dataAdded: summary.data_added, summary },
    };
  }

  /** restic backup of a folder as a Run (no git). */
  async backupFolder(folder: string, { label }: { label: string }): Promise<Run> {
    const { result, extra } = await this.backupPath(folder, { label });
    return combine({ backup: result }, extra);
  }

  async check({ label }: { label: string }): Promise<Run> {
    const result = await measureOk(`${label}-check`, 'restic', ['-r', this.repo, 'check', '--read-data'], {
      env: this.ctx.resticEnv,
      detached: true,
      waitedRss: this.ctx.timeDir,
    });
    return combine({ check: result });
  }

  async restore(target: string, { label }: { label: string }): Promise<Run> {
    const args = ['-r', this.repo, 'restore', 'latest', '--target', target];
    const result = await measureOk(`${label}-restore`, 'restic', args, {
      env: this.ctx.resticEnv,
      detached: true,
      waitedRss: this.ctx.timeDir,
    });
    return combine({ restore: result });
  }

  async storedBytes(): Promise<number> {
    return dirBytes(this.repo);
  }

  /** The repository is incremental: everything in it is needed. */
  async dropOld(): Promise<void> {}

  async dispose(): Promise<void> {
    if (this.repo) rmSync(this.repo, { recursive: true, force: true });
    if (this.mirror) rmSync(path.dirname(this.mirror), { recursive: true, force: true });
  }
}
