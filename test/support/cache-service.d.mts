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

/** Fake GitHub Actions cache service v2 (Twirp on 127.0.0.1) backed by Azurite; see cache-service.mjs. */
export function startCacheService(): Promise<CacheService>;
