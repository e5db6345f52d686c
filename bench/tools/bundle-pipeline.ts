// Hand pipelines: git clone --mirror (first day) / git fetch (later days), git bundle create --all to a
// file, then copy the file with aws s3 cp, cp or rclone copy, to a new key or folder each day.
import { mkdirSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { Context, StoreKind } from '../context.js';
import { type Measured, measureOk } from '../lib/measure.js';
import { BUCKET } from '../lib/s3.js';
import { awsCopy } from './aws.js';
import { combine, type Contender, Destination, nextId, type Run, updateMirror } from './common.js';
import { rcloneCopy } from './rclone.js';

export type Uploader = 'aws' | 'cp' | 'rclone';

const NAMES: Record<Uploader, string> = {
  aws: 'git bundle + aws s3 cp',
  cp: 'git bundle + cp',
  rclone: 'git bundle + rclone copy',
};

export class BundlePipeline implements Contender {
  readonly kind = 'peer';
  readonly name: string;
  readonly storeLabel: string;
  group?: StoreKind;
  private destination?: Destination;
  private mirror = '';
  private bundleDir = '';
  private day = 0;

  /** uploader: 'aws' (S3) | 'cp' (folder) | 'rclone' (S3 or folder) */
  constructor(
    private readonly ctx: Context,
    readonly uploader: Uploader,
    readonly store: StoreKind,
  ) {
    this.name = NAMES[uploader];
    this.storeLabel = store === 's3' ? 'S3' : 'folder';
  }

  async reset(): Promise<void> {
    await this.dispose();
    const id = nextId(`${this.uploader}-${this.store}`);
    this.destination = new Destination(this.ctx, this.store, id);
    this.mirror = path.join(this.ctx.tmp, 'mirrors', id, 'repo.git');
    this.bundleDir = path.join(this.ctx.tmp, 'bundles', id);
    this.day = 0;
  }

  private get dest(): Destination {
    if (!this.destination) throw new Error(`${this.name}: reset() first`);
    return this.destination;
  }

  async backup(source: string, { label }: { label: string }): Promise<Run> {
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
    const before = await this.dest.bytes();
    steps.upload = await this.upload(file, `day${this.day++}`, label);
    const uploadedBytes = (await this.dest.bytes()) - before;
    rmSync(file, { force: true });
    return combine(steps, { uploadedBytes, bundleBytes });
  }

  private async upload(file: string, day: string, label: string): Promise<Measured> {
    const { ctx, dest } = this;
    const options = { env: ctx.env, detached: true, waitedRss: this.ctx.timeDir };
    const folder = path.join(dest.dir, day);
    if (this.store === 'folder') mkdirSync(folder, { recursive: true });
    switch (this.uploader) {
      case 'aws': {
        const target = `s3://${BUCKET}/${dest.prefix}/${day}/repo.bundle`;
        return awsCopy(`${label}-aws`, ctx.aws, file, target, ctx.endpoint, options);
      }
      case 'cp':
        return measureOk(`${label}-cp`, 'cp', [file, path.join(folder, 'repo.bundle')], options);
      case 'rclone': {
        const target = this.store === 's3' ? `bench:${BUCKET}/${dest.prefix}/${day}/` : `${folder}/`;
        return rcloneCopy(`${label}-rclone`, file, target, { ...options, env: ctx.rcloneEnv });
      }
    }
  }

  async storedBytes(): Promise<number> {
    return this.dest.bytes();
  }

  /** Earlier days' bundles are not needed by anything: a whole bundle is uploaded every day. */
  async dropOld(): Promise<void> {
    await this.dest.clear();
  }

  async dispose(): Promise<void> {
    await this.destination?.clear();
    if (this.mirror) rmSync(path.dirname(this.mirror), { recursive: true, force: true });
    if (this.bundleDir) rmSync(this.bundleDir, { recursive: true, force: true });
  }
}
