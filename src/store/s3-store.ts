import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { pipeline, Readable, Transform } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { InputError } from '../util/errors.js';
import { readAll, type Store, type StoredObject } from './store.js';

export interface S3StoreSettings {
  bucket: string;
  /** Key prefix without leading or trailing slash; may be empty. */
  prefix: string;
  /** `s3://bucket/prefix` or `r2://bucket/prefix`, for messages. */
  location: string;
  region: string;
  endpoint?: string;
  forcePathStyle: boolean;
  /** Explicit keys; when absent the SDK's standard chain (env, profile, OIDC web identity...) is used. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Which input a user changes to fix an unreachable endpoint: `endpoint`, `r2-account-id` or `region`. */
  endpointInput: string;
}

/**
 * Multipart part size. Memory use is about PART_SIZE × (QUEUE_SIZE + 1) whatever the object size;
 * 10,000 parts × 16 MiB caps one object at 156 GiB. All parts but the last are equal (R2 needs that).
 */
export const PART_SIZE = 16 * 1024 * 1024;
const QUEUE_SIZE = 3;
const DELETE_BATCH = 1000;
/** A download whose body breaks this many times (with waits of 0.2 s, 0.4 s, …) fails. */
const RESUMES = 5;

export class S3Store implements Store {
  readonly location: string;
  private readonly client: S3Client;

  constructor(private readonly settings: S3StoreSettings) {
    this.location = settings.location;
    const config: S3ClientConfig = {
      region: settings.region,
      endpoint: settings.endpoint,
      forcePathStyle: settings.forcePathStyle,
      credentials: settings.credentials,
      // A bucket in another region than `region` answers 301; follow it rather than fail.
      followRegionRedirects: true,
      // Bounded retries (with the SDK's backoff) and timeouts, so a dead endpoint fails instead of hanging.
      maxAttempts: 5,
      requestHandler: new NodeHttpHandler({ connectionTimeout: 10_000, requestTimeout: 120_000 }),
    };
    if (settings.endpoint) {
      // R2, B2, MinIO and other S3-compatible servers break on (or store) the SDK's default CRC32
      // checksums with aws-chunked framing; we hash every part with SHA-256 ourselves anyway.
      config.requestChecksumCalculation = 'WHEN_REQUIRED';
      config.responseChecksumValidation = 'WHEN_REQUIRED';
    }
    this.client = new S3Client(config);
  }

  async check(): Promise<void> {
    try {
      await this.client.send(
        new ListObjectsV2Command({ Bucket: this.settings.bucket, Prefix: this.keyOf(''), MaxKeys: 1 }),
      );
    } catch (error) {
      throw this.explain(error);
    }
  }

  async upload(key: string, body: Readable): Promise<void> {
    // A fresh stream: lib-storage takes properties such as `size` off the body as its total length.
    // pipeline() carries a failure of `body` to it, so the upload aborts instead of waiting.
    let sent = 0;
    let ended = false;
    const fresh = new Transform({
      transform(chunk: Buffer, _, callback) {
        sent += chunk.length;
        callback(null, chunk);
      },
    });
    pipeline(body, fresh, (error) => (ended = !error));
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.settings.bucket, Key: this.keyOf(key), Body: fresh },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (error) {
      // The answer to CompleteMultipartUpload was lost after the server completed it: the SDK's retry
      // finds no upload any more. The object is ours when it has every byte we sent (the manifest's
      // SHA-256, checked by verify and restore, proves the content).
      if ((error as { name?: string }).name === 'NoSuchUpload' && ended && (await this.sizeOf(key)) === sent)
        return;
      throw this.explain(error);
    }
  }

  private async sizeOf(key: string): Promise<number | undefined> {
    try {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.settings.bucket, Key: this.keyOf(key) }),
      );
      return head.ContentLength;
    } catch {
      return undefined;
    }
  }

  async createExclusive(key: string, body: Buffer): Promise<boolean> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.settings.bucket,
          Key: this.keyOf(key),
          Body: body,
          IfNoneMatch: '*',
          ContentType: 'application/json',
        }),
      );
      return true;
    } catch (error) {
      // 412: it exists. 409 (AWS): another conditional write to the key is in flight; it wins. Unless
      // the object is ours: the SDK retried a write whose answer was lost after the server stored it.
      if (statusOf(error) === 412 || statusOf(error) === 409) return this.holds(key, body);
      throw this.explain(error);
    }
  }

  /** Whether `key` exists with exactly these bytes. */
  private async holds(key: string, body: Buffer): Promise<boolean> {
    try {
      return (await readAll(await this.download(key), body.length)).equals(body);
    } catch {
      return false;
    }
  }

  /**
   * The object's bytes as one stream that survives a connection dropped mid-body: the SDK retries a
   * failed request, but not a response body that breaks after the headers, so the rest is fetched again
   * from where it stopped (a Range request pinned to the same ETag), up to RESUMES times.
   */
  async download(key: string): Promise<Readable> {
    const first = await this.get(key);
    const { ETag: etag, ContentLength: length } = first;
    const open = async (offset: number, cause: unknown) => {
      // Resume only the same object version, and only from exactly where it stopped: a server that
      // ignores Range (answering 200 with the whole object) would otherwise append it again.
      if (!etag) throw cause;
      const rest = await this.get(key, { offset, etag });
      if (rest.$metadata.httpStatusCode !== 206 || !rest.ContentRange?.startsWith(`bytes ${offset}-`)) {
        (rest.Body as Readable | undefined)?.destroy();
        throw cause;
      }
      return rest.Body as Readable;
    };
    return Readable.from(resumable(first.Body as Readable, open, length), { objectMode: false });
  }

  private async get(key: string, from?: { offset: number; etag?: string }) {
    try {
      return await this.client.send(
        new GetObjectCommand({
          Bucket: this.settings.bucket,
          Key: this.keyOf(key),
          Range: from ? `bytes=${from.offset}-` : undefined,
          IfMatch: from?.etag,
        }),
      );
    } catch (error) {
      throw this.explain(error);
    }
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    const rootLength = this.keyOf('').length;
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.settings.bucket,
            Prefix: this.keyOf(prefix),
            ContinuationToken: token,
          }),
        );
      } catch (error) {
        throw this.explain(error);
      }
      for (const object of page.Contents ?? []) {
        if (!object.Key) continue;
        yield {
          key: object.Key.slice(rootLength),
          size: object.Size ?? 0,
          lastModified: object.LastModified ?? new Date(0),
        };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(keys: string[]): Promise<void> {
    for (let start = 0; start < keys.length; start += DELETE_BATCH) {
      const batch = keys.slice(start, start + DELETE_BATCH);
      let response;
      try {
        response = await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.settings.bucket,
            Delete: { Objects: batch.map((key) => ({ Key: this.keyOf(key) })), Quiet: true },
          }),
        );
      } catch (error) {
        throw this.explain(error);
      }
      const failed = response.Errors ?? [];
      if (failed.length > 0) {
        throw new Error(
          `could not delete ${failed.length} object(s), first ${failed[0].Key}: ${failed[0].Code}`,
        );
      }
    }
  }

  private keyOf(key: string): string {
    return this.settings.prefix ? `${this.settings.prefix}/${key}` : key;
  }

  /** Turns the SDK's errors into messages that name the input to fix. */
  private explain(error: unknown): Error {
    const { bucket, location, endpointInput } = this.settings;
    const name = (error as { name?: string; code?: string }).name ?? '';
    const code = (error as { code?: string }).code ?? '';
    const status = statusOf(error);
    const where = this.settings.endpoint ?? `region ${this.settings.region}`;
    if (name === 'NoSuchBucket') {
      return new InputError(
        'destination',
        `bucket "${bucket}" does not exist at ${where}. Create the bucket, or fix the bucket name in ${location}.`,
      );
    }
    if (
      name === 'InvalidAccessKeyId' ||
      name === 'SignatureDoesNotMatch' ||
      name === 'InvalidClientTokenId'
    ) {
      return new InputError(
        'access-key-id',
        `the storage rejected the credentials (${name}). Check access-key-id and secret-access-key ` +
          '(or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or the role configured upstream).',
      );
    }
    if (name === 'AccessDenied' || status === 403) {
      return new InputError(
        'access-key-id',
        `the credentials are not allowed to use ${location} (AccessDenied). Grant s3:ListBucket, s3:GetObject ` +
          'and s3:PutObject on the bucket and prefix, or use other credentials.',
      );
    }
    if (name === 'CredentialsProviderError') {
      return new InputError(
        'access-key-id',
        'no storage credentials were found. Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, give ' +
          'access-key-id and secret-access-key, or run aws-actions/configure-aws-credentials first.',
      );
    }
    const network = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH'];
    if (network.includes(code) || name === 'TimeoutError' || network.some((c) => String(error).includes(c))) {
      return new InputError(
        endpointInput,
        `cannot reach the storage at ${where} (${code || name}). Check ${endpointInput} and the network.`,
      );
    }
    if (error instanceof S3ServiceException) {
      return new Error(`storage error at ${location}: ${name} (HTTP ${status}): ${error.message}`);
    }
    return error instanceof Error ? error : new Error(String(error));
  }
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/**
 * Yields `body`, and after a break the rest from `open(offset)`, at most RESUMES times; fails if the
 * total differs from the announced length.
 */
async function* resumable(
  body: Readable,
  open: (offset: number, cause: unknown) => Promise<Readable>,
  length: number | undefined,
): AsyncGenerator<Buffer> {
  let offset = 0;
  for (let resumes = 0; ; resumes++) {
    try {
      for await (const chunk of body) {
        offset += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
      break;
    } catch (error) {
      body.destroy();
      if (resumes >= RESUMES) throw error;
      await sleep(200 * 2 ** resumes);
      body = await open(offset, error);
    }
  }
  if (length !== undefined && offset !== length) {
    throw new Error(`the download ended after ${offset} of ${length} bytes`);
  }
}
