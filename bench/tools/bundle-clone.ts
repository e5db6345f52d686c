// The restore of a bundle by hand: `git clone --mirror` from a bundle file, then `git fsck --full` (what
// a version 1 snapshot's restore amounts to). The bundle is a local file made once from a mirror of the
// source (not timed); no download is measured.
import { mkdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import type { Context } from '../context.js';
import { measureOk } from '../lib/measure.js';
import { combine, nextId, type Run } from './common.js';

export class BundleClone {
  readonly kind = 'peer';
  readonly name = 'git clone --mirror of a bundle + git fsck --full';
  readonly shortName = 'bundle clone + fsck --full';
  readonly store = 'bundle';
  readonly storeLabel = 'local bundle file';
  private dir = '';

  constructor(private readonly ctx: Context) {}

  private get bundle(): string {
    return path.join(this.dir, 'repo.bundle');
  }

  /** `git clone --mirror` of the source and `git bundle create --all` of it (not timed). */
  async prepare(source: string, { label }: { label: string }): Promise<void> {
    await this.dispose();
    this.dir = path.join(this.ctx.tmp, 'bundles', nextId('bundle-clone'));
    const mirror = path.join(this.dir, 'mirror.git');
    mkdirSync(this.dir, { recursive: true });
    const options = { env: this.ctx.env, detached: true };
    await measureOk(`${label}-clone`, 'git', ['clone', '--mirror', '--quiet', source, mirror], options);
    await measureOk(`${label}-bundle`, 'git', ['bundle', 'create', '--quiet', this.bundle, '--all'], {
      ...options,
      cwd: mirror,
    });
    rmSync(mirror, { recursive: true, force: true });
  }

  /** `git clone --mirror <bundle> <target>`, then `git fsck --full` in it; measured, each a step. */
  async restore(target: string, { label }: { label: string }): Promise<Run> {
    if (!this.dir) throw new Error(`${this.name}: prepare() first`);
    const options = { env: this.ctx.env, detached: true };
    const clone = await measureOk(
      `${label}-clone`,
      'git',
      ['clone', '--mirror', '--quiet', this.bundle, target],
      options,
    );
    const fsck = await measureOk(
      `${label}-fsck`,
      'git',
      ['fsck', '--full', '--no-dangling', '--no-progress'],
      {
        ...options,
        cwd: target,
      },
    );
    return combine({ clone, fsck });
  }

  async dispose(): Promise<void> {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
