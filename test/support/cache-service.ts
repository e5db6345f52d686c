// A local stand-in for GitHub's Actions cache (service v2), so the real @actions/cache client runs end
// to end without internet: a small Twirp JSON server for the cache API, plus Azurite for the blobs.
//
// The client POSTs JSON (proto field names, e.g. signed_upload_url) to
// $ACTIONS_RESULTS_URL/twirp/github.actions.results.api.v1.CacheService/<Method> with
// `Authorization: Bearer $ACTIONS_RUNTIME_TOKEN`, then moves the archive with the signed URL we hand out.
// Matching follows GitHub's documented rules: exact key, then newest entry whose key starts with the
// key, then each restore key in turn as a prefix (newest first); the version must always match.
// Not modelled: branch scopes, eviction, size limits.
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { startBlobContainer, startTwirpServer, TwirpError } from './results-service.js';

export interface CacheEntry {
  key: string;
  /** The client's version hash (paths + compression method + OS); lookups must match it. */
  version: string;
  /** Archive size in bytes. */
  size: number;
}

export interface CacheService {
  /**
   * What a job step sees, for `Object.assign(process.env, env)`: ACTIONS_RESULTS_URL,
   * ACTIONS_RUNTIME_TOKEN, ACTIONS_CACHE_SERVICE_V2, GITHUB_SERVER_URL, ACTIONS_CACHE_MODE, RUNNER_TEMP.
   */
  env: Record<string, string>;
  /** Closes the Twirp server, stops Azurite, removes the temp folder. */
  stop(): Promise<void>;
  /** Finalized entries, oldest first. */
  entries(): CacheEntry[];
}

interface StoredEntry extends CacheEntry {
  blob: string;
  seq: number;
  finalized: boolean;
}

/** Fake GitHub Actions cache service v2 (Twirp on 127.0.0.1) backed by Azurite. */
export async function startCacheService(): Promise<CacheService> {
  const blobs = await startBlobContainer('cache-service', 'actions-cache');
  const { container, signedUrl } = blobs;

  const token = randomBytes(16).toString('hex');
  /** key\0version → { key, version, size, blob, seq, finalized } */
  const store = new Map<string, StoredEntry>();
  let seq = 0;

  function find(key: string, restoreKeys: string[], version: string): StoredEntry | undefined {
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
    async CreateCacheEntry({ key, version }: { key: string; version: string }) {
      const id = `${key}\0${version}`;
      // GitHub answers 409 (twirp already_exists), not ok:false; the client logs it at info level.
      if (store.has(id)) {
        throw new TwirpError(
          409,
          'already_exists',
          'cache entry with the same key, version, and scope already exists',
        );
      }
      const entry: StoredEntry = { key, version, size: 0, blob: `${++seq}.tar`, seq, finalized: false };
      store.set(id, entry);
      return { ok: true, signed_upload_url: await signedUrl(entry.blob, 'cw') };
    },
    async FinalizeCacheEntryUpload({
      key,
      version,
      size_bytes,
    }: {
      key: string;
      version: string;
      size_bytes: string | number;
    }) {
      const entry = store.get(`${key}\0${version}`);
      if (!entry || entry.finalized) throw new TwirpError(404, 'not_found', 'no pending cache entry');
      // Check the upload really landed and matches the size the client claims.
      const props = await container.getBlobClient(entry.blob).getProperties();
      if (props.contentLength !== Number(size_bytes)) {
        return { ok: false, message: `uploaded ${props.contentLength} bytes, expected ${size_bytes}` };
      }
      Object.assign(entry, { size: props.contentLength!, finalized: true });
      return { ok: true, entry_id: String(entry.seq) };
    },
    async GetCacheEntryDownloadURL({
      key,
      restore_keys = [],
      version,
    }: {
      key: string;
      restore_keys?: string[];
      version: string;
    }) {
      const entry = find(key, restore_keys, version);
      if (!entry) return { ok: false };
      return { ok: true, signed_download_url: await signedUrl(entry.blob, 'r'), matched_key: entry.key };
    },
  };

  const server = await startTwirpServer(
    'github.actions.results.api.v1.CacheService',
    token,
    methods,
    (request) => {
      if (!request.key || !request.version) {
        throw new TwirpError(400, 'invalid_argument', 'key and version are required');
      }
    },
  );

  return {
    env: {
      ACTIONS_RESULTS_URL: server.url,
      ACTIONS_RUNTIME_TOKEN: token,
      ACTIONS_CACHE_SERVICE_V2: 'True',
      // Any other host counts as GHES, where the client silently falls back to the v1 protocol.
      GITHUB_SERVER_URL: 'https://github.com',
      // Read and write. Pinned so that an outer runner's mode (e.g. 'read' on fork pull requests)
      // cannot make saves skip silently.
      ACTIONS_CACHE_MODE: 'write',
      // Where the client writes its archive; unset it uses /home/actions/temp (or C:\actions\temp).
      RUNNER_TEMP: path.join(blobs.temp, 'runner-temp'),
    },
    entries() {
      return [...store.values()]
        .filter((e) => e.finalized)
        .sort((a, b) => a.seq - b.seq)
        .map(({ key, version, size }) => ({ key, version, size }));
    },
    async stop() {
      await server.close();
      await blobs.close();
    },
  };
}
