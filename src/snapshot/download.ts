import { createWriteStream, existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { decryptStream, type DecryptWith } from '../crypto/age.js';
import { InputError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { SnapshotRef } from './catalog.js';
import { HashingStream } from './hash.js';
import { type Part, snapshotPrefix } from './manifest.js';

/** A restore goes into a new or empty folder, never over anything. */
export async function checkTarget(target: string): Promise<void> {
  if (!existsSync(target)) return;
  const stat = await fs.stat(target);
  if (!stat.isDirectory() || (await fs.readdir(target)).length > 0) {
    throw new InputError('target', `${target} is not an empty folder. Restore into a new or empty folder.`);
  }
}

/**
 * Downloads one part to `file`, checking its size and SHA-256 (and decrypting it when it is an age
 * file). The file is complete and proven only when this resolves.
 */
export async function downloadVerified(
  store: Store,
  snapshot: SnapshotRef,
  part: Part,
  file: string,
  keys?: DecryptWith,
): Promise<void> {
  if (part.encryption && !keys) {
    throw new InputError(
      'encryption-identity',
      `${snapshot.source} ${snapshot.id} is encrypted (age). Give encryption-identity (or encryption-passphrase) to read it.`,
    );
  }
  const hashing = new HashingStream(part.size);
  const corrupt = (found: string) =>
    new Error(
      `part ${part.name} of ${snapshot.source} ${snapshot.id} is corrupt: expected ${part.size} bytes with ` +
        `sha256 ${part.sha256}, ${found}`,
    );
  const key = `${snapshotPrefix(snapshot.kind, snapshot.source, snapshot.id)}${part.name}`;
  // The SHA-256 covers the stored (encrypted) bytes; decryption authenticates every chunk besides.
  const stages: NodeJS.ReadWriteStream[] = part.encryption ? [hashing, decryptStream(keys!)] : [hashing];
  try {
    await pipeline([await store.download(key), ...stages, createWriteStream(file)]);
  } catch (error) {
    if (hashing.bytes > part.size) throw corrupt(`read more than that`);
    throw error;
  }
  const sha256 = hashing.digest();
  if (hashing.bytes !== part.size || sha256 !== part.sha256) {
    throw corrupt(`read ${hashing.bytes} bytes with sha256 ${sha256}`);
  }
}
