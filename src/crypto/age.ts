import { Decrypter, Encrypter } from 'age-encryption';
import { Duplex } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { errorMessage, InputError } from '../util/errors.js';
import { type InputReader, parseList } from '../settings/backup.js';
import { addSecret } from '../util/secrets.js';

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

export interface EncryptionSettings {
  /** Set when snapshots are to be written encrypted. */
  encryptTo?: EncryptTo;
  /** Set when encrypted snapshots can be read. */
  decryptWith?: DecryptWith;
}

/** Recorded in a manifest: how its parts were encrypted, never a secret. */
export type EncryptionDescription = { scheme: 'age'; version: 'age-encryption.org/v1' } & (
  { recipients: string[] } | { passphrase: true }
);

/**
 * Reads `encryption-recipients` (age1… public keys, one a line), `encryption-identity` (the content
 * of an age identity file: AGE-SECRET-KEY-1… lines and # comments) and `encryption-passphrase`.
 */
export function parseEncryptionSettings(read: InputReader): EncryptionSettings {
  const passphrase = read('encryption-passphrase');
  addSecret(passphrase);
  const identities = parseIdentities(read('encryption-identity'));
  const recipients = parseRecipients(read('encryption-recipients'));
  if (recipients.length > 0 && passphrase) {
    throw new InputError(
      'encryption-passphrase',
      'cannot be combined with encryption-recipients: age encrypts to public keys or to one passphrase, not both. Keep one of them.',
    );
  }
  return {
    encryptTo: recipients.length > 0 ? { recipients } : passphrase ? { passphrase } : undefined,
    decryptWith:
      identities.length > 0 || passphrase ? { identities, passphrase: passphrase || undefined } : undefined,
  };
}

function parseRecipients(text: string): string[] {
  const recipients = parseList(text);
  recipients.forEach((recipient, index) => {
    // Anywhere in the line: a pasted secret key must never be quoted back, even inside other text.
    const secret = /AGE-(SECRET-KEY|PLUGIN)-\S*/i.exec(recipient);
    if (secret) {
      addSecret(secret[0]);
      addSecret(recipient);
      throw new InputError(
        'encryption-recipients',
        `entry ${index + 1} holds a secret key (AGE-SECRET-KEY-…). Give its public key instead: \`age-keygen -y identity.txt\` prints it.`,
      );
    }
    try {
      new Encrypter().addRecipient(recipient);
    } catch {
      // Quote only what looks like a public key; anything else could be a secret pasted by mistake.
      const shown = /^age1[0-9a-z]+$/.test(recipient) ? `"${recipient}"` : `entry ${index + 1}`;
      throw new InputError(
        'encryption-recipients',
        `${shown} is not an age public key. Give one age1… key per line, as printed by age-keygen (ssh keys are not supported).`,
      );
    }
  });
  return [...new Set(recipients)];
}

function parseIdentities(text: string): string[] {
  const identities: string[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    addSecret(line);
    try {
      new Decrypter().addIdentity(line);
    } catch {
      // The line may be a damaged secret: say where it is, not what it is.
      const hint = line.startsWith('age1') ? ' It is a public key, which goes in encryption-recipients.' : '';
      throw new InputError(
        'encryption-identity',
        `line ${index + 1} is not an age secret key (AGE-SECRET-KEY-1…).${hint} Give the content of an identity file written by age-keygen.`,
      );
    }
    identities.push(line);
  });
  return identities;
}

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
