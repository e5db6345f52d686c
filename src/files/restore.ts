import { createReadStream, existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Parser, type ReadEntry, Unpack } from 'tar';
import type { DecryptWith } from '../crypto/age.js';
import { readManifest, type SnapshotRef } from '../snapshot/catalog.js';
import { checkTarget, createFolders, downloadVerified } from '../snapshot/download.js';
import type { FilesManifest } from '../snapshot/manifest.js';
import type { Store } from '../store/store.js';
import { type Compression, decompressor, PART_NAMES, zstdAvailable } from './backup.js';

export interface RestoredEntry {
  /** Relative to the target, with `/`. */
  path: string;
  /** A hard link is a `file` (with its file's size), marked `hardlink`. */
  type: 'file' | 'directory' | 'symlink';
  size: number;
  hardlink: boolean;
}

export interface RestoreFilesOptions {
  /** Download, verify and check the archive, and list what would be written; write nothing. */
  dryRun?: boolean;
  /** Keys for an encrypted (age) snapshot. */
  keys?: DecryptWith;
}

export interface RestoreFilesResult {
  manifest: FilesManifest;
  target: string;
  entries: RestoredEntry[];
}

/** What the checking pass keeps of each entry for the finishing touches. */
interface ArchiveEntry extends RestoredEntry {
  mode?: number;
  mtime?: Date;
  linkpath?: string;
  hardlink: boolean;
}

/** Permissions and the sticky bit; never set-user-id or set-group-id. */
const MODE_BITS = 0o1777;

/**
 * Restores a file snapshot into `target` (new or empty), in three steps, none of which lets a hostile
 * or broken store write outside the target:
 *
 * 1. Download the archive to a file in a staging folder and check its size and SHA-256. Only then is
 *    it decompressed and parsed: the hash is known only once the last byte has arrived, and extracting
 *    while downloading would hand unverified bytes to the decompressor and to tar.
 * 2. Read the whole listing and refuse the snapshot, naming the entry, if any entry is absolute, goes
 *    up with `..`, lies inside a symbolic link, is a hard link to anything but an earlier file, or is
 *    another kind (device, FIFO...). A dry run stops here.
 * 3. Extract into the staging folder (node-tar, with its own path checks), create the symbolic links
 *    last (so nothing is ever written through one), set modes and folder times, and rename the tree
 *    into place.
 *
 * Symbolic links are restored as they were, also those pointing outside the tree (like tar does).
 */
export async function restoreFiles(
  store: Store,
  snapshot: SnapshotRef,
  target: string,
  options: RestoreFilesOptions = {},
): Promise<RestoreFilesResult> {
  const manifest = await readManifest(store, snapshot);
  const where = `${snapshot.source} ${snapshot.id}`;
  if (manifest.kind !== 'files') throw new Error(`${where} is not a file snapshot`);
  const [part] = manifest.parts;
  if (manifest.parts.length !== 1 || part.type !== 'tar') {
    throw new Error(`${where} does not hold exactly one tar part; this version cannot restore it`);
  }
  const compression: Compression = part.compression ?? 'none';
  if (!Object.hasOwn(PART_NAMES, compression)) {
    throw new Error(`${where} is compressed with ${compression}; this version cannot restore it`);
  }
  if (compression === 'zstd' && !zstdAvailable()) {
    throw new Error(
      `${where} is compressed with zstd: restoring it needs Node.js 22.15 or later, or the zstd command`,
    );
  }
  target = path.resolve(target);
  await checkTarget(target);

  // Beside the target, the final rename is atomic and space is used where the files will be. A dry run
  // stages in the temporary folder: it writes nothing near the target.
  const parent = options.dryRun ? os.tmpdir() : path.dirname(target);
  // The folders created on the way to the target are removed again if the restore fails.
  const removeCreatedFolders = await createFolders(parent);
  let staging: string;
  try {
    staging = await fs.mkdtemp(path.join(parent, '.restore-'));
  } catch (error) {
    await removeCreatedFolders();
    throw error;
  }
  let restored = false;
  try {
    const archive = path.join(staging, part.name);
    await downloadVerified(store, snapshot, part, archive, options.keys);
    const entries = await listArchive(archive, compression);
    if (entries.length !== manifest.files.count) {
      throw new Error(`${where} holds ${entries.length} entries; its manifest says ${manifest.files.count}`);
    }
    if (!options.dryRun) {
      const tree = path.join(staging, 'files');
      await fs.mkdir(tree);
      await extractArchive(archive, compression, tree);
      await finishTree(tree, entries);
      // rmdir, not rm -r: if anything was written into the target meanwhile, fail rather than delete it.
      if (existsSync(target)) await fs.rmdir(target);
      await fs.rename(tree, target);
    }
    restored = true;
    return {
      manifest,
      target,
      entries: entries.map(({ path, type, size, hardlink }) => ({ path, type, size, hardlink })),
    };
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
    if (!restored) await removeCreatedFolders();
  }
}

/** The checking pass: every entry, or an error naming the first unsafe one. */
async function listArchive(file: string, compression: Compression): Promise<ArchiveEntry[]> {
  const entries: ArchiveEntry[] = [];
  const byPath = new Map<string, ArchiveEntry>();
  const parser = new Parser({
    strict: true,
    onReadEntry: (entry) => {
      try {
        const checked = checkEntry(entry, byPath);
        entries.push(checked);
        byPath.set(checked.path, checked);
      } catch (error) {
        parser.abort(error as Error);
      }
      entry.resume();
    },
  });
  await pipeline([createReadStream(file), ...decompressor(compression), parser]);
  // Links may come after what lies inside them, so this needs the whole listing.
  for (const entry of entries) {
    const link = ancestors(entry.path).find((folder) => byPath.get(folder)?.type === 'symlink');
    if (link !== undefined) throw unsafe(entry.path, `lies inside the symbolic link "${link}"`);
  }
  return entries;
}

function checkEntry(entry: ReadEntry, seen: Map<string, ArchiveEntry>): ArchiveEntry {
  const problem = pathProblem(entry.path);
  if (problem) throw unsafe(entry.path, problem);
  const name = normalize(entry.path);
  if (seen.has(name)) throw unsafe(entry.path, 'appears twice');
  const base = { path: name, size: 0, mode: entry.mode, mtime: entry.mtime, hardlink: false };
  switch (entry.type) {
    case 'File':
    case 'OldFile':
    case 'ContiguousFile':
      return { ...base, type: 'file', size: entry.size };
    case 'Directory':
      return { ...base, type: 'directory' };
    case 'SymbolicLink':
      if (!entry.linkpath) throw unsafe(entry.path, 'is a symbolic link to nothing');
      return { ...base, type: 'symlink', linkpath: entry.linkpath };
    case 'Link': {
      const linkpath = entry.linkpath ?? '';
      // Only to a file this archive wrote before: never outside, never to a folder or symbolic link.
      const linked = pathProblem(linkpath) ? undefined : seen.get(normalize(linkpath));
      if (linked?.type !== 'file') {
        throw unsafe(
          entry.path,
          `is a hard link to "${linkpath}", which is not a file earlier in the archive`,
        );
      }
      return { ...base, type: 'file', size: linked.size, hardlink: true };
    }
    default:
      throw unsafe(entry.path, `is a ${entry.type} entry; only files, folders and links are restored`);
  }
}

/** Why an archive path may not be written below the target, if it may not. */
function pathProblem(raw: string): string | undefined {
  if (/^([\\/]|[A-Za-z]:)/.test(raw)) return 'is an absolute path';
  // Both separators: node-tar reads `\` as one on Windows.
  if (raw.split(/[\\/]/).includes('..')) return 'goes up with ".."';
  if (normalize(raw) === '') return 'is the target folder itself';
  return undefined;
}

function normalize(raw: string): string {
  return raw
    .split('/')
    .filter((part) => part !== '' && part !== '.')
    .join('/');
}

function ancestors(entryPath: string): string[] {
  const parts = entryPath.split('/');
  return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

function unsafe(entryPath: string, problem: string): Error {
  return new Error(`unsafe archive entry "${entryPath}": it ${problem}. Nothing was restored.`);
}

async function extractArchive(file: string, compression: Compression, tree: string): Promise<void> {
  const unpack = new Unpack({
    cwd: tree,
    strict: true,
    preserveOwner: false, // never take owners from the archive, even as root
    // Symbolic links are made by finishTree, after everything else.
    filter: (_, entry) => (entry as ReadEntry).type !== 'SymbolicLink',
  });
  await pipeline([createReadStream(file), ...decompressor(compression), unpack]);
}

/**
 * Creates the symbolic links, then gives files and folders their modes (the process umask applied on
 * creation) and folders their times (writing their contents changed them), deepest first.
 */
async function finishTree(tree: string, entries: ArchiveEntry[]): Promise<void> {
  const at = (entry: ArchiveEntry) => path.join(tree, ...entry.path.split('/'));
  for (const link of entries.filter((entry) => entry.type === 'symlink')) {
    await fs.mkdir(path.dirname(at(link)), { recursive: true });
    await fs.symlink(link.linkpath!, at(link));
  }
  for (const file of entries.filter((entry) => entry.type === 'file' && !entry.hardlink)) {
    if (file.mode !== undefined) await fs.chmod(at(file), file.mode & MODE_BITS);
  }
  const folders = entries.filter((entry) => entry.type === 'directory');
  for (const folder of folders.sort((a, b) => b.path.length - a.path.length)) {
    if (folder.mode !== undefined) await fs.chmod(at(folder), folder.mode & MODE_BITS);
    if (folder.mtime) await fs.utimes(at(folder), folder.mtime, folder.mtime);
  }
}
