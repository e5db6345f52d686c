export interface StoredArtifact {
  /** The id FinalizeArtifact returned (what uploadArtifact resolves with). */
  id: number;
  name: string;
  /** Bytes of the stored blob (the zip). */
  size: number;
  /** `sha256:<hex>` of the stored blob, checked against the client's claim at finalize. */
  digest: string;
  /** What CreateArtifact asked for, e.g. `application/zip`. */
  mimeType?: string;
  /** RFC 3339, from the client's retentionDays; undefined when it asked for the default. */
  expiresAt?: string;
  /** The client's artifact version (7 for @actions/artifact 6). */
  version?: number;
}

export interface ArtifactService {
  /**
   * What a JavaScript action's step sees, for `Object.assign(process.env, env)`: ACTIONS_RESULTS_URL,
   * ACTIONS_RUNTIME_TOKEN (a JWT with the run and job ids), GITHUB_SERVER_URL, GITHUB_RETENTION_DAYS.
   */
  env: Record<string, string>;
  /** Finalized artifacts, oldest first. */
  artifacts(): StoredArtifact[];
  /** The stored blob (a zip unless uploaded with skipArchive), by id or by name. */
  download(idOrName: number | string): Promise<Buffer>;
  /** Closes the Twirp server, stops Azurite, removes the temp folder. */
  stop(): Promise<void>;
}

/** Fake GitHub Actions artifact service (Twirp on 127.0.0.1) backed by Azurite; see artifact-service.mjs. */
export function startArtifactService(): Promise<ArtifactService>;

/** A JWT shaped like ACTIONS_RUNTIME_TOKEN (unsigned: random signature) for another run/job. */
export function makeRuntimeToken(runId: string, jobId: string): string;

/** The entries of a zip, in order; stored or deflated, CRC-checked, no zip64. */
export function readZip(zip: Uint8Array): { name: string; data: Buffer }[];
