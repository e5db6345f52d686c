import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Duplex, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { decryptStream, describeEncryption, encryptStream } from '../../src/crypto/age.js';
import { readEncryptionSettings } from '../../src/settings/encryption.js';
import { redact } from '../../src/util/secrets.js';
import { inputErrorOf, reader } from '../support/helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/** age payload: 64 KiB plaintext chunks, each with a 16-byte tag. */
const CHUNK = 64 * KiB + 16;

interface KeyPair {
  identity: string;
  recipient: string;
}
let alice: KeyPair;
let bob: KeyPair;
beforeAll(async () => {
  const pair = async () => {
    const identity = await generateIdentity();
    return { identity, recipient: await identityToRecipient(identity) };
  };
  [alice, bob] = await Promise.all([pair(), pair()]);
});

/** Pipes `data` through `stream`; also fails if the stream ends normally after an error. */
async function through(stream: Duplex, data: Uint8Array): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let ended = false;
  stream.on('end', () => (ended = true));
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  try {
    await pipeline(Readable.from([data]), stream, sink);
  } catch (error) {
    expect(ended).toBe(false);
    throw error;
  }
  return Buffer.concat(chunks);
}

/** Offset of the payload nonce: just after the header's `--- <mac>` line. */
function headerEnd(file: Buffer): number {
  return file.indexOf('\n', file.indexOf('\n---') + 1) + 1;
}

describe('readEncryptionSettings', () => {
  test('reads recipients, an identity file and a passphrase, and registers the secrets', () => {
    const identityFile = `# created: 2026-01-01\n# public key: ${alice.recipient}\n${alice.identity}\n\n${bob.identity}\r\n`;
    const settings = readEncryptionSettings(
      reader({
        'encryption-recipients': `${alice.recipient}  # laptop\n\n${bob.recipient}\n${alice.recipient}`,
        'encryption-identity': identityFile,
      }),
    );
    expect(settings).toEqual({
      encryptTo: { recipients: [alice.recipient, bob.recipient] },
      decryptWith: { identities: [alice.identity, bob.identity], passphrase: undefined },
    });
    expect(redact(`keys ${alice.identity} ${bob.identity}`)).toBe('keys *** ***');

    expect(readEncryptionSettings(reader({ 'encryption-passphrase': 'tiny-orbit-lamp-seven' }))).toEqual({
      encryptTo: { passphrase: 'tiny-orbit-lamp-seven' },
      decryptWith: { identities: [], passphrase: 'tiny-orbit-lamp-seven' },
    });
    expect(redact('tiny-orbit-lamp-seven')).toBe('***');
    expect(readEncryptionSettings(reader({}))).toEqual({ encryptTo: undefined, decryptWith: undefined });
  });

  test('names the bad recipient', () => {
    const error = inputErrorOf(() =>
      readEncryptionSettings(reader({ 'encryption-recipients': `${alice.recipient}\nage1notakey` })),
    );
    expect(error.input).toBe('encryption-recipients');
    expect(error.message).toMatch(/"age1notakey" is not an age public key/);
    // A changed character breaks the bech32 checksum.
    const typo = alice.recipient.slice(0, -1) + (alice.recipient.endsWith('q') ? 'p' : 'q');
    expect(
      inputErrorOf(() => readEncryptionSettings(reader({ 'encryption-recipients': typo }))).message,
    ).toContain(typo);
  });

  test('never quotes a secret key, even one given as a recipient', () => {
    const asRecipient = inputErrorOf(() =>
      readEncryptionSettings(reader({ 'encryption-recipients': alice.identity })),
    );
    expect(asRecipient.message).toMatch(/holds a secret key/);
    expect(asRecipient.message).not.toContain(alice.identity.slice(15));
    for (const wrapped of [
      `"${alice.identity}"`,
      `key=${alice.identity}`,
      `x${alice.identity.toLowerCase()}`,
    ]) {
      const error = inputErrorOf(() => readEncryptionSettings(reader({ 'encryption-recipients': wrapped })));
      expect(error.message).toMatch(/entry 1 holds a secret key/);
      expect(error.message.toLowerCase()).not.toContain(alice.identity.slice(15).toLowerCase());
    }

    const damaged = alice.identity.slice(0, -1);
    const error = inputErrorOf(() =>
      readEncryptionSettings(reader({ 'encryption-identity': `# key\n${bob.identity}\n${damaged}` })),
    );
    expect(error.input).toBe('encryption-identity');
    expect(error.message).toMatch(/line 3 is not an age secret key/);
    expect(error.message).not.toContain(damaged.slice(15));
    expect(
      inputErrorOf(() => readEncryptionSettings(reader({ 'encryption-identity': alice.recipient }))).message,
    ).toMatch(/public key, which goes in encryption-recipients/);
  });

  test('refuses recipients together with a passphrase', () => {
    const error = inputErrorOf(() =>
      readEncryptionSettings(
        reader({ 'encryption-recipients': alice.recipient, 'encryption-passphrase': 'some-passphrase' }),
      ),
    );
    expect(error.input).toBe('encryption-passphrase');
  });

  test('describes encryption for a manifest without secrets', () => {
    expect(describeEncryption({ recipients: [alice.recipient] })).toEqual({
      scheme: 'age',
      version: 'age-encryption.org/v1',
      recipients: [alice.recipient],
    });
    expect(describeEncryption({ passphrase: 'secret-words' })).toEqual({
      scheme: 'age',
      version: 'age-encryption.org/v1',
      passphrase: true,
    });
  });
});

/** A `gc()` without starting node with --expose-gc, to measure live memory rather than garbage. */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  // V8 frees array buffers concurrently after a collection; the second one waits for that.
  return () => {
    gc();
    gc();
  };
}

describe('streams', () => {
  test('50 MiB round trip, streamed with flat memory', async () => {
    const size = 50 * MiB;
    const sent = createHash('sha256');
    const received = createHash('sha256');
    let produced = 0;
    let consumed = 0;
    let maxInFlight = 0;
    let maxMemory = 0;
    const gc = exposeGc();
    gc();
    const baseline = process.memoryUsage().arrayBuffers;
    const source = new Readable({
      read() {
        if (produced === size) return void this.push(null);
        const chunk = randomFillSync(Buffer.allocUnsafe(Math.min(64 * KiB, size - produced)));
        produced += chunk.length;
        sent.update(chunk);
        this.push(chunk);
      },
    });
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        consumed += chunk.length;
        received.update(chunk);
        // Bytes read from the source but not yet out of decryption: what the pipeline holds.
        maxInFlight = Math.max(maxInFlight, produced - consumed);
        if (consumed % (4 * MiB) < chunk.length) {
          gc();
          maxMemory = Math.max(maxMemory, process.memoryUsage().arrayBuffers - baseline);
        }
        done();
      },
    });
    await pipeline(
      source,
      encryptStream({ recipients: [alice.recipient] }),
      decryptStream({ identities: [alice.identity] }),
      sink,
    );
    expect(consumed).toBe(size);
    expect(received.digest('hex')).toBe(sent.digest('hex'));
    expect(maxInFlight).toBeLessThan(4 * MiB);
    expect(maxMemory).toBeLessThan(16 * MiB);
  });

  test.each([0, 1, 64 * KiB, 128 * KiB, 200 * KiB + 5])('round trip of %d bytes', async (size) => {
    const data = randomBytes(size);
    const file = await through(encryptStream({ recipients: [alice.recipient] }), data);
    expect(file.subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
    expect(file.length).toBe(headerEnd(file) + 16 + size + 16 * Math.max(1, Math.ceil(size / (64 * KiB))));
    expect((await through(decryptStream({ identities: [alice.identity] }), file)).equals(data)).toBe(true);
  });

  test('either of several recipients decrypts', async () => {
    const data = randomBytes(100 * KiB);
    const file = await through(encryptStream({ recipients: [alice.recipient, bob.recipient] }), data);
    for (const identity of [alice.identity, bob.identity]) {
      expect((await through(decryptStream({ identities: [identity] }), file)).equals(data)).toBe(true);
    }
  });

  test('a wrong identity fails', async () => {
    const file = await through(encryptStream({ recipients: [alice.recipient] }), randomBytes(1000));
    await expect(through(decryptStream({ identities: [bob.identity] }), file)).rejects.toThrow(
      /^cannot decrypt: no identity matched any of the file's recipients/,
    );
  });

  test('a passphrase encrypts and decrypts; a wrong one fails', async () => {
    const data = randomBytes(70 * KiB);
    const file = await through(encryptStream({ passphrase: 'lamp-orbit-seven-tiny' }), data);
    expect(file.toString('latin1')).toMatch(/\n-> scrypt \S+ 18\n/);
    const plain = await through(decryptStream({ identities: [], passphrase: 'lamp-orbit-seven-tiny' }), file);
    expect(plain.equals(data)).toBe(true);
    await expect(through(decryptStream({ identities: [], passphrase: 'wrong' }), file)).rejects.toThrow(
      /^cannot decrypt/,
    );
  });

  describe('tampering', () => {
    let data: Buffer;
    let file: Buffer;
    let payload: number;
    beforeAll(async () => {
      data = randomBytes(3 * 64 * KiB + 5);
      file = await through(encryptStream({ recipients: [alice.recipient] }), data);
      payload = headerEnd(file) + 16;
    });
    const decrypt = (bytes: Buffer) => through(decryptStream({ identities: [alice.identity] }), bytes);

    test.each([
      ['the stanza', () => 40],
      ['the header MAC', () => payload - 16 - 5],
      ['the nonce', () => payload - 3],
      ['the first chunk', () => payload + 100],
      ['a chunk tag', () => payload + 2 * CHUNK - 1],
      ['the last byte', () => file.length - 1],
    ])('a byte flipped in %s fails', async (_where, offset) => {
      const bad = Buffer.from(file);
      bad[offset()] ^= 0x01;
      await expect(decrypt(bad)).rejects.toThrow(/^cannot decrypt/);
    });

    test.each([
      ['in the header', () => 60],
      ['after the header', () => payload - 16],
      ['after the nonce', () => payload],
      ['inside a chunk', () => payload + 1000],
      ['at a chunk boundary', () => payload + CHUNK],
      ['at the last full chunk', () => payload + 3 * CHUNK],
      ['by one byte', () => file.length - 1],
    ])('a file cut %s fails, not a short plaintext', async (_where, length) => {
      await expect(decrypt(file.subarray(0, length()))).rejects.toThrow(/^cannot decrypt/);
    });

    test('payload damage is reported as such', async () => {
      await expect(decrypt(file.subarray(0, payload + CHUNK))).rejects.toThrow(
        /^cannot decrypt: the data is corrupt or truncated/,
      );
    });
  });
});

/**
 * rage, the Rust implementation of age, compiled to WebAssembly (@kanru/rage-wasm): a second,
 * independent implementation that npm installs. It takes and returns whole buffers.
 */
describe('interoperability with rage', () => {
  let rage: typeof import('@kanru/rage-wasm');
  let tmp: string;
  beforeAll(async () => {
    // Its ES module has a .js name in a package without "type": "module", which jest loads as
    // CommonJS: import a copy named .mjs.
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rage-'));
    const file = path.join(tmp, 'rage.mjs');
    fs.copyFileSync(createRequire(import.meta.url).resolve('@kanru/rage-wasm/dist/index.js'), file);
    // Built for browsers: it finds crypto.getRandomValues through `self` (in Node it would look for
    // `module.require`), and times scrypt with `window.performance` (the global object is the window).
    Object.assign(globalThis, {
      self: globalThis,
      Window: class {
        static [Symbol.hasInstance](value: unknown) {
          return value === globalThis;
        }
      },
    });
    rage = await import(pathToFileURL(file).href);
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test.each([0, 64 * KiB, 200 * KiB + 5])('keys: %d bytes both ways', async (size) => {
    const [identity, recipient] = await rage.keygen();
    const data = randomBytes(size);

    const ours = await through(encryptStream({ recipients: [alice.recipient, recipient] }), data);
    expect(Buffer.from(await rage.decrypt_with_x25519(identity, ours)).equals(data)).toBe(true);

    const theirs = await rage.encrypt_with_x25519(alice.recipient, data, false);
    const plain = await through(decryptStream({ identities: [alice.identity] }), Buffer.from(theirs));
    expect(plain.equals(data)).toBe(true);
  });

  test('rage rejects our truncated file', async () => {
    const [identity, recipient] = await rage.keygen();
    const ours = await through(encryptStream({ recipients: [recipient] }), randomBytes(2 * 64 * KiB));
    await expect(rage.decrypt_with_x25519(identity, ours.subarray(0, ours.length - CHUNK))).rejects.toThrow();
  });

  test('passphrase both ways', async () => {
    const passphrase = 'seven-lamp-tiny-orbit';
    const data = randomBytes(70 * KiB);

    const ours = await through(encryptStream({ passphrase }), data);
    expect(Buffer.from(await rage.decrypt_with_user_passphrase(passphrase, ours)).equals(data)).toBe(true);

    const theirs = await rage.encrypt_with_user_passphrase(passphrase, data, false);
    const plain = await through(decryptStream({ identities: [], passphrase }), Buffer.from(theirs));
    expect(plain.equals(data)).toBe(true);
  });
});
