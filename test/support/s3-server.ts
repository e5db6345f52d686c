// A real S3-protocol server on 127.0.0.1 for tests and benchmarks, built on fauxqs (in-memory S3).
// On top of fauxqs it adds what our tests rely on and fauxqs lacks: SigV4 header verification,
// conditional writes (If-None-Match: * / If-Match) and a large body limit for multipart parts.
//
// Client settings that work:
// - @aws-sdk/client-s3: { endpoint, region, credentials, forcePathStyle: true,
//   requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }.
//   (SDK defaults work too: fauxqs decodes the aws-chunked bodies they send.)
// - AWS CLI (v1.45 here): AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_DEFAULT_REGION in the env and
//   `aws --endpoint-url <endpoint> s3 cp ...`. Nothing else is needed: over http it signs the hex
//   body hash; AWS_REQUEST_CHECKSUM_CALCULATION=when_required is optional.
//
// Standalone (once compiled to JavaScript, e.g. by tsc): node s3-server.js [--port 9000]
//   [--bucket b1 ...] [--region r] [--access-key-id k] [--secret-access-key s]
//   -> prints the endpoint, runs until SIGINT/SIGTERM.
import { type BinaryLike, createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { realpathSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { SignatureV4 } from '@smithy/signature-v4';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { buildApp } from 'fauxqs';

export interface S3ServerOptions {
  /** Default 'test-access-key'. */
  accessKeyId?: string;
  /** Default 'test-secret-key'. */
  secretAccessKey?: string;
  /** Default 'us-east-1'. Informational: signatures are checked against the region in the request's scope. */
  region?: string;
  /** Buckets created before the server starts listening. */
  buckets?: string[];
  /** Largest accepted request body in bytes (default 128 MiB); larger bodies get 413 EntityTooLarge. */
  bodyLimit?: number;
  /** Default 0 (a free port). The server always binds 127.0.0.1. */
  port?: number;
}

export interface S3Server {
  /** 'http://127.0.0.1:<port>' */
  endpoint: string;
  port: number;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** What we use of fauxqs's S3Store: its buckets (name → key → object) and createBucket. */
interface Store {
  buckets: Map<string, Map<string, { etag: string }>>;
  createBucket(name: string): void;
}

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

// fauxqs only exports buildApp; its S3Store class is needed so we can read the store synchronously
// (an atomic existence check for conditional writes) and create buckets without a request.
const { S3Store } = (await import(new URL('./s3/s3Store.js', import.meta.resolve('fauxqs')).href)) as {
  S3Store: new () => Store;
};

const MiB = 1024 * 1024;

// Hash constructor in the shape @smithy/signature-v4 expects (HMAC when given a key).
class Sha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret ? createHmac('sha256', secret as BinaryLike) : createHash('sha256');
  }
  update(data: string | ArrayBuffer | ArrayBufferView) {
    this.hash.update(data as BinaryLike);
  }
  async digest() {
    return new Uint8Array(this.hash.digest());
  }
}

class S3AuthError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 403,
  ) {
    super(message);
  }
}

const escapeXml = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

function sendError(reply: FastifyReply, status: number, code: string, message: string) {
  const xml =
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<Error><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error>`;
  return reply.code(status).header('content-type', 'application/xml').send(xml);
}

// Raw query string -> { key: value | value[] }, decoded; signature-v4 re-encodes it canonically.
function parseQuery(qs: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const pair of qs ? qs.split('&') : []) {
    if (!pair) continue;
    const i = pair.indexOf('=');
    const key = decodeURIComponent(i < 0 ? pair : pair.slice(0, i));
    const value = i < 0 ? '' : decodeURIComponent(pair.slice(i + 1));
    const prev = query[key];
    query[key] = prev === undefined ? value : ([] as string[]).concat(prev, value);
  }
  return query;
}

// Recompute the SigV4 signature of the request as received and compare it with the client's.
async function verifySignature(request: FastifyRequest, creds: Credentials): Promise<void> {
  const auth = request.headers.authorization;
  if (!auth) throw new S3AuthError('AccessDenied', 'Access Denied');
  const m =
    /^AWS4-HMAC-SHA256\s+Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request,\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(
      auth.trim(),
    );
  if (!m) {
    throw new S3AuthError(
      'AuthorizationHeaderMalformed',
      'Unsupported or malformed Authorization header',
      400,
    );
  }
  const [, accessKeyId, , region, service, signedHeaders, signature] = m;
  if (accessKeyId !== creds.accessKeyId) {
    throw new S3AuthError(
      'InvalidAccessKeyId',
      'The AWS Access Key Id you provided does not exist in our records.',
    );
  }
  const amzDate = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(
    String(request.headers['x-amz-date'] ?? ''),
  );
  if (!amzDate) throw new S3AuthError('AccessDenied', 'Missing or invalid x-amz-date header');
  const [, y, mo, d, h, mi, s] = amzDate.map(Number);

  // Only the headers the client signed; the payload hash is taken verbatim from
  // x-amz-content-sha256 (hex, UNSIGNED-PAYLOAD or STREAMING-*), as S3 does - the body is not hashed.
  const names = signedHeaders.split(';');
  const headers: Record<string, string> = {};
  for (const name of names) {
    const value = request.headers[name];
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : String(value);
  }
  const raw = request.originalUrl; // before fauxqs's virtual-host rewrite: what the client signed
  const q = raw.indexOf('?');
  const signer = new SignatureV4({
    credentials: { accessKeyId, secretAccessKey: creds.secretAccessKey },
    region,
    service,
    sha256: Sha256,
    uriEscapePath: false, // S3 signs the path exactly as sent
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: '127.0.0.1',
      path: q < 0 ? raw : raw.slice(0, q),
      query: parseQuery(q < 0 ? '' : raw.slice(q + 1)),
      headers,
    },
    { signingDate: new Date(Date.UTC(y, mo - 1, d, h, mi, s)), signableHeaders: new Set(names) },
  );
  if (!signed.headers.authorization.endsWith(`Signature=${signature}`)) {
    throw new S3AuthError(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    );
  }
}

const PRECONDITION_FAILED = 'At least one of the pre-conditions you specified did not hold';

// S3 conditional writes; true when the write must be refused with 412. Runs in preHandler, synchronously
// right before fauxqs's handler stores the object, so concurrent writers cannot both pass the check.
function preconditionFails(request: FastifyRequest, store: Store): boolean {
  const ifNoneMatch = request.headers['if-none-match'];
  const ifMatch = request.headers['if-match'];
  if (!ifNoneMatch && !ifMatch) return false;
  const { bucket, '*': key } = (request.params ?? {}) as { bucket?: string; '*'?: string };
  const objects = store.buckets.get(bucket!);
  if (!key || !objects) return false; // let fauxqs answer (e.g. NoSuchBucket)
  const existing = objects.get(key);
  if (ifNoneMatch?.trim() === '*' && existing) return true;
  if (ifMatch) {
    const strip = (t: string) => t.trim().replace(/^W\//, '').replace(/"/g, '');
    const wanted = ifMatch.split(',').map(strip);
    return !existing || !(wanted.includes('*') || wanted.includes(strip(existing.etag)));
  }
  return false;
}

export async function startS3Server(options: S3ServerOptions = {}): Promise<S3Server> {
  const creds: Credentials = {
    accessKeyId: options.accessKeyId ?? 'test-access-key',
    secretAccessKey: options.secretAccessKey ?? 'test-secret-key',
  };
  const region = options.region ?? 'us-east-1';
  const bodyLimit = options.bodyLimit ?? 128 * MiB;

  const store = new S3Store();
  const app = buildApp({
    logger: false,
    defaultRegion: region,
    // Only the S3 store: fauxqs makes the others it needs.
    stores: { s3Store: store } as unknown as NonNullable<Parameters<typeof buildApp>[0]>['stores'],
  });

  // fauxqs registers its catch-all buffer parser with an 11 MiB limit (413 for bigger parts);
  // routes don't set their own limit, so re-registering the parser raises it for every S3 route.
  app.removeContentTypeParser('*');
  app.addContentTypeParser(
    '*',
    { parseAs: 'buffer', bodyLimit },
    (_req: FastifyRequest, body: Buffer, done: (err: Error | null, body?: Buffer) => void) =>
      done(null, body),
  );

  // S3-style XML for fastify's own errors too (e.g. 413 when a body exceeds bodyLimit).
  app.setErrorHandler(
    (err: Error & { statusCode?: number }, _request: FastifyRequest, reply: FastifyReply) => {
      const status = err.statusCode ?? 500;
      const code = status === 413 ? 'EntityTooLarge' : status < 500 ? 'InvalidRequest' : 'InternalError';
      return sendError(reply, status, code, err.message);
    },
  );

  // Auth first (onRequest), so unauthenticated bodies are never buffered.
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      await verifySignature(request, creds);
    } catch (err) {
      if (!(err instanceof S3AuthError)) throw err;
      return sendError(reply, err.status, err.code, err.message);
    }
  });

  // Conditional PutObject / CopyObject / CompleteMultipartUpload; the body is parsed by now.
  app.addHook('preHandler', (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    const query = (request.query ?? {}) as Record<string, unknown>;
    const isWrite =
      (request.method === 'PUT' && !('partNumber' in query)) ||
      (request.method === 'POST' && 'uploadId' in query);
    if (isWrite && preconditionFails(request, store)) {
      sendError(reply, 412, 'PreconditionFailed', PRECONDITION_FAILED);
    } else {
      done();
    }
  });

  for (const name of options.buckets ?? []) store.createBucket(name);

  await app.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    ...creds,
    region,
    async createBucket(name: string) {
      store.createBucket(name);
    },
    async stop() {
      await app.close();
    },
  };
}

// Standalone mode, only when this file is the entry script.
const isMain = process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (isMain) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      bucket: { type: 'string', multiple: true, default: [] },
      region: { type: 'string' },
      'access-key-id': { type: 'string' },
      'secret-access-key': { type: 'string' },
    },
  });
  const server = await startS3Server({
    port: Number(values.port),
    buckets: values.bucket,
    region: values.region,
    accessKeyId: values['access-key-id'],
    secretAccessKey: values['secret-access-key'],
  });
  console.log(server.endpoint);
  const shutdown = () => server.stop().then(() => process.exit(0));
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}
