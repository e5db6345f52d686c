import { createReadStream, existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { pipeline, type Readable, Writable } from 'node:stream';
import { pipeline as pipelinePromise } from 'node:stream/promises';
import { describeEncryption, encryptStream, type EncryptTo } from '../crypto/age.js';
import { HashingStream } from '../snapshot/hash.js';
import { DAMAGED_SUFFIX, type GitManifest, type Part, packPrefix } from '../snapshot/manifest.js';
import type { Store } from '../store/store.js';
import { errorMessage } from '../util/errors.js';
import { git } from './git.js';

/** A new snapshot starts a fresh pack set past this many packs (restore and verify stay quick). */
export const MAX_PACKS = 32;
/**
 * …or when more than this share of its packs' bytes is history no ref reaches any more (force-pushes,
 * deleted branches): a full pack then holds only what the refs need.
 */
export const MAX_DROPPED_SHARE = 0.5;

export interface PackBase {
  /** The pack and index parts of the snapshot the new one builds on. */
  parts: Part[];
  /** Its refs: objects they reach are in `parts` already. */
  refs: Record<string, string>;
  droppedBytes: number;
}

/**
 * The snapshot a new one can build on, or why it starts a fresh pack set (a full pack): no earlier
 * snapshot, a version 1 one (a bundle), other encryption, too many packs, too much history no ref
 * reaches any more, or packs of it missing from the store (`stored`) or noted as damaged.
 */
export function packBase(
  previous: GitManifest | undefined,
  stored: StoredPacks,
  encryptTo?: EncryptTo,
): { base?: PackBase; fresh?: string } {
  if (!previous) return { fresh: 'first snapshot' };
  if (previous.formatVersion < 2) return { fresh: 'the previous snapshot is a bundle (format 1)' };
  const parts = previous.parts;
  // Reused packs keep the encryption they were written with: a change starts afresh, so that every
  // pack of the new snapshot is readable with the new keys (and none is left unencrypted).
  const wanted = JSON.stringify(encryptTo ? describeEncryption(encryptTo) : null);
  if (parts.some((part) => JSON.stringify(part.encryption ?? null) !== wanted)) {
    return { fresh: 'the encryption changed' };
  }
  const packs = parts.filter((part) => part.type === 'git-pack');
  if (packs.length === 0) return { fresh: 'the previous snapshot has no pack' };
  if (packs.length >= MAX_PACKS) return { fresh: `the pack set reached ${MAX_PACKS} packs` };
  const bytes = packs.reduce((sum, part) => sum + part.size, 0);
  const dropped = previous.git.droppedBytes ?? 0;
  if (dropped > bytes * MAX_DROPPED_SHARE) {
    return { fresh: `${Math.round((dropped / bytes) * 100)}% of the pack set is history no ref reaches` };
  }
  if (!parts.every((part) => stored.soundSize(part.name) === part.size)) {
    return { fresh: "the previous snapshot's packs are not all in the store, or verify found one damaged" };
  }
  return { base: { parts, refs: previous.git.refs, droppedBytes: dropped } };
}

export interface NewPack {
  checksum: string;
  pack: string;
  index: string;
  objects: number;
}

/**
 * Writes one self-contained pack (no thin deltas) of the objects reachable from `refs` but not from
 * `exclude` into `folder`, with its index, computed from reachability (whatever packs the mirror has).
 * Undefined when there is no object to pack. Memory stays flat: git writes both files to disk.
 */
export async function writePack(
  mirror: string,
  refs: Record<string, string>,
  exclude: string[],
  folder: string,
): Promise<NewPack | undefined> {
  const wanted = [...new Set(Object.values(refs))];
  const input = [...wanted, ...exclude.map((id) => `^${id}`)].join('\n') + '\n';
  let checksum: string;
  try {
    checksum = (
      await git(['pack-objects', '--revs', '--quiet', '--delta-base-offset', path.join(folder, 'pack')], {
        cwd: mirror,
        input,
      })
    ).trim();
  } catch (error) {
    throw diskFull(error, path.dirname(folder)) ?? error;
  }
  const pack = path.join(folder, `pack-${checksum}.pack`);
  const index = path.join(folder, `pack-${checksum}.idx`);
  const objects = await packObjectCount(pack);
  if (objects === 0) {
    await Promise.all([fs.rm(pack, { force: true }), fs.rm(index, { force: true })]);
    return undefined;
  }
  return { checksum, pack, index, objects };
}

/**
 * The mirror's own pack when it is exactly what a full pack would be: one pack, no loose object, no
 * alternates, and as many objects as the refs reach (so it holds those and nothing else) — as after a
 * fresh clone. A first backup then uploads it as it is instead of writing the same pack again.
 */
export async function mirrorPack(mirror: string): Promise<NewPack | undefined> {
  if (existsSync(path.join(mirror, 'objects', 'info', 'alternates'))) return undefined;
  const stats = Object.fromEntries(
    (await git(['count-objects', '-v'], { cwd: mirror }))
      .split('\n')
      .map((line) => line.split(': '))
      .filter((pair) => pair.length === 2),
  );
  if (stats.count !== '0' || stats.packs !== '1') return undefined;
  const folder = path.join(mirror, 'objects', 'pack');
  const pack = (await fs.readdir(folder)).find((name) => /^pack-[0-9a-f]+\.pack$/.test(name));
  if (!pack) return undefined;
  const checksum = pack.slice('pack-'.length, -'.pack'.length);
  const index = path.join(folder, `pack-${checksum}.idx`);
  if (!existsSync(index)) return undefined;
  const objects = await packObjectCount(path.join(folder, pack));
  const reachable = Number(
    (await git(['rev-list', '--objects', '--all', '--count'], { cwd: mirror })).trim(),
  );
  if (objects === 0 || objects !== reachable) return undefined;
  return { checksum, pack: path.join(folder, pack), index, objects };
}

/** A pack that did not fit on the disk (or under a quota or file-size limit) says so, naming where. */
function diskFull(error: unknown, where: string): Error | undefined {
  const reasons: Array<[RegExp, string]> = [
    [/No space left on device/i, 'ENOSPC'],
    [/File too large|SIGXFSZ/i, 'EFBIG'],
    [/Disk quota exceeded/i, 'EDQUOT'],
  ];
  const code = reasons.find(([pattern]) => pattern.test(errorMessage(error)))?.[1];
  if (!code) return undefined;
  return new Error(
    `${where} is full (${code}): the new pack is written there before it is uploaded. Free space (or raise ` +
      'the limit, or give mirror-dir on a larger disk) and run again; no snapshot was written, earlier ones are intact.',
    { cause: error },
  );
}

/** The object count in a pack's header ("PACK", version, count). */
async function packObjectCount(file: string): Promise<number> {
  const handle = await fs.open(file, 'r');
  try {
    const header = Buffer.alloc(12);
    await handle.read(header, 0, 12, 0);
    if (header.toString('latin1', 0, 4) !== 'PACK') throw new Error(`${file} is not a git pack`);
    return header.readUInt32BE(8);
  } finally {
    await handle.close();
  }
}

/**
 * The previous refs' objects that the mirror still has: only those can be left out of the new pack
 * (an object the mirror lost, after a force-push and gc, is simply packed again).
 */
export async function presentObjects(mirror: string, ids: string[]): Promise<string[]> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return [];
  const output = await git(['cat-file', '--batch-check=%(objectname)'], {
    cwd: mirror,
    input: unique.join('\n') + '\n',
  });
  return output.split('\n').filter((line) => /^[0-9a-f]+$/.test(line));
}

/**
 * Bytes of the objects the previous refs reached that the new refs do not (a force-push, a deleted
 * branch): they stay in the pack set until it starts afresh. Estimated from the mirror's storage.
 */
export async function droppedBytes(mirror: string, previous: string[], current: string[]): Promise<number> {
  if (previous.length === 0) return 0;
  const input = [...previous, ...[...new Set(current)].map((id) => `^${id}`)].join('\n') + '\n';
  const output = await git(['rev-list', '--objects', '--disk-usage', '--stdin'], { cwd: mirror, input });
  return Number(output.trim()) || 0;
}

/**
 * Stores a pack and its index (encrypted when asked), hashing the stored bytes on the way. A sound
 * file already in the store is never overwritten when encrypted (a kept snapshot may
 * list those very bytes): it is read back to learn its SHA-256. A plaintext one holds the same bytes
 * (its name is git's checksum of them) and is hashed from the local copy; only a damaged one, of
 * another size, is written again.
 */
export async function storePack(
  store: Store,
  source: string,
  written: NewPack,
  stored: StoredPacks,
  encryptTo?: EncryptTo,
): Promise<Part[]> {
  return Promise.all(
    [
      { file: written.pack, type: 'git-pack' as const, extension: 'pack' },
      { file: written.index, type: 'git-pack-index' as const, extension: 'idx' },
    ].map(async ({ file, type, extension }) => {
      const name = `pack-${written.checksum}.${extension}${encryptTo ? '.age' : ''}`;
      const key = `${packPrefix(source)}${name}`;
      const part = {
        name,
        type,
        pack: written.checksum,
        ...(encryptTo ? { encryption: describeEncryption(encryptTo) } : {}),
      };
      // A file verify found damaged is written again (newer than its note, it counts as sound).
      const size = stored.soundSize(name);
      if (size !== undefined && encryptTo) return { ...part, ...(await hashed(await store.download(key))) };
      if (size !== undefined && size === (await fs.stat(file)).size) {
        return { ...part, ...(await hashed(createReadStream(file))) };
      }
      return { ...part, ...(await upload(store, key, file, encryptTo)), added: true };
    }),
  );
}

async function upload(
  store: Store,
  key: string,
  file: string,
  encryptTo?: EncryptTo,
): Promise<{ size: number; sha256: string }> {
  const hashing = new HashingStream();
  const input = createReadStream(file, { highWaterMark: 1024 * 1024 });
  // pipeline() destroys every stream on the first error, so a failing read aborts the upload.
  if (encryptTo) pipeline(input, encryptStream(encryptTo), hashing, () => {});
  else pipeline(input, hashing, () => {});
  try {
    await store.upload(key, hashing);
  } catch (error) {
    hashing.destroy();
    throw error;
  }
  return { size: hashing.bytes, sha256: hashing.digest() };
}

async function hashed(input: Readable): Promise<{ size: number; sha256: string }> {
  const hashing = new HashingStream();
  await pipelinePromise(input, hashing, new Writable({ write: (_chunk, _encoding, next) => next() }));
  return { size: hashing.bytes, sha256: hashing.digest() };
}

/** What the repository's pack folder holds (one listing), and which of its files verify found damaged. */
export class StoredPacks {
  private constructor(private readonly objects: Map<string, { size: number; modified: number }>) {}

  static async list(store: Store, source: string): Promise<StoredPacks> {
    const objects = new Map<string, { size: number; modified: number }>();
    for await (const object of store.list(packPrefix(source))) {
      const name = object.key.slice(object.key.lastIndexOf('/') + 1);
      objects.set(name, { size: object.size, modified: object.lastModified.getTime() });
    }
    return new StoredPacks(objects);
  }

  /** The size of a sound file; undefined when absent or damaged (noted since it was last written). */
  soundSize(name: string): number | undefined {
    const file = this.objects.get(name);
    const note = this.objects.get(`${name}${DAMAGED_SUFFIX}`);
    return file && !(note && note.modified >= file.modified) ? file.size : undefined;
  }
}
