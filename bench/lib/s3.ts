// The local S3-protocol server of the tests (test/support/s3-server.ts), run in a worker thread of the
// bench process (s3-worker.ts) so that its request handling does not delay the sampling timer of the
// main thread; the environment of the measured commands; listing and deleting in its bucket.
import type { _Object } from '@aws-sdk/client-s3';
import { once } from 'node:events';
import { tsWorker } from './ts-worker.js';

export const BUCKET = 'bench';
export const CREDENTIALS = {
  accessKeyId: 'bench-access-key',
  secretAccessKey: 'bench-secret-key',
  region: 'us-east-1',
};

/** What the worker gets (workerData) and sends back. */
export interface ServerWorkerData {
  bodyLimit?: number;
}
export type ServerWorkerMessage = { endpoint: string } | { stopped: true };

/** The environment for the measured commands: the server's credentials, no inherited AWS or Actions settings. */
export function awsEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_REGION: CREDENTIALS.region,
    AWS_DEFAULT_REGION: CREDENTIALS.region,
    AWS_REQUEST_CHECKSUM_CALCULATION: 'when_required',
    AWS_PAGER: '',
  };
  for (const name of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'GITHUB_ACTIONS', 'RUNNER_TEMP', 'NODE_OPTIONS']) {
    delete env[name];
  }
  return env;
}

export interface BenchServer {
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * Starts the S3 server (bucket `bench`, CREDENTIALS) in a worker thread; stop() ends it. `bodyLimit`
 * raises the largest request body it takes (default 128 MiB), for single-request uploads.
 */
export async function startServer({ bodyLimit }: { bodyLimit?: number } = {}): Promise<BenchServer> {
  const worker = tsWorker(new URL('./s3-worker.ts', import.meta.url), {
    workerData: { bodyLimit } satisfies ServerWorkerData,
  });
  const [message] = (await Promise.race([
    once(worker, 'message'),
    once(worker, 'error').then(([error]) => Promise.reject(error)),
  ])) as [ServerWorkerMessage];
  if (!('endpoint' in message)) throw new Error('the S3 server worker did not start');
  let stopped = false;
  return {
    endpoint: message.endpoint,
    async stop() {
      if (stopped) return;
      stopped = true;
      worker.postMessage('stop');
      await Promise.race([once(worker, 'message'), new Promise((resolve) => setTimeout(resolve, 5000))]);
      await worker.terminate();
    },
  };
}

export interface BenchS3 {
  list(prefix: string): Promise<_Object[]>;
  remove(key: string): Promise<void>;
  removeMany(keys: string[]): Promise<void>;
  destroy(): void;
}

/** Listing and deleting in the bench bucket, with the SDK of the project's dependencies. */
export async function s3Client(endpoint: string, bucket = BUCKET): Promise<BenchS3> {
  const { S3Client, ListObjectsV2Command, DeleteObjectsCommand, DeleteObjectCommand } =
    await import('@aws-sdk/client-s3');
  const client = new S3Client({
    endpoint,
    region: CREDENTIALS.region,
    forcePathStyle: true,
    credentials: { accessKeyId: CREDENTIALS.accessKeyId, secretAccessKey: CREDENTIALS.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    async list(prefix) {
      const objects: _Object[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        objects.push(...(page.Contents ?? []));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return objects;
    },
    async remove(key) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
    async removeMany(keys) {
      for (let i = 0; i < keys.length; i += 1000) {
        const batch = keys.slice(i, i + 1000).map((Key) => ({ Key }));
        await client.send(
          new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch, Quiet: true } }),
        );
      }
    },
    destroy() {
      client.destroy();
    },
  };
}

export async function prefixBytes(s3: BenchS3, prefix: string): Promise<number> {
  return (await s3.list(prefix)).reduce((sum, object) => sum + (object.Size ?? 0), 0);
}

export async function deletePrefix(s3: BenchS3, prefix: string): Promise<void> {
  for (const object of await s3.list(prefix)) if (object.Key) await s3.remove(object.Key);
}
