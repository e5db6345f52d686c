import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import { LocalStore } from '../../src/store/local-store.js';
import { S3Store } from '../../src/store/s3-store.js';
import { readAll, type Store } from '../../src/store/store.js';
import { deterministicBytes, tempDir } from '../support/fixtures.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';

// One contract, both stores: the local folder and S3 (a real S3-protocol server on 127.0.0.1).
let s3: S3Server;
let folder: string;

beforeAll(async () => {
  s3 = await startS3Server({ buckets: ['stores'] });
  folder = tempDir();
});

afterAll(async () => {
  await s3.stop();
  fs.rmSync(folder, { recursive: true, force: true });
});

const stores: Array<[string, () => Store]> = [
  ['local folder', () => new LocalStore(folder)],
  [
    'S3',
    () =>
      new S3Store({
        bucket: 'stores',
        prefix: 'contract/root',
        location: 's3://stores/contract/root',
        region: s3.region,
        endpoint: s3.endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
        endpointInput: 'endpoint',
      }),
  ],
];

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** A stream of `data` in 1 MiB chunks, failing with `error` after `failAfter` bytes if given. */
function chunked(data: Buffer, failAfter?: number): Readable {
  let offset = 0;
  return new Readable({
    read() {
      if (failAfter !== undefined && offset >= failAfter) return this.destroy(new Error('source broke'));
      if (offset >= data.length) return this.push(null);
      this.push(data.subarray(offset, (offset += 1024 * 1024)));
    },
  });
}

describe.each(stores)('%s store', (_, open) => {
  test('a 40 MiB stream (three multipart parts on S3) round-trips byte for byte', async () => {
    const store = open();
    const data = deterministicBytes(40 * 1024 * 1024);
    await store.upload('big/object.bin', chunked(data));
    const back = await readAll(await store.download('big/object.bin'));
    expect(back.length).toBe(data.length);
    expect(sha256(back)).toBe(sha256(data));
  });

  test('a source that breaks mid-upload leaves no object', async () => {
    const store = open();
    const data = deterministicBytes(24 * 1024 * 1024, 'broken');
    await expect(store.upload('broken/object.bin', chunked(data, 20 * 1024 * 1024))).rejects.toThrow(
      /source broke/,
    );
    const keys = [];
    for await (const object of store.list('broken/')) keys.push(object.key);
    expect(keys).toEqual([]);
  });

  test('createExclusive writes once and never overwrites', async () => {
    const store = open();
    expect(await store.createExclusive('once/manifest.json', Buffer.from('first'))).toBe(true);
    expect(await store.createExclusive('once/manifest.json', Buffer.from('second'))).toBe(false);
    expect((await readAll(await store.download('once/manifest.json'))).toString()).toBe('first');
  });

  test('concurrent createExclusive: exactly one wins', async () => {
    const store = open();
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        store.createExclusive('race/manifest.json', Buffer.from(`writer ${i}`)),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  test('lists every key under a prefix across pages, and deletes in batches', async () => {
    const store = open();
    const keys = Array.from({ length: 1100 }, (_, i) => `many/${String(i).padStart(5, '0')}`);
    for (let i = 0; i < keys.length; i += 100) {
      await Promise.all(keys.slice(i, i + 100).map((key) => store.createExclusive(key, Buffer.from(key))));
    }
    await store.createExclusive('many-other/x', Buffer.from('not under many/'));
    const listed = [];
    for await (const object of store.list('many/')) listed.push(object);
    expect(listed.map((object) => object.key).sort()).toEqual(keys);
    expect(listed[0].size).toBe(keys[0].length);

    await store.delete(keys);
    const left = [];
    for await (const object of store.list('many')) left.push(object.key);
    expect(left).toEqual(['many-other/x']);
  });
});

test('S3: a body that carries a `size` property of its own still uploads whole (lib-storage reads Body.size)', async () => {
  const [, open] = stores[1];
  const store = open();
  const data = deterministicBytes(40 * 1024 * 1024, 'sized');
  const body = Object.assign(chunked(data), { size: 0 });
  await store.upload('sized/object.bin', body);
  expect(sha256(await readAll(await store.download('sized/object.bin')))).toBe(sha256(data));
});
