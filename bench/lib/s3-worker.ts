// The worker thread of startServer() (s3.ts): runs the S3 server of the tests until told to stop.
import { parentPort, workerData } from 'node:worker_threads';
import { startS3Server } from '../../test/support/s3-server.js';
import { BUCKET, CREDENTIALS, type ServerWorkerData, type ServerWorkerMessage } from './s3.js';

const port = parentPort;
if (!port) throw new Error('bench/lib/s3-worker.ts runs as a worker thread (startServer)');
const { bodyLimit } = workerData as ServerWorkerData;
const server = await startS3Server({ buckets: [BUCKET], ...CREDENTIALS, bodyLimit });
port.postMessage({ endpoint: server.endpoint } satisfies ServerWorkerMessage);
port.once('message', async () => {
  await server.stop();
  port.postMessage({ stopped: true } satisfies ServerWorkerMessage);
  port.close();
});
