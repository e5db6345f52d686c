import type { Readable } from 'node:stream';

export interface StoredObject {
  key: string;
  size: number;
  lastModified: Date;
}

/**
 * Where bytes live. Keys are relative to the store's root (the destination's prefix) and always use
 * `/`. The local-folder store and the S3 store hold exactly the same layout.
 */
export interface Store {
  /** The destination without secrets, for logs: `s3://bucket/prefix`, `/srv/backups`. */
  readonly location: string;
  /**
   * Fails with an InputError when the destination cannot be used (missing bucket, bad credentials...).
   * `create`: a local folder that does not exist yet is created (for writers); readers get an error.
   */
  check(options?: { create?: boolean }): Promise<void>;
  /** Streams `body` to `key`; the object appears only when complete. */
  upload(key: string, body: Readable): Promise<void>;
  /**
   * Writes a small object only if `key` does not exist yet; returns false if it did (true when it already
   * holds exactly `body`: a retried write of ours whose first answer was lost).
   */
  createExclusive(key: string, body: Buffer): Promise<boolean>;
  download(key: string): Promise<Readable>;
  /** Every object under `prefix` (a key prefix, usually ending in `/`). */
  list(prefix: string): AsyncIterable<StoredObject>;
  delete(keys: string[]): Promise<void>;
}

/** Reads a small object whole; more than `limit` bytes is an error, not an out-of-memory crash. */
export async function readAll(stream: Readable, limit = Infinity): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      stream.destroy();
      throw new Error(`more than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
