import { randomBytes } from 'node:crypto';

/** Bumped when the layout or manifest changes incompatibly; readers refuse newer versions. */
export const FORMAT_VERSION = 1;
export const MANIFEST_NAME = 'manifest.json';

/**
 * `20261122T141500.123Z-1a2b3c4d`: sorts by creation time (to the millisecond), and the random tail
 * keeps concurrent runs apart.
 */
export const SNAPSHOT_ID = /^\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{8}$/;

export function newSnapshotId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '');
  return `${stamp}-${randomBytes(4).toString('hex')}`;
}

export interface Part {
  /** File name inside the snapshot's folder. */
  name: string;
  /** `git-bundle` (a `git bundle` v2/v3 file of every ref). */
  type: 'git-bundle';
  size: number;
  sha256: string;
}

export interface Manifest {
  format: 'backup-action-snapshot';
  formatVersion: number;
  id: string;
  kind: 'git';
  /** Store name of the repository, e.g. `github.com/owner/repo`. */
  source: string;
  /** Where it was cloned from, without credentials. */
  url: string;
  createdAt: string;
  tool: { name: string; version: string };
  tags: string[];
  git: {
    /** True for a repository without any ref: no parts, restore gives an empty repository. */
    empty: boolean;
    objectFormat: string;
    head: string | null;
    refs: Record<string, string>;
  };
  parts: Part[];
  /** Sum of the parts' sizes. */
  size: number;
}

/** Key of a snapshot's folder for one source: `git/<source>/<id>/`. */
export function snapshotPrefix(source: string, id: string): string {
  return `${sourcePrefix(source)}${id}/`;
}

export function sourcePrefix(source: string): string {
  return `git/${source}/`;
}

/** Checks what a reader relies on; a manifest from a hostile or broken store must not crash us. */
export function parseManifest(text: string, where: string): Manifest {
  let value: Manifest;
  try {
    value = JSON.parse(text) as Manifest;
  } catch {
    throw new Error(`${where} is not valid JSON`);
  }
  if (value?.format !== 'backup-action-snapshot') throw new Error(`${where} is not a backup-action manifest`);
  if (typeof value.formatVersion !== 'number' || value.formatVersion > FORMAT_VERSION) {
    throw new Error(
      `${where} has format version ${value.formatVersion}; this version reads up to ${FORMAT_VERSION}. Upgrade backup-action.`,
    );
  }
  if (!SNAPSHOT_ID.test(value.id) || typeof value.git?.refs !== 'object' || !Array.isArray(value.parts)) {
    throw new Error(`${where} is incomplete (id, git.refs or parts missing)`);
  }
  const head = value.git.head;
  if (
    (head !== null && !/^refs\/\S+$/.test(String(head))) ||
    typeof value.url !== 'string' ||
    value.url.startsWith('-')
  ) {
    throw new Error(`${where} has an invalid git.head or url`);
  }
  for (const part of value.parts) {
    if (!/^[A-Za-z0-9._-]+$/.test(part.name) || part.name.startsWith('.')) {
      throw new Error(`${where} names an unsafe part "${part.name}"`);
    }
    if (!Number.isSafeInteger(part.size) || part.size < 0 || !/^[0-9a-f]{64}$/.test(part.sha256)) {
      throw new Error(`${where} has an invalid size or sha256 for part ${part.name}`);
    }
  }
  return value;
}
