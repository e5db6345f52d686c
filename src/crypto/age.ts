import { Decrypter, Encrypter } from 'age-encryption';
import { Duplex } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { errorMessage } from '../util/errors.js';

/**
 * Who can read what we write: public keys, or one passphrase. age allows a passphrase (an scrypt
 * recipient) only alone, and a snapshot written with one can be read by whoever can write.
 */
export type EncryptTo = { recipients: string[] } | { passphrase: string };

/** What we may read with: every identity and the passphrase are tried. */
export interface DecryptWith {
  identities: string[];
  passphrase?: string;
}

/** Recorded in a manifest: how its parts were encrypted, never a secret. */
export type EncryptionDescription = { scheme: 'age'; version: 'age-encryption.org/v1' } & (
  { recipients: string[] } | { passphrase: true }
);

export function describeEncryption(to: EncryptTo): EncryptionDescription {
  const base = { scheme: 'age', version: 'age-encryption.org/v1' } as const;
  return 'passphrase' in to ? { ...base, passphrase: true } : { ...base, recipients: [...to.recipients] };
}

/** Plaintext in, an age file out (64 KiB chunks, streamed). */
export function encryptStream(to: EncryptTo): Duplex {
  const encrypter = new Encrypter();
  if ('passphrase' in to) encrypter.setPassphrase(to.passphrase);
  else if (to.recipients.length === 0) throw new Error('no age recipients to encrypt to');
  else to.recipients.forEach((recipient) => encrypter.addRecipient(recipient));
  const failed = (error: unknown) => new Error(`cannot encrypt: ${errorMessage(error)}`, { cause: error });
  return webDuplex((input) => encrypter.encrypt(input), failed, failed);
}

/**
 * An age file in, plaintext out. Each 64 KiB chunk is authenticated before it is passed on, and the
 * last one is marked, so a wrong key, a changed byte or a cut-off end makes the stream fail (possibly
 * after passing on earlier, authentic chunks): its output is complete only when it ends without error.
 */
export function decryptStream(keys: DecryptWith): Duplex {
  if (keys.identities.length === 0 && !keys.passphrase) throw new Error('no age identity or passphrase');
  const decrypter = new Decrypter();
  keys.identities.forEach((identity) => decrypter.addIdentity(identity));
  if (keys.passphrase) decrypter.addPassphrase(keys.passphrase);
  return webDuplex(
    (input) => decrypter.decrypt(input),
    (error) => new Error(`cannot decrypt: ${errorMessage(error)}`, { cause: error }),
    (error) =>
      new Error(`cannot decrypt: the data is corrupt or truncated (${errorMessage(error)})`, {
        cause: error,
      }),
  );
}

/**
 * A Node Duplex around age's Web Streams API. `start` gets what is written as a ReadableStream and
 * resolves, once the header is done, to the output; a failure in the header or in the body errors the
 * Duplex, never ends it normally.
 */
function webDuplex(
  start: (input: ReadableStream<Uint8Array>) => Promise<ReadableStream<Uint8Array>>,
  headerError: (error: unknown) => Error,
  bodyError: (error: unknown) => Error,
): Duplex {
  const input = new TransformStream<Uint8Array, Uint8Array>();
  const output = new TransformStream<Uint8Array, Uint8Array>();
  // preventAbort: the consumer gets our error, which says what failed, rather than the bare one.
  start(input.readable).then(
    (stream) =>
      stream
        .pipeTo(output.writable, { preventAbort: true })
        .catch((error) => output.writable.abort(bodyError(error))),
    (error) => output.writable.abort(headerError(error)),
  );
  // Node's and the DOM's typings of one ReadableStream class differ (BYOB readers).
  return Duplex.fromWeb({ readable: output.readable as NodeReadableStream, writable: input.writable });
}
