// Encryption throughput: plaintext → age (X25519 recipient) → sink, and back, streamed.
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decryptStream, encryptStream } from '../src/crypto/age.js';

const CHUNK = 1024 * 1024;

/** `mib` MiB of random data, one 1 MiB buffer repeated (generating it is not what is measured). */
function source(mib: number): Readable {
  const block = randomBytes(CHUNK);
  let left = mib;
  return new Readable({
    read() {
      this.push(left-- > 0 ? block : null);
    },
  });
}

export async function benchCrypto({ mib = 512 } = {}): Promise<{ encryptMBps: number; decryptMBps: number }> {
  const identity = await generateIdentity();
  const recipient = await identityToRecipient(identity);
  const ciphertext: Buffer[] = [];
  let started = performance.now();
  await pipeline(
    source(mib),
    encryptStream({ recipients: [recipient] }),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        // Keep a sample only: holding 512 MiB would measure the allocator.
        if (ciphertext.length < 64) ciphertext.push(chunk);
        done();
      },
    }),
  );
  const encryptSeconds = (performance.now() - started) / 1000;

  // Decrypt a real ciphertext of the same size: encrypt to a file-like buffer list once, then replay it.
  const whole: Buffer[] = [];
  await pipeline(
    source(mib),
    encryptStream({ recipients: [recipient] }),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        whole.push(chunk);
        done();
      },
    }),
  );
  started = performance.now();
  await pipeline(
    Readable.from(whole),
    decryptStream({ identities: [identity] }),
    new Writable({
      write(_chunk, _encoding, done) {
        done();
      },
    }),
  );
  const decryptSeconds = (performance.now() - started) / 1000;
  const mb = (mib * CHUNK) / 1e6;
  const result = { encryptMBps: mb / encryptSeconds, decryptMBps: mb / decryptSeconds };
  console.log(
    `| age encryption, ${mib} MiB | encrypt ${result.encryptMBps.toFixed(0)} MB/s | decrypt ${result.decryptMBps.toFixed(0)} MB/s |`,
  );
  console.log(JSON.stringify({ mib, ...result }));
  return result;
}
