import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InputError } from '../util/errors.js';
import type { Store, StoredObject } from './store.js';

/** Files being written carry this suffix until they are renamed into place; listing ignores them. */
const TEMP_SUFFIX = '.partial';

/** A folder on disk with the same key layout as a bucket. */
export class LocalStore implements Store {
  readonly location: string;

  private readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.location = this.root;
  }

  async check({ create = false } = {}): Promise<void> {
    if (!create && !existsSync(this.root)) {
      throw new InputError('destination', `the folder ${this.root} does not exist. Check the path.`);
    }
    try {
      await fs.mkdir(this.root, { recursive: true });
      await fs.access(this.root, fs.constants.W_OK);
    } catch (error) {
      throw new InputError(
        'destination',
        `the folder ${this.root} cannot be created or written (${(error as NodeJS.ErrnoException).code}). ` +
          'Give a writable folder, or an s3:// or r2:// URL.',
      );
    }
  }

  async upload(key: string, body: Readable): Promise<void> {
    const file = this.pathOf(key);
    const temp = tempName(file);
    try {
      await fs.mkdir(path.dirname(file), { recursive: true });
      await pipeline(body, createWriteStream(temp, { flags: 'wx' }));
      await syncToDisk(temp);
      await fs.rename(temp, file);
    } catch (error) {
      await fs.rm(temp, { force: true });
      throw this.explain(error, key);
    }
  }

  /** A full disk (or quota, or file-size limit) says so; earlier snapshots are never touched by it. */
  private explain(error: unknown, key: string): unknown {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOSPC' && code !== 'EDQUOT' && code !== 'EFBIG') return error;
    return new Error(
      `${this.location} is full (${code}): ${key} could not be written. Free space (or raise the limit) ` +
        'and run again; no snapshot was written (prune removes its parts later), earlier ones are intact.',
    );
  }

  async createExclusive(key: string, body: Buffer): Promise<boolean> {
    const file = this.pathOf(key);
    const temp = tempName(file);
    try {
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(temp, body, { flag: 'wx' });
      await syncToDisk(temp);
      // link() fails with EEXIST instead of replacing: an atomic "create if absent" with full content.
      await fs.link(temp, file);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw this.explain(error, key);
    } finally {
      await fs.rm(temp, { force: true });
    }
  }

  async download(key: string): Promise<Readable> {
    const stream = createReadStream(this.pathOf(key));
    // Surface "missing" now rather than on the first read.
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
    return stream;
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    // Walk only the folder the prefix names, so listing one repository stays cheap.
    const slash = prefix.lastIndexOf('/');
    const folder = this.pathOf(prefix.slice(0, slash + 1));
    // Temporary files are listed too: one left by a killed run is an orphan for prune to collect.
    for (const file of await walk(folder)) {
      const key = path.relative(this.root, file).split(path.sep).join('/');
      if (!key.startsWith(prefix)) continue;
      const stat = await fs.stat(file);
      yield { key, size: stat.size, lastModified: stat.mtime };
    }
  }

  async delete(keys: string[]): Promise<void> {
    for (const key of keys) {
      const file = this.pathOf(key);
      await fs.rm(file, { force: true });
      await this.removeEmptyFolders(path.dirname(file));
    }
  }

  /** A pruned snapshot leaves no empty folders behind (a bucket has no folders to leave). */
  private async removeEmptyFolders(folder: string): Promise<void> {
    for (
      let dir = folder;
      dir !== this.root && dir.startsWith(this.root + path.sep);
      dir = path.dirname(dir)
    ) {
      try {
        await fs.rmdir(dir);
      } catch {
        return; // not empty (or already gone): stop climbing
      }
    }
  }

  private pathOf(key: string): string {
    const resolved = path.resolve(this.root, ...key.split('/'));
    if (resolved !== this.root && !resolved.startsWith(this.root + path.sep)) {
      throw new Error(`refusing key outside the store: ${key}`);
    }
    return resolved;
  }
}

/**
 * Parts reach the disk before their manifest is linked: after a power loss, a manifest must never
 * stand beside a truncated part.
 */
async function syncToDisk(file: string): Promise<void> {
  const handle = await fs.open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function tempName(file: string): string {
  return `${file}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`;
}

async function walk(folder: string): Promise<string[]> {
  let entries;
  try {
    entries = await fs.readdir(folder, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(full)));
    else if (entry.isFile()) files.push(full);
  }
  return files;
}
