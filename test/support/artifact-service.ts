// A local stand-in for GitHub's Actions artifact service (the "v4" results service), so the real
// @actions/artifact client (v2 and later) runs end to end without internet: a small Twirp JSON server
// for the artifact API, plus Azurite for the blobs. Same approach as cache-service.ts.
//
// The client POSTs JSON (proto field names, e.g. workflow_run_backend_id; int64 as strings) to
// $ACTIONS_RESULTS_URL/twirp/github.actions.results.api.v1.ArtifactService/<Method> with
// `Authorization: Bearer $ACTIONS_RUNTIME_TOKEN`. It decodes that token as a JWT (without verifying
// it) and takes the run and job ids from its `scp` claim ("Actions.Results:<runId>:<jobId>"), then
// uploads the zip with the signed URL we hand out and finalizes with its size and sha256.
// Modelled: one run, names unique within it (409 already_exists, as GitHub answers), size and digest
// checked at finalize. Not modelled: expiry, size limits, the public REST API (download by findBy).
import { createHash, randomBytes } from 'node:crypto';
import * as zlib from 'node:zlib';
import { startBlobContainer, startTwirpServer, TwirpError } from './results-service.js';

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

/** An artifact in the store: finalized, or created and waiting for its upload. */
interface Artifact extends Omit<StoredArtifact, 'digest'> {
  blob: string;
  digest: string | undefined;
  createdAt: string;
  finalized: boolean;
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * An ACTIONS_RUNTIME_TOKEN-shaped JWT for run `runId`, job `jobId`. The client never verifies the
 * signature, so it is random bytes; the service below compares the whole token instead.
 */
export function makeRuntimeToken(runId: string, jobId: string): string {
  const claims = {
    scp: `Actions.GenericRead:00000000-0000-0000-0000-000000000000 Actions.Results:${runId}:${jobId}`,
    iat: Math.floor(Date.now() / 1000),
    exp: Math.floor(Date.now() / 1000) + 6 * 60 * 60,
  };
  return `${base64url({ typ: 'JWT', alg: 'RS256' })}.${base64url(claims)}.${randomBytes(32).toString('base64url')}`;
}

/**
 * The entries of a zip (what artifacts are): [{ name, data }] in central-directory order. Handles
 * what archiver writes (stored or deflated, sizes in the central directory because it streams with
 * data descriptors); checks each entry's CRC-32. No zip64, no encryption.
 */
export function readZip(zip: Uint8Array): { name: string; data: Buffer }[] {
  const buf = Buffer.from(zip);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip: no end of central directory record');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const entries: { name: string; data: Buffer }[] = [];
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`bad central directory entry at ${p}`);
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    const compressedSize = buf.readUInt32LE(p + 20);
    const size = buf.readUInt32LE(p + 24);
    const nameLength = buf.readUInt16LE(p + 28);
    const extraLength = buf.readUInt16LE(p + 30);
    const commentLength = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLength);
    p += 46 + nameLength + extraLength + commentLength;

    if (buf.readUInt32LE(local) !== 0x04034b50) throw new Error(`bad local header for ${name}`);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const raw = buf.subarray(start, start + compressedSize);
    let data: Buffer;
    if (method === 0) data = Buffer.from(raw);
    else if (method === 8) data = zlib.inflateRawSync(raw);
    else throw new Error(`${name}: unsupported compression method ${method}`);
    if (data.length !== size) throw new Error(`${name}: ${data.length} bytes, expected ${size}`);
    if (typeof zlib.crc32 === 'function' && zlib.crc32(data) >>> 0 !== crc) {
      throw new Error(`${name}: CRC-32 mismatch`);
    }
    entries.push({ name, data });
  }
  return entries;
}

/** Fake GitHub Actions artifact service (Twirp on 127.0.0.1) backed by Azurite. */
export async function startArtifactService(): Promise<ArtifactService> {
  const blobs = await startBlobContainer('artifact-service', 'actions-results');
  const { container, signedUrl } = blobs;

  const runId = '3f2d6c2e-1a7b-4c5d-9e8f-0a1b2c3d4e5f';
  const jobId = '7a8b9c0d-1e2f-5a3b-8c4d-5e6f7a8b9c0d';
  const token = makeRuntimeToken(runId, jobId);
  /** name → { id, name, blob, size, digest, mimeType, expiresAt, createdAt, finalized } */
  const store = new Map<string, Artifact>();
  let seq = 0;

  const ready = () => [...store.values()].filter((a) => a.finalized).sort((a, b) => a.id - b.id);

  function pending(name: string): Artifact {
    const artifact = store.get(name);
    if (!artifact || artifact.finalized)
      throw new TwirpError(404, 'not_found', `no pending artifact ${name}`);
    return artifact;
  }

  const methods = {
    async CreateArtifact({
      name,
      expires_at,
      version,
      mime_type,
    }: {
      name: string;
      expires_at?: string;
      version?: number;
      mime_type?: string;
    }) {
      if (!name) throw new TwirpError(400, 'invalid_argument', 'name is required');
      if (store.has(name)) {
        throw new TwirpError(
          409,
          'already_exists',
          'an artifact with this name already exists on the workflow run',
        );
      }
      const artifact: Artifact = {
        id: ++seq,
        name,
        blob: `${runId}/${seq}/${name}`,
        size: 0,
        digest: undefined,
        mimeType: mime_type,
        version,
        expiresAt: expires_at,
        createdAt: new Date().toISOString(),
        finalized: false,
      };
      store.set(name, artifact);
      return { ok: true, signed_upload_url: await signedUrl(artifact.blob, 'cw') };
    },
    async FinalizeArtifact({ name, size, hash }: { name: string; size: string | number; hash?: string }) {
      const artifact = pending(name);
      // Check the upload really landed and matches what the client claims.
      const data = await container.getBlobClient(artifact.blob).downloadToBuffer();
      if (data.length !== Number(size)) {
        return { ok: false, artifact_id: '0' };
      }
      const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
      if (hash !== undefined && hash !== digest) return { ok: false, artifact_id: '0' };
      Object.assign(artifact, { size: data.length, digest, finalized: true });
      return { ok: true, artifact_id: String(artifact.id) };
    },
    async ListArtifacts({ name_filter, id_filter }: { name_filter?: string; id_filter?: string | number }) {
      const artifacts = ready()
        .filter((a) => name_filter === undefined || a.name === name_filter)
        .filter((a) => id_filter === undefined || String(a.id) === String(id_filter))
        .map((a) => ({
          workflow_run_backend_id: runId,
          workflow_job_run_backend_id: jobId,
          database_id: String(a.id),
          name: a.name,
          size: String(a.size),
          created_at: a.createdAt,
          ...(a.digest && { digest: a.digest }),
        }));
      return { artifacts };
    },
    async GetSignedArtifactURL({ name }: { name: string }) {
      const artifact = store.get(name);
      if (!artifact?.finalized) throw new TwirpError(404, 'not_found', `no artifact ${name}`);
      return { signed_url: await signedUrl(artifact.blob, 'r') };
    },
    async DeleteArtifact({ name }: { name: string }) {
      const artifact = store.get(name);
      if (!artifact?.finalized) throw new TwirpError(404, 'not_found', `no artifact ${name}`);
      store.delete(name);
      await container.getBlobClient(artifact.blob).deleteIfExists();
      return { ok: true, artifact_id: String(artifact.id) };
    },
  };

  const server = await startTwirpServer(
    'github.actions.results.api.v1.ArtifactService',
    token,
    methods,
    (request) => {
      // The ids come from the token's scp claim; the service insists they match it.
      if (request.workflow_run_backend_id !== runId || request.workflow_job_run_backend_id !== jobId) {
        throw new TwirpError(
          400,
          'invalid_argument',
          'workflow run or job backend id does not match the token',
        );
      }
    },
  );

  const find = (idOrName: number | string) =>
    ready().find((a) => (typeof idOrName === 'number' ? a.id === idOrName : a.name === idOrName));

  return {
    env: {
      ACTIONS_RESULTS_URL: server.url,
      ACTIONS_RUNTIME_TOKEN: token,
      // Any other host counts as GHES, where the client refuses to run.
      GITHUB_SERVER_URL: 'https://github.com',
      // Pinned so that an outer runner's retention cap cannot change (and warn about) expiry.
      GITHUB_RETENTION_DAYS: '90',
    },
    artifacts() {
      return ready().map(({ id, name, size, digest, mimeType, expiresAt, version }) => ({
        id,
        name,
        size,
        digest: digest!,
        mimeType,
        expiresAt,
        version,
      }));
    },
    async download(idOrName) {
      const artifact = find(idOrName);
      if (!artifact) throw new Error(`no finalized artifact ${idOrName}`);
      return container.getBlobClient(artifact.blob).downloadToBuffer();
    },
    async stop() {
      await server.close();
      await blobs.close();
    },
  };
}
