import { randomBytes } from 'node:crypto';
import type { EncryptionDescription } from '../crypto/age.js';

/**
 * Bumped when the layout or manifest changes incompatibly; readers refuse newer versions. Version 2:
 * a repository snapshot is a set of packs shared with other snapshots (docs/FORMAT.md); file snapshots
 * are still written as version 1, and version 1 repository snapshots (one bundle) stay readable.
 */
export const NEWEST_FORMAT_VERSION = 2;
/** Repository snapshots as one bundle (written up to 0.1; read, verified, restored and pruned still). */
export const BUNDLE_FORMAT_VERSION = 1;
/** Repository snapshots as a set of shared packs. */
export const PACKS_FORMAT_VERSION = 2;
/** File snapshots (their layout did not change in version 2). */
export const FILES_FORMAT_VERSION = 1;
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

/** Parts of a version 2 repository snapshot: git packs and their indexes, shared by snapshots. */
export const PACK_TYPES = ['git-pack', 'git-pack-index'] as const;
export type PackType = (typeof PACK_TYPES)[number];

export interface Part {
  /**
   * File name: inside the snapshot's folder, or (packs) inside the repository's pack folder
   * `packs/git/<source>/`, as `pack-<checksum>.pack` / `.idx` (+ `.age` when encrypted).
   */
  name: string;
  /**
   * `git-bundle` (a `git bundle` v2/v3 file of every ref; version 1), `tar` (a POSIX tar of the files),
   * `git-pack` / `git-pack-index` (a self-contained git pack and its index; version 2).
   */
  type: 'git-bundle' | 'tar' | PackType;
  /** Packs: git's checksum of the plaintext pack (the `<checksum>` of its name). */
  pack?: string;
  /** Packs: true when this snapshot uploaded it (the bytes it added); absent when it reuses it. */
  added?: boolean;
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
    /**
     * Version 2: bytes of history in the pack set that no ref reaches any more (force-pushes, deleted
     * branches), estimated when it was dropped; a large share starts a fresh pack set.
     */
    droppedBytes?: number;
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

/** Where every repository's packs are stored: one folder per repository below it. */
export const PACKS_ROOT = 'packs/git/';

/** Where a repository's packs are stored, shared by its snapshots: `packs/git/<source>/`. */
export function packPrefix(source: string): string {
  return `${PACKS_ROOT}${source}/`;
}

export function isPackPart(part: Pick<Part, 'type'>): boolean {
  return (PACK_TYPES as readonly string[]).includes(part.type);
}

/** The key of a part: in its snapshot's folder, or in the repository's pack folder. */
export function partKey(snapshot: { kind: SnapshotKind; source: string; id: string }, part: Part): string {
  return isPackPart(part)
    ? `${packPrefix(snapshot.source)}${part.name}`
    : `${snapshotPrefix(snapshot.kind, snapshot.source, snapshot.id)}${part.name}`;
}

/**
 * Beside a pack file whose stored bytes verify found damaged (same size, other SHA-256): a small
 * create-only note, so that the next backup starts a fresh pack set instead of reusing it.
 */
export const DAMAGED_SUFFIX = '.damaged';

/** `pack-<checksum>.pack`, `.idx`, with `.age` when encrypted: what a pack part may be called. */
export const PACK_NAME = /^pack-([0-9a-f]{40}|[0-9a-f]{64})\.(pack|idx)(\.age)?$/;

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
  if (value.formatVersion > NEWEST_FORMAT_VERSION) {
    throw new Error(
      `${where} has format version ${value.formatVersion}; this version reads up to ${NEWEST_FORMAT_VERSION}. Upgrade backup-action.`,
    );
  }
  if (!SNAPSHOT_ID.test(value.id) || !SNAPSHOT_KINDS.includes(value.kind) || !Array.isArray(value.parts)) {
    throw new Error(`${where} is incomplete (id, kind or parts missing)`);
  }
  if (value.kind === 'git') checkGit(value, where);
  else if (!Number.isSafeInteger(value.files?.count) || !Number.isSafeInteger(value.files?.bytes)) {
    throw new Error(`${where} is incomplete (files.count or files.bytes missing)`);
  }
  const names = new Set<string>();
  for (const part of value.parts as unknown[] as Array<Part | null>) {
    // A part that is not an object, or a name that is not a string (["repo.bundle"] and 123 pass the
    // pattern once turned into text), used to fail later with a TypeError naming no snapshot.
    if (typeof part !== 'object' || part === null || typeof part.name !== 'string') {
      throw new Error(`${where} has a part that is not {name, type, size, sha256}`);
    }
    if (!/^[A-Za-z0-9._-]+$/.test(part.name) || part.name.startsWith('.')) {
      throw new Error(`${where} names an unsafe part ${quoted(part.name)}`);
    }
    if (names.has(part.name)) throw new Error(`${where} lists the part ${quoted(part.name)} twice`);
    names.add(part.name);
    const expectedTypes: string[] =
      value.kind === 'files' ? ['tar'] : value.formatVersion >= 2 ? [...PACK_TYPES] : ['git-bundle'];
    if (
      !expectedTypes.includes(part.type) ||
      !['zstd', 'gzip', 'none', undefined].includes(part.compression)
    ) {
      throw new Error(
        `${where} has a part ${part.name} of unknown type or compression; upgrade backup-action`,
      );
    }
    if (!Number.isSafeInteger(part.size) || part.size < 0 || !/^[0-9a-f]{64}$/.test(part.sha256)) {
      throw new Error(`${where} has an invalid size or sha256 for part ${part.name}`);
    }
    if (isPackPart(part)) checkPackPart(part, where);
  }
  if (value.kind === 'git' && value.formatVersion >= 2) checkPackPairs(value.parts, where);
  return value;
}

/** A pack part's name says what it is: `pack-<its checksum>.pack|idx`, `.age` exactly when encrypted. */
function checkPackPart(part: Part, where: string): void {
  const match = PACK_NAME.exec(part.name);
  const extension = part.type === 'git-pack' ? 'pack' : 'idx';
  if (
    !match ||
    match[1] !== part.pack ||
    match[2] !== extension ||
    Boolean(match[3]) !== Boolean(part.encryption)
  ) {
    throw new Error(
      `${where} has a pack part ${quoted(part.name)} whose name does not match its type, checksum or encryption`,
    );
  }
}

/** Every pack comes with its index and the other way round: git can read neither alone. */
function checkPackPairs(parts: Part[], where: string): void {
  const packs = new Set(parts.filter((p) => p.type === 'git-pack').map((p) => p.pack));
  const indexes = new Set(parts.filter((p) => p.type === 'git-pack-index').map((p) => p.pack));
  const unpaired = [...packs]
    .filter((p) => !indexes.has(p))
    .concat([...indexes].filter((p) => !packs.has(p)));
  if (unpaired.length > 0)
    throw new Error(`${where} lists pack ${quoted(unpaired[0])} without its pair (.pack and .idx)`);
}

function checkGit(value: GitManifest, where: string): void {
  if (typeof value.git?.refs !== 'object' || value.git.refs === null) {
    throw new Error(`${where} is incomplete (git.refs missing)`);
  }
  const dropped = value.git.droppedBytes;
  if (dropped !== undefined && (!Number.isSafeInteger(dropped) || dropped < 0)) {
    throw new Error(`${where} has an invalid git.droppedBytes ${quoted(dropped)}`);
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
