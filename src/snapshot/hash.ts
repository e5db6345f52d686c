import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';

/**
 * A pass-through that computes SHA-256 and size of what flows through it; with `limit`, it fails as
 * soon as more bytes come than expected (a hostile or broken store cannot fill the disk).
 */
export class HashingStream extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;

  constructor(private readonly limit = Infinity) {
    super();
  }

  override _transform(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null, data?: Buffer) => void,
  ) {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) return callback(new Error(`more than the expected ${this.limit} bytes`));
    this.hash.update(chunk);
    callback(null, chunk);
  }

  /** Valid once the stream has ended. */
  digest(): string {
    return this.hash.digest('hex');
  }
}
