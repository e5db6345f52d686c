import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { S3Store } from '../../src/store/s3-store.js';
import { readAll } from '../../src/store/store.js';

// A download whose body breaks halfway resumes with a Range request pinned to the ETag — but only when
// the server really answers with that range. A tiny S3-speaking server here breaks the first answer
// after 40 of 100 bytes, then answers the resume the way it is told to (the S3 test server cannot be
// made to ignore Range or drop ETags).
const OBJECT = Buffer.from(Array.from({ length: 100 }, (_, i) => i));
type Resume = 'range' | 'whole' | 'no-etag';
let server: Server;
let resume: Resume;
let requests: Array<string | undefined>;

beforeAll(async () => {
  server = createServer((request: IncomingMessage, response: ServerResponse) => {
    requests.push(request.headers.range);
    const etag = resume === 'no-etag' ? {} : { etag: '"abc"' };
    if (!request.headers.range) {
      response.writeHead(200, { 'content-length': OBJECT.length, ...etag });
      response.write(OBJECT.subarray(0, 40));
      setTimeout(() => response.socket?.destroy(), 20);
      return;
    }
    const from = Number(/bytes=(\d+)-/.exec(request.headers.range)![1]);
    if (resume === 'whole') {
      response.writeHead(200, { 'content-length': OBJECT.length, ...etag });
      response.end(OBJECT);
    } else {
      response.writeHead(206, {
        'content-length': OBJECT.length - from,
        'content-range': `bytes ${from}-${OBJECT.length - 1}/${OBJECT.length}`,
        ...etag,
      });
      response.end(OBJECT.subarray(from));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterAll(() => new Promise((resolve) => server.close(resolve)));

function store() {
  return new S3Store({
    bucket: 'b',
    prefix: '',
    location: 's3://b',
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    forcePathStyle: true,
    credentials: { accessKeyId: 'k', secretAccessKey: 's' },
    endpointInput: 'endpoint',
  });
}

test('a body broken halfway resumes from byte 40 and yields exactly the object', async () => {
  resume = 'range';
  requests = [];
  expect(await readAll(await store().download('x'))).toEqual(OBJECT);
  expect(requests).toEqual([undefined, 'bytes=40-']);
});

test.each(['whole', 'no-etag'] as const)(
  'a resume the server does not answer with the range (%s) fails instead of appending wrong bytes',
  async (mode) => {
    resume = mode;
    requests = [];
    await expect(readAll(await store().download('x'))).rejects.toThrow();
    expect(requests.length).toBeLessThanOrEqual(2);
  },
);
