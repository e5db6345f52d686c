import { randomBytes } from 'node:crypto';
import type { EncryptionDescription } from '../crypto/age.js';

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

/** What a snapshot holds: a git repository (`git/`) or files from a workflow (`files/`). */
export type SnapshotKind = 'git' | 'files';
export const SNAPSHOT_KINDS: SnapshotKind[] = ['git', 'files'];

export interface Part {
  /** File name inside the snapshot's folder. */
  name: string;
  /** `git-bundle` (a `git bundle` v2/v3 file of every ref) or `tar` (a POSIX tar of the files). */
  type: 'git-bundle' | 'tar';
  /** How the part was compressed before storing (absent: not compressed). */
  compression?: 'zstd' | 'gzip' | 'none';
  /** Size and SHA-256 of the stored bytes (after compression and encryption). */
  size: number;
  sha256: string;
  /** Present when the part is an age file (see docs/FORMAT.md); public keys only. */
  encryption?: EncryptionDescription;
}

interface ManifestBase {
  format: 'backup-action-snapshot';
  formatVersion: number;
  id: string;
  kind: SnapshotKind;
  /** Store name of the repository (`github.com/owner/repo`) or of the file snapshot series. */
  source: string;
  createdAt: string;
  tool: { name: string; version: string };
  tags: string[];
  parts: Part[];
  /** Sum of the parts' sizes. */
  size: number;
}

export interface GitManifest extends ManifestBase {
  kind: 'git';
  /** Where it was cloned from, without credentials. */
  url: string;
  git: {
    /** True for a repository without any ref: no parts, restore gives an empty repository. */
    empty: boolean;
    objectFormat: string;
    head: string | null;
    refs: Record<string, string>;
  };
}

export interface FilesManifest extends ManifestBase {
  kind: 'files';
  files: {
    /** Entries in the archive (files, folders, links) and the sum of the files' sizes. */
    count: number;
    bytes: number;
  };
}

export type Manifest = GitManifest | FilesManifest;

/** Key of a snapshot's folder: `<kind>/<source>/<id>/`. */
export function snapshotPrefix(kind: SnapshotKind, source: string, id: string): string {
  return `${sourcePrefix(kind, source)}${id}/`;
}

export function sourcePrefix(kind: SnapshotKind, source: string): string {
  return `${kind}/${source}/`;
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
  // Versions are whole numbers from 1: 0, 1.5 or "1" were never written, and no upgrade would read them.
  if (!Number.isSafeInteger(value.formatVersion) || value.formatVersion < 1) {
    throw new Error(`${where} has an invalid format version ${quoted(value.formatVersion)}`);
  }
  if (value.formatVersion > FORMAT_VERSION) {
    throw new Error(
      `${where} has format version ${value.formatVersion}; this version reads up to ${FORMAT_VERSION}. Upgrade backup-action.`,
    );
  }
  if (!SNAPSHOT_ID.test(value.id) || !SNAPSHOT_KINDS.includes(value.kind) || !Array.isArray(value.parts)) {
    throw new Error(`${where} is incomplete (id, kind or parts missing)`);
  }
  if (value.kind === 'git') checkGit(value, where);
  else if (!Number.isSafeInteger(value.files?.count) || !Number.isSafeInteger(value.files?.bytes)) {
    throw new Error(`${where} is incomplete (files.count or files.bytes missing)`);
  }
  for (const part of value.parts as unknown[] as Array<Part | null>) {
    // A part that is not an object, or a name that is not a string (["repo.bundle"] and 123 pass the
    // pattern once turned into text), used to fail later with a TypeError naming no snapshot.
    if (typeof part !== 'object' || part === null || typeof part.name !== 'string') {
      throw new Error(`${where} has a part that is not {name, type, size, sha256}`);
    }
    if (!/^[A-Za-z0-9._-]+$/.test(part.name) || part.name.startsWith('.')) {
      throw new Error(`${where} names an unsafe part ${quoted(part.name)}`);
    }
    const expectedType = value.kind === 'git' ? 'git-bundle' : 'tar';
    if (part.type !== expectedType || !['zstd', 'gzip', 'none', undefined].includes(part.compression)) {
      throw new Error(
        `${where} has a part ${part.name} of unknown type or compression; upgrade backup-action`,
      );
    }
    if (!Number.isSafeInteger(part.size) || part.size < 0 || !/^[0-9a-f]{64}$/.test(part.sha256)) {
      throw new Error(`${where} has an invalid size or sha256 for part ${part.name}`);
    }
  }
  return value;
}

function checkGit(value: GitManifest, where: string): void {
  if (typeof value.git?.refs !== 'object' || value.git.refs === null) {
    throw new Error(`${where} is incomplete (git.refs missing)`);
  }
  const head = value.git.head;
  if ((head !== null && !isRefName(head)) || typeof value.url !== 'string' || value.url.startsWith('-')) {
    throw new Error(`${where} has an invalid git.head or url`);
  }
  // Refs and object ids are handed to git and compared with the restored repository: refuse what git
  // could never have written rather than fail (or do something else) halfway through a restore.
  const objectFormat = value.git.objectFormat || 'sha1';
  const length = objectFormat === 'sha1' ? 40 : objectFormat === 'sha256' ? 64 : undefined;
  if (length === undefined) {
    throw new Error(`${where} has an unknown git.objectFormat ${quoted(value.git.objectFormat)}`);
  }
  for (const [ref, id] of Object.entries(value.git.refs as Record<string, unknown>)) {
    if (!isRefName(ref)) throw new Error(`${where} has an invalid ref name ${quoted(ref)}`);
    if (typeof id !== 'string' || id.length !== length || !/^[0-9a-f]+$/.test(id)) {
      throw new Error(`${where} has an invalid ${objectFormat} object id for ${quoted(ref)}: ${quoted(id)}`);
    }
  }
}

/** A value from a manifest, quoted (control characters escaped) and cut short, for an error message. */
export function quoted(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}

/**
 * A full ref name as `git check-ref-format` accepts it, under `refs/` (what `git for-each-ref` lists in
 * a mirror): no empty, `.`-leading or `.lock`-ending component, no `..`, `@{`, control characters,
 * space, `~ ^ : ? * [ \`, and no trailing `/` or `.`.
 */
export function isRefName(name: unknown): name is string {
  if (typeof name !== 'string' || !name.startsWith('refs/') || name.endsWith('.')) return false;
  // eslint-disable-next-line no-control-regex
  if (/\.\.|@\{|[\x00-\x20\x7f~^:?*[\\]/.test(name)) return false;
  return name
    .split('/')
    .every((component) => component !== '' && !component.startsWith('.') && !component.endsWith('.lock'));
}
