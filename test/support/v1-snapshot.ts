import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import type { Source } from '../../src/git/source.js';
import {
  BUNDLE_FORMAT_VERSION,
  type GitManifest,
  MANIFEST_NAME,
  newSnapshotId,
  snapshotPrefix,
} from '../../src/snapshot/manifest.js';
import type { Store } from '../../src/store/store.js';

/**
 * Writes a repository snapshot exactly as version 0.1 did (format 1: one `git bundle --all` in the
 * snapshot's folder, then the manifest), so that tests prove format 1 stays listable, verifiable,
 * restorable and prunable. The bundle is read into memory: test repositories are small.
 */
export async function writeBundleSnapshot(
  store: Store,
  source: Source,
  repository: string,
  { now = new Date(), tags = [] }: { now?: Date; tags?: string[] } = {},
): Promise<string> {
  const id = newSnapshotId(now);
  const folder = snapshotPrefix('git', source.name, id);
  const refs = Object.fromEntries(
    execFileSync('git', ['for-each-ref', '--format=%(refname) %(objectname)'], {
      cwd: repository,
      encoding: 'utf8',
    })
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' ') as [string, string]),
  );
  const head = execFileSync('git', ['symbolic-ref', '-q', 'HEAD'], {
    cwd: repository,
    encoding: 'utf8',
  }).trim();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'v1-bundle-'));
  const file = path.join(scratch, 'repo.bundle');
  execFileSync('git', ['bundle', 'create', '--quiet', file, '--all'], { cwd: repository });
  const bundle = fs.readFileSync(file);
  fs.rmSync(scratch, { recursive: true, force: true });
  await store.upload(`${folder}repo.bundle`, Readable.from([bundle]));
  const manifest: GitManifest = {
    format: 'backup-action-snapshot',
    formatVersion: BUNDLE_FORMAT_VERSION,
    id,
    kind: 'git',
    source: source.name,
    url: source.url,
    createdAt: now.toISOString(),
    tool: { name: 'backup-action', version: '0.1.0' },
    tags,
    git: { empty: false, objectFormat: 'sha1', head: head || null, refs },
    parts: [
      {
        name: 'repo.bundle',
        type: 'git-bundle',
        size: bundle.length,
        sha256: createHash('sha256').update(bundle).digest('hex'),
      },
    ],
    size: bundle.length,
  };
  await store.createExclusive(
    `${folder}${MANIFEST_NAME}`,
    Buffer.from(JSON.stringify(manifest, null, 2) + '\n'),
  );
  return id;
}
