// A local stand-in for GitHub's Actions cache (service v2), so the real @actions/cache client runs end
// to end without internet: a small Twirp JSON server for the cache API, plus Azurite for the blobs.
//
// The client POSTs JSON (proto field names, e.g. signed_upload_url) to
// $ACTIONS_RESULTS_URL/twirp/github.actions.results.api.v1.CacheService/<Method> with
// `Authorization: Bearer $ACTIONS_RUNTIME_TOKEN`, then moves the archive with the signed URL we hand out.
// Matching follows GitHub's documented rules: exact key, then newest entry whose key starts with the
// key, then each restore key in turn as a prefix (newest first); the version must always match.
// Not modelled: branch scopes, eviction, size limits.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  BlobSASPermissions,
  BlobServiceClient,
  SASProtocol,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';

// Azurite's built-in development account (public, documented well-known key).
const ACCOUNT = 'devstoreaccount1';
const ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const CONTAINER = 'actions-cache';
const SERVICE = '/twirp/github.actions.results.api.v1.CacheService/';

/** Starts Azurite (child process) on a free port and resolves with its blob endpoint. */
function startAzurite(cwd) {
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
    const onData = (chunk) => {
      output += chunk;
      // With --blobPort 0 the chosen port is only known from this line.
      const m = /successfully listens on (http:\/\/\S+)/.exec(output);
      if (m) {
        child.stdout.off('data', onData);
        child.off('exit', onExit);
        child.stdout.resume(); // keep draining, never print
        resolve({ child, endpoint: m[1].replace(/\/$/, '') });
      }
    };
    const onExit = (code) => reject(new Error(`azurite exited (${code}) before listening: ${output}`));
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', (chunk) => (output += chunk));
    child.once('exit', onExit);
    child.once('error', reject);
  });
}

function stopChild(child) {
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

class TwirpError extends Error {
  constructor(status, code, msg) {
    super(msg);
    this.status = status;
    this.code = code;
  }
}

export async function startCacheService() {
  const temp = mkdtempSync(path.join(tmpdir(), 'cache-service-'));
  const { child, endpoint } = await startAzurite(temp).catch((error) => {
    rmSync(temp, { recursive: true, force: true });
    throw error;
  });
  // Don't leave Azurite behind if the test process dies without calling stop().
  const killChild = () => child.kill('SIGKILL');
  process.once('exit', killChild);

  const credential = new StorageSharedKeyCredential(ACCOUNT, ACCOUNT_KEY);
  const container = new BlobServiceClient(`${endpoint}/${ACCOUNT}`, credential).getContainerClient(CONTAINER);
  try {
    await container.create();
  } catch (error) {
    await stopChild(child);
    rmSync(temp, { recursive: true, force: true });
    throw error;
  }

  const token = randomBytes(16).toString('hex');
  /** key\0version → { key, version, size, blob, seq, finalized } */
  const store = new Map();
  let seq = 0;

  const signedUrl = (blob, permissions) =>
    container.getBlobClient(blob).generateSasUrl({
      permissions: BlobSASPermissions.parse(permissions),
      expiresOn: new Date(Date.now() + 60 * 60 * 1000),
      protocol: SASProtocol.HttpsAndHttp, // Azurite here speaks plain http
    });

  function find(key, restoreKeys, version) {
    const ready = [...store.values()]
      .filter((e) => e.finalized && e.version === version)
      .sort((a, b) => b.seq - a.seq); // newest first
    const exact = ready.find((e) => e.key === key);
    if (exact) return exact;
    for (const prefix of [key, ...restoreKeys]) {
      const hit = ready.find((e) => e.key.startsWith(prefix));
      if (hit) return hit;
    }
    return undefined;
  }

  const methods = {
    async CreateCacheEntry({ key, version }) {
      const id = `${key}\0${version}`;
      // GitHub answers 409 (twirp already_exists), not ok:false; the client logs it at info level.
      if (store.has(id)) {
        throw new TwirpError(
          409,
          'already_exists',
          'cache entry with the same key, version, and scope already exists',
        );
      }
      const entry = { key, version, size: 0, blob: `${++seq}.tar`, seq, finalized: false };
      store.set(id, entry);
      return { ok: true, signed_upload_url: await signedUrl(entry.blob, 'cw') };
    },
    async FinalizeCacheEntryUpload({ key, version, size_bytes }) {
      const entry = store.get(`${key}\0${version}`);
      if (!entry || entry.finalized) throw new TwirpError(404, 'not_found', 'no pending cache entry');
      // Check the upload really landed and matches the size the client claims.
      const props = await container.getBlobClient(entry.blob).getProperties();
      if (props.contentLength !== Number(size_bytes)) {
        return { ok: false, message: `uploaded ${props.contentLength} bytes, expected ${size_bytes}` };
      }
      Object.assign(entry, { size: props.contentLength, finalized: true });
      return { ok: true, entry_id: String(entry.seq) };
    },
    async GetCacheEntryDownloadURL({ key, restore_keys = [], version }) {
      const entry = find(key, restore_keys, version);
      if (!entry) return { ok: false };
      return { ok: true, signed_download_url: await signedUrl(entry.blob, 'r'), matched_key: entry.key };
    },
  };

  const server = createServer(async (req, res) => {
    const reply = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      const name = req.url.startsWith(SERVICE) ? req.url.slice(SERVICE.length) : '';
      if (req.method !== 'POST' || !Object.hasOwn(methods, name)) {
        throw new TwirpError(404, 'bad_route', `no handler for ${req.method} ${req.url}`);
      }
      if (req.headers.authorization !== `Bearer ${token}`) {
        throw new TwirpError(401, 'unauthenticated', 'missing or wrong runtime token');
      }
      let body = '';
      for await (const chunk of req) body += chunk;
      const request = JSON.parse(body || '{}');
      if (!request.key || !request.version) {
        throw new TwirpError(400, 'invalid_argument', 'key and version are required');
      }
      reply(200, await methods[name](request));
    } catch (error) {
      // Twirp error shape; the client reads `msg`. Non-Twirp failures are 500s, which it retries.
      if (error instanceof TwirpError) reply(error.status, { code: error.code, msg: error.message });
      else reply(500, { code: 'internal', msg: String(error?.message ?? error) });
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    env: {
      ACTIONS_RESULTS_URL: `http://127.0.0.1:${server.address().port}/`,
      ACTIONS_RUNTIME_TOKEN: token,
      ACTIONS_CACHE_SERVICE_V2: 'True',
      // Any other host counts as GHES, where the client silently falls back to the v1 protocol.
      GITHUB_SERVER_URL: 'https://github.com',
      // Read and write. Pinned so that an outer runner's mode (e.g. 'read' on fork pull requests)
      // cannot make saves skip silently.
      ACTIONS_CACHE_MODE: 'write',
      // Where the client writes its archive; unset it uses /home/actions/temp (or C:\actions\temp).
      RUNNER_TEMP: path.join(temp, 'runner-temp'),
    },
    entries() {
      return [...store.values()]
        .filter((e) => e.finalized)
        .sort((a, b) => a.seq - b.seq)
        .map(({ key, version, size }) => ({ key, version, size }));
    },
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await stopChild(child);
      process.off('exit', killChild);
      rmSync(temp, { recursive: true, force: true });
    },
  };
}
