// What the fake Actions results services (cache-service.ts, artifact-service.ts) share: Azurite as
// the blob store behind signed URLs, and a Twirp JSON server in front of a table of methods.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  BlobSASPermissions,
  BlobServiceClient,
  type ContainerClient,
  SASProtocol,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';

// Azurite's built-in development account (public, documented well-known key).
const ACCOUNT = 'devstoreaccount1';
const ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export class TwirpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    msg: string,
  ) {
    super(msg);
  }
}

/** A Twirp method: the request's JSON in, the answer's JSON out. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each method reads its own fields
export type TwirpMethod = (request: any) => Promise<unknown>;

export interface BlobContainer {
  /** The temporary folder Azurite runs in (removed by close()). */
  temp: string;
  container: ContainerClient;
  /** A SAS URL for `blob` with `permissions` (e.g. 'cw', 'r'), valid for an hour. */
  signedUrl(blob: string, permissions: string): Promise<string>;
  close(): Promise<void>;
}

export interface TwirpServer {
  /** http://127.0.0.1:<port>/ */
  url: string;
  close(): Promise<void>;
}

/** Starts Azurite (child process) on a free port and resolves with its blob endpoint. */
function startAzurite(cwd: string): Promise<{ child: ChildProcess; endpoint: string }> {
  const pkg = createRequire(import.meta.url).resolve('azurite/package.json');
  const main = path.join(path.dirname(pkg), 'dist/src/blob/main.js');
  const child = spawn(
    process.execPath,
    [
      main,
      ...['--blobHost', '127.0.0.1', '--blobPort', '0'],
      // Telemetry would try to reach Application Insights (and log its failure offline).
      ...['--inMemoryPersistence', '--skipApiVersionCheck', '--disableTelemetry', '--silent'],
    ],
    // cwd is its default --location (which it refuses together with --inMemoryPersistence).
    { cwd, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: string) => {
      output += chunk;
      // With --blobPort 0 the chosen port is only known from this line.
      const m = /successfully listens on (http:\/\/\S+)/.exec(output);
      if (m) {
        child.stdout!.off('data', onData);
        child.off('exit', onExit);
        child.stdout!.resume(); // keep draining, never print
        resolve({ child, endpoint: m[1].replace(/\/$/, '') });
      }
    };
    const onExit = (code: number | null) =>
      reject(new Error(`azurite exited (${code}) before listening: ${output}`));
    child.stdout!.setEncoding('utf8').on('data', onData);
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.once('exit', onExit);
    child.once('error', reject);
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    // SIGTERM lets Azurite close its server; SIGKILL if it lingers.
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Azurite with one container, in a temporary folder: `signedUrl(blob, permissions)` hands out what the
 * clients upload to and download from; `close()` stops Azurite and removes the folder.
 */
export async function startBlobContainer(name: string, containerName: string): Promise<BlobContainer> {
  const temp = mkdtempSync(path.join(tmpdir(), `${name}-`));
  const { child, endpoint } = await startAzurite(temp).catch((error) => {
    rmSync(temp, { recursive: true, force: true });
    throw error;
  });
  // Don't leave Azurite behind if the test process dies without calling close().
  const killChild = () => child.kill('SIGKILL');
  process.once('exit', killChild);
  const close = async () => {
    await stopChild(child);
    process.off('exit', killChild);
    rmSync(temp, { recursive: true, force: true });
  };

  const credential = new StorageSharedKeyCredential(ACCOUNT, ACCOUNT_KEY);
  const container = new BlobServiceClient(`${endpoint}/${ACCOUNT}`, credential).getContainerClient(
    containerName,
  );
  try {
    await container.create();
  } catch (error) {
    await close();
    throw error;
  }
  const signedUrl = (blob: string, permissions: string) =>
    container.getBlobClient(blob).generateSasUrl({
      permissions: BlobSASPermissions.parse(permissions),
      expiresOn: new Date(Date.now() + 60 * 60 * 1000),
      protocol: SASProtocol.HttpsAndHttp, // Azurite here speaks plain http
    });
  return { temp, container, signedUrl, close };
}

/**
 * A Twirp JSON server for `service` (e.g. github.actions.results.api.v1.CacheService): POST
 * /twirp/<service>/<Method> with `Authorization: Bearer <token>`, the body checked by `validate`
 * (which throws a TwirpError), answered by `methods[Method](request)`.
 */
export async function startTwirpServer(
  service: string,
  token: string,
  methods: Record<string, TwirpMethod>,
  validate: (request: Record<string, unknown>) => void,
): Promise<TwirpServer> {
  const prefix = `/twirp/${service}/`;
  const server = createServer(async (req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      const url = req.url ?? '';
      const name = url.startsWith(prefix) ? url.slice(prefix.length) : '';
      if (req.method !== 'POST' || !Object.hasOwn(methods, name)) {
        throw new TwirpError(404, 'bad_route', `no handler for ${req.method} ${req.url}`);
      }
      if (req.headers.authorization !== `Bearer ${token}`) {
        throw new TwirpError(401, 'unauthenticated', 'missing or wrong runtime token');
      }
      let body = '';
      for await (const chunk of req) body += chunk;
      const request = JSON.parse(body || '{}');
      validate(request);
      reply(200, await methods[name](request));
    } catch (error) {
      // Twirp error shape; the client reads `msg`. Non-Twirp failures are 500s, which clients retry
      // (with back-off), so they are only answered for real failures of the service itself.
      if (error instanceof TwirpError) reply(error.status, { code: error.code, msg: error.message });
      else reply(500, { code: 'internal', msg: String((error as Error | undefined)?.message ?? error) });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
