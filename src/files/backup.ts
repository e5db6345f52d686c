import { spawn, spawnSync } from 'node:child_process';
import { Duplex, PassThrough, pipeline, Readable, type Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import { Pack, type WriteEntry } from 'tar';
import * as log from '../log/log.js';
import { idTime, listSnapshots } from '../snapshot/catalog.js';
import { describeEncryption, encryptStream, type EncryptTo } from '../crypto/age.js';
import { HashingStream } from '../snapshot/hash.js';
import {
  FILES_FORMAT_VERSION,
  type FilesManifest,
  MANIFEST_NAME,
  newSnapshotId,
  type Part,
  snapshotPrefix,
} from '../snapshot/manifest.js';
import type { Store } from '../store/store.js';
import { TOOL } from '../util/version.js';
import { selectEntries, type Selection } from './select.js';

export type Compression = 'zstd' | 'gzip' | 'none';

export interface FilesSnapshotSettings {
  /** The snapshot series (retention unit): stored under `files/<name>/`. */
  name: string;
  /** The `path` input as given: one glob per line. */
  patterns: string;
  /** Patterns and archive paths are relative to this folder. */
  baseDir: string;
  compression: Compression;
  tags: string[];
  /** Encrypt the archive (age) to these recipients or this passphrase. */
  encryptTo?: EncryptTo;
}

export interface FilesSnapshotOptions {
  now?: () => Date;
}

export interface FilesSnapshotResult {
  snapshotId: string;
  /** Bytes stored by this run: the archive after compression, and the manifest. */
  bytes: number;
  /** Entries archived (files, folders, links). */
  files: number;
  /** Sum of the archived files' sizes. */
  sourceBytes: number;
}

export const PART_NAMES: Record<Compression, string> = {
  zstd: 'files.tar.zst',
  gzip: 'files.tar.gz',
  none: 'files.tar',
};

/**
 * Archives the selected files as one streamed tar (compressed, hashed and uploaded on the fly: memory
 * stays flat whatever the size), then writes the manifest, last and never over an existing one.
 */
export async function snapshotFiles(
  store: Store,
  settings: FilesSnapshotSettings,
  options: FilesSnapshotOptions = {},
): Promise<FilesSnapshotResult> {
  const selection = await selectEntries(settings.patterns, settings.baseDir);
  // Ids sort by time: never give a new snapshot a time at or before the newest one's (clock skew).
  const newest = (await listSnapshots(store, 'files', settings.name))[0];
  const clock = (options.now ?? (() => new Date()))().getTime();
  const now = new Date(newest ? Math.max(clock, idTime(newest.id) + 1) : clock);
  const id = newSnapshotId(now);
  const folder = snapshotPrefix('files', settings.name, id);
  const { part, count, sourceBytes } = await uploadArchive(
    store,
    `${folder}${PART_NAMES[settings.compression]}${settings.encryptTo ? '.age' : ''}`,
    settings,
    selection,
  );

  const manifest: FilesManifest = {
    format: 'backup-action-snapshot',
    formatVersion: FILES_FORMAT_VERSION,
    id,
    kind: 'files',
    source: settings.name,
    createdAt: now.toISOString(),
    tool: TOOL,
    tags: settings.tags,
    files: { count, bytes: sourceBytes },
    parts: [part],
    size: part.size,
  };
  const body = Buffer.from(JSON.stringify(manifest, null, 2) + '\n');
  if (!(await store.createExclusive(`${folder}${MANIFEST_NAME}`, body))) {
    throw new Error(`snapshot ${id} already has a manifest; refusing to overwrite it`);
  }
  log.info(
    `files ${settings.name}: snapshot ${id} written, ${count} entries, ${sourceBytes} bytes stored in ${part.size}`,
  );
  return { snapshotId: id, bytes: part.size + body.length, files: count, sourceBytes };
}

/**
 * tar's many small chunks (a 512-byte header, then a small file) joined into writes of up to 1 MiB:
 * per-chunk costs downstream (hashing, compression, file or multipart writes) made 50,000 small files
 * slow.
 */
async function* batched(source: AsyncIterable<Buffer>, size = 1024 * 1024): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let length = 0;
  for await (const chunk of source) {
    // Never more than `size` in one write (unless one chunk is larger): memory stays bounded.
    if (length > 0 && length + chunk.length > size) {
      yield Buffer.concat(pending, length);
      pending = [];
      length = 0;
    }
    pending.push(chunk);
    length += chunk.length;
  }
  if (length > 0) yield Buffer.concat(pending, length);
}

/** tar → compression → SHA-256 and size → store, as one stream; counts what it archives. */
async function uploadArchive(
  store: Store,
  key: string,
  settings: FilesSnapshotSettings,
  selection: Selection,
): Promise<{ part: Part; count: number; sourceBytes: number }> {
  let count = 0;
  let sourceBytes = 0;
  const pack = new Pack({
    cwd: settings.baseDir, // absolute: node-tar only finds hard links below an absolute cwd
    noDirRecurse: true, // the selection lists every entry, so excluded contents stay out
    strict: true, // a file that vanishes or shrinks meanwhile fails the snapshot
    maxReadSize: 1024 * 1024,
    // 8 files open at a time: one at a time, per-file latency dominates (50,000 small files took 2.7×
    // as long). But one at a time when hard links are selected: with parallel jobs node-tar 7 can then
    // write a hard link after the archive ended ("write after end", thrown outside any stream: it
    // crashed the process; reproduced 1 in ~3).
    jobs: selection.hardLinked ? 1 : 8,
    onWriteEntry: (entry) => {
      count++;
      if (entry.type === 'File') sourceBytes += entry.stat?.size ?? 0;
      dropOwnership(entry);
    },
  });
  const hashing = new HashingStream();
  // pipeline() destroys every stream on the first error, so a failing read aborts the upload.
  pipeline(
    [
      Readable.from(batched(pack), { objectMode: false }),
      ...compressor(settings.compression),
      ...(settings.encryptTo ? [encryptStream(settings.encryptTo)] : []),
      hashing,
    ],
    () => {},
  );
  // Pack.add, not tar.create: create() would read a path starting with "@" as an archive to append.
  for (const entry of selection.entries) pack.add(entry);
  pack.end();
  try {
    await store.upload(key, hashing);
  } catch (error) {
    hashing.destroy();
    throw error;
  }
  const part: Part = {
    name: key.slice(key.lastIndexOf('/') + 1),
    type: 'tar',
    compression: settings.compression,
    size: hashing.bytes,
    sha256: hashing.digest(),
    ...(settings.encryptTo ? { encryption: describeEncryption(settings.encryptTo) } : {}),
  };
  return { part, count, sourceBytes };
}

/**
 * What node-tar's `portable` mode drops (owner ids and name, access and change times), without its
 * other effects: `portable` also rewrites modes (0o664 becomes 0o644) and drops folders' mtimes.
 */
function dropOwnership(entry: WriteEntry): void {
  entry.myuser = '';
  if (!entry.stat) return;
  Object.assign(entry.stat, { uid: undefined, gid: undefined, atime: undefined, ctime: undefined });
}

type ZstdFactory = () => Transform;

/** zstd in zlib: Node.js ≥ 22.15 / 23.8, so the Actions runtime (Node 24); @types/node 20 lacks it. */
function zlibZstd(): { compress: ZstdFactory; decompress: ZstdFactory } | undefined {
  const z = zlib as unknown as { createZstdCompress?: ZstdFactory; createZstdDecompress?: ZstdFactory };
  if (!z.createZstdCompress || !z.createZstdDecompress) return undefined;
  return { compress: z.createZstdCompress, decompress: z.createZstdDecompress };
}

/** zstd when this Node.js has it built in, else gzip (no command to find at run time). */
export function defaultCompression(): Compression {
  return zlibZstd() ? 'zstd' : 'gzip';
}

/** In zlib, or else through the `zstd` command (so that older Node.js can read what Node 24 wrote). */
export function zstdAvailable(): boolean {
  return !!zlibZstd() || spawnSync('zstd', ['--version'], { stdio: 'ignore', env: process.env }).status === 0;
}

/** The streams that compress (none for `none`). */
function compressor(compression: Compression): Duplex[] {
  if (compression === 'gzip') return [zlib.createGzip()];
  if (compression === 'zstd') return [zlibZstd()?.compress() ?? zstdCommand(['-c'])];
  return [];
}

export function decompressor(compression: Compression): Duplex[] {
  if (compression === 'gzip') return [zlib.createGunzip()];
  if (compression === 'zstd') return [zlibZstd()?.decompress() ?? zstdCommand(['-d', '-c'])];
  return [];
}

/**
 * The `zstd` command as a stream. Its output ends only once it has exited successfully, so a failing
 * zstd can never pass for a shorter archive.
 */
function zstdCommand(args: string[]): Duplex {
  const child = spawn('zstd', ['-q', ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: process.env });
  const output = new PassThrough();
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < 4096) stderr += chunk.toString();
  });
  child.stdout.pipe(output, { end: false });
  child.on('error', (error) => output.destroy(error));
  child.on('close', (code) => {
    if (code === 0) output.end();
    else output.destroy(new Error(`zstd failed (exit code ${code}): ${stderr.trim()}`));
  });
  const duplex = Duplex.from({ writable: child.stdin, readable: output });
  duplex.on('close', () => child.kill());
  return duplex;
}
