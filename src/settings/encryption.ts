import { Decrypter, Encrypter } from 'age-encryption';
import type { DecryptWith, EncryptTo } from '../crypto/age.js';
import { InputError } from '../util/errors.js';
import { addSecret } from '../util/secrets.js';
import { type InputReader, parseList } from './inputs.js';

export interface EncryptionSettings {
  /** Set when snapshots are to be written encrypted. */
  encryptTo?: EncryptTo;
  /** Set when encrypted snapshots can be read. */
  decryptWith?: DecryptWith;
}

/**
 * Reads `encryption-recipients` (age1… public keys, one a line), `encryption-identity` (the content
 * of an age identity file: AGE-SECRET-KEY-1… lines and # comments) and `encryption-passphrase`.
 */
export function readEncryptionSettings(read: InputReader): EncryptionSettings {
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
