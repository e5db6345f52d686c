import { createWriteStream, existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { decryptStream, type DecryptWith, type EncryptionDescription } from '../crypto/age.js';
import { errorMessage, InputError } from '../util/errors.js';
import type { Store } from '../store/store.js';
import type { SnapshotRef } from './catalog.js';
import { HashingStream } from './hash.js';
import { type Part, partKey } from './manifest.js';

/** A restore goes into a new or empty folder, never over anything. */
export async function checkTarget(target: string): Promise<void> {
  if (!existsSync(target)) return;
  const stat = await fs.stat(target);
  if (!stat.isDirectory() || (await fs.readdir(target)).length > 0) {
    throw new InputError('target', `${target} is not an empty folder. Restore into a new or empty folder.`);
  }
}

/**
 * Creates `folder` and its missing parents, and returns what undoes that: it removes the folders this
 * created, deepest first, while they are empty. A failed restore leaves nothing behind, not even the
 * folders on the way to its target.
 */
export async function createFolders(folder: string): Promise<() => Promise<void>> {
  const first = await fs.mkdir(folder, { recursive: true });
  return async () => {
    if (first === undefined) return;
    for (let dir = folder; ; dir = path.dirname(dir)) {
      try {
        await fs.rmdir(dir);
      } catch {
        return; // something else was written there meanwhile: keep it
      }
      if (dir === first || path.dirname(dir) === dir) return;
    }
  };
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
  if (part.encryption) checkKeys(snapshot, part.encryption, keys);
  const hashing = new HashingStream(part.size);
  const corrupt = (found: string) =>
    new Error(
      `part ${part.name} of ${snapshot.source} ${snapshot.id} is corrupt: expected ${part.size} bytes with ` +
        `sha256 ${part.sha256}, ${found}`,
    );
  const key = partKey(snapshot, part);
  // The SHA-256 covers the stored (encrypted) bytes; decryption authenticates every chunk besides.
  const stages: NodeJS.ReadWriteStream[] = part.encryption ? [hashing, decryptStream(keys!)] : [hashing];
  try {
    await pipeline([await store.download(key), ...stages, createWriteStream(file)]);
  } catch (error) {
    if (hashing.bytes > part.size) throw corrupt(`read more than that`);
    const message = errorMessage(error);
    if (/no identity matched/.test(message)) {
      throw new InputError(
        part.encryption && 'passphrase' in part.encryption ? 'encryption-passphrase' : 'encryption-identity',
        `does not decrypt ${snapshot.source} ${snapshot.id} (${message}). Give the key it was encrypted for.`,
      );
    }
    if (/cannot decrypt/.test(message)) throw corrupt(message);
    throw error;
  }
  const sha256 = hashing.digest();
  if (hashing.bytes !== part.size || sha256 !== part.sha256) {
    throw corrupt(`read ${hashing.bytes} bytes with sha256 ${sha256}`);
  }
}

/** Says which key is missing before anything is downloaded: a passphrase, or an identity. */
function checkKeys(snapshot: SnapshotRef, encryption: EncryptionDescription, keys?: DecryptWith): void {
  const what = `${snapshot.source} ${snapshot.id}`;
  if ('passphrase' in encryption) {
    if (!keys?.passphrase) {
      throw new InputError(
        'encryption-passphrase',
        `${what} is encrypted with a passphrase (age). Give it to read the snapshot.`,
      );
    }
  } else if (!keys?.identities.length) {
    throw new InputError(
      'encryption-identity',
      `${what} is encrypted (age) to ${encryption.recipients.join(', ')}. Give the matching identity to read it.`,
    );
  }
}
