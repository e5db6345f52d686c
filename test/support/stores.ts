import * as fs from 'node:fs';
import * as path from 'node:path';
import { LocalStore } from '../../src/store/local-store.js';
import { S3Store } from '../../src/store/s3-store.js';
import type { Store } from '../../src/store/store.js';
import { tempDir } from './fixtures.js';
import { startS3Server, type S3Server } from './s3-server.js';

/**
 * Both stores for `describe.each`: a local folder and a real S3-protocol server on 127.0.0.1 (started
 * before the file's tests and stopped after them). Each call of `open` gives a new, empty store.
 */
export function bothStores(bucket: string): Array<[string, () => Store]> {
  let s3: S3Server;
  let folder: string;
  let counter = 0;
  beforeAll(async () => {
    s3 = await startS3Server({ buckets: [bucket] });
    folder = tempDir();
  });
  afterAll(async () => {
    await s3.stop();
    fs.rmSync(folder, { recursive: true, force: true });
  });
  return [
    ['local folder', () => new LocalStore(path.join(folder, `store-${++counter}`))],
    [
      'S3',
      () =>
        new S3Store({
          bucket,
          prefix: `run-${++counter}`,
          location: `s3://${bucket}/run-${counter}`,
          region: s3.region,
          endpoint: s3.endpoint,
          forcePathStyle: true,
          credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
          endpointInput: 'endpoint',
        }),
    ],
  ];
}

/** A store that forwards everything to `store`, except what `overrides` replaces. */
export function delegating(store: Store, overrides: Partial<Store>): Store {
  return {
    location: store.location,
    check: () => store.check(),
    upload: (key, body) => store.upload(key, body),
    createExclusive: (key, body) => store.createExclusive(key, body),
    download: (key) => store.download(key),
    list: (prefix) => store.list(prefix),
    delete: (keys) => store.delete(keys),
    ...overrides,
  };
}
