// Benchmark of the prune engine: `repos` repositories with `snapshots` snapshots in all (one every 12
// hours per repository) in the in-process S3 server of the tests, pruned by S3Store with keep-daily 7,
// keep-weekly 4, keep-monthly 6. Format 1 (the default): a manifest and a 1 KiB bundle part each.
// Format 2: a manifest per snapshot listing the repository's shared packs (a 1 KiB pack and its index
// in `packs/git/<source>/`): each snapshot adds one pack to the previous snapshot's set, and a fresh set
// starts every 32 packs (compaction), as backup writes them. The runs use orphan-age 0, so that every
// pack is old enough to be collected once no remaining manifest lists it (reference counting reads the
// remaining snapshots' manifests: that is part of planning).
//
// Reports: seeding time; a dry run with keep-tag (every manifest read, 16 at a time); then the real
// run split at its first delete call into planning (listing + decisions) and deleting; snapshots
// removed, keys deleted and HTTP requests (counted on node's `http.client.request.start` channel,
// retries included). The server shares this process's event loop, so times include its work.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import { createHash } from 'node:crypto';
import { mapLimit } from '../src/util/concurrency.js';
import { pruneStore } from '../src/retention/prune.js';
import type { RetentionPolicy } from '../src/retention/policy.js';
import {
  BUNDLE_FORMAT_VERSION,
  type GitManifest,
  newSnapshotId,
  PACKS_FORMAT_VERSION,
  packPrefix,
  type Part,
} from '../src/snapshot/manifest.js';
import { S3Store } from '../src/store/s3-store.js';
import type { Store } from '../src/store/store.js';
import { startS3Server } from '../test/support/s3-server.js';

export interface PruneBenchResult {
  repos: number;
  snapshots: number;
  /** Snapshot format: 1 (a bundle per snapshot) or 2 (shared packs). */
  format: number;
  /** Objects written by seeding. */
  objects: number;
  seedSeconds: number;
  /** Dry run with keep-tag added: listing, reading every manifest, deciding. */
  tagPlanSeconds: number;
  tagPlanRequests: number;
  planSeconds: number;
  deleteSeconds: number;
  snapshotsRemoved: number;
  keysDeleted: number;
  /** Pack and index keys no remaining manifest lists (format 2). */
  packKeysDeleted: number;
  listRequests: number;
  deleteRequests: number;
}

const POLICY: RetentionPolicy = { daily: 7, weekly: 4, monthly: 6 };
const PART = Buffer.alloc(1024, 7);
const SPACING = 12 * 60 * 60 * 1000;
/** Packs per set before a fresh one starts (MAX_PACKS of src/git/packs.ts). */
const PACKS_PER_SET = 32;

export async function benchPrune({
  repos = 50,
  snapshots = 10_000,
  format = BUNDLE_FORMAT_VERSION,
} = {}): Promise<PruneBenchResult> {
  const server = await startS3Server({ buckets: ['bench'] });
  const store = new S3Store({
    bucket: 'bench',
    prefix: 'prune',
    location: 's3://bench/prune',
    region: server.region,
    endpoint: server.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    endpointInput: 'endpoint',
  });
  const requests = countRequests();
  try {
    const seedStart = performance.now();
    const objects = await (format === PACKS_FORMAT_VERSION ? seedPacks : seed)(store, repos, snapshots);
    const seedSeconds = seconds(seedStart);

    requests.reset();
    const tagStart = performance.now();
    await pruneStore(store, { ...POLICY, tags: ['release'] }, { dryRun: true, orphanAge: 0 });
    const tagPlanSeconds = seconds(tagStart);
    const tagPlanRequests = requests.total();

    // Split the real run at its first delete call.
    let firstDelete: number | undefined;
    let planRequests = 0;
    const timed: Store = Object.assign(Object.create(store) as Store, {
      delete: (keys: string[]) => {
        if (firstDelete === undefined) {
          firstDelete = performance.now();
          planRequests = requests.total();
        }
        return store.delete(keys);
      },
    });
    requests.reset();
    const start = performance.now();
    const result = await pruneStore(timed, POLICY, { dryRun: false, orphanAge: 0 });
    const end = performance.now();
    const split = firstDelete ?? end;

    const report: PruneBenchResult = {
      repos,
      snapshots,
      format,
      objects,
      seedSeconds,
      tagPlanSeconds,
      tagPlanRequests,
      planSeconds: (split - start) / 1000,
      deleteSeconds: (end - split) / 1000,
      snapshotsRemoved: result.snapshotsRemoved,
      keysDeleted: result.keysDeleted,
      packKeysDeleted: result.packKeysRemoved,
      listRequests: planRequests,
      deleteRequests: requests.total() - planRequests,
    };
    print(report);
    return report;
  } finally {
    requests.stop();
    await server.stop();
  }
}

/** `snapshots` snapshots spread over `repos` repositories, newest first. */
function spread(repos: number, snapshots: number): Array<{ source: string; time: Date }> {
  const newest = Date.now() - 60_000;
  return Array.from({ length: snapshots }, (_, i) => ({
    source: `github.com/bench/repo-${String(i % repos).padStart(3, '0')}`,
    time: new Date(newest - Math.floor(i / repos) * SPACING),
  }));
}

/** Format 1: a bundle and a manifest per snapshot, written 64 snapshots at a time; the object count. */
async function seed(store: Store, repos: number, snapshots: number): Promise<number> {
  const writes = spread(repos, snapshots);
  await mapLimit(writes, 64, async ({ source, time }) => {
    const id = newSnapshotId(time);
    const folder = `git/${source}/${id}/`;
    await store.createExclusive(`${folder}repo.bundle`, PART);
    const parts: Part[] = [
      { name: 'repo.bundle', type: 'git-bundle', size: PART.length, sha256: '0'.repeat(64) },
    ];
    const manifest = benchManifest(source, id, time, BUNDLE_FORMAT_VERSION, parts);
    await store.createExclusive(`${folder}manifest.json`, Buffer.from(JSON.stringify(manifest)));
  });
  return 2 * snapshots;
}

/**
 * Format 2: per repository, oldest first, each snapshot uploads one pack and its index and lists the
 * previous snapshot's packs plus its own; a fresh set starts when the previous one has 32 packs. Packs
 * are written 64 snapshots at a time, then the manifests (manifest last); the object count.
 */
async function seedPacks(store: Store, repos: number, snapshots: number): Promise<number> {
  const writes = spread(repos, snapshots).reverse();
  const sets = new Map<string, Part[]>();
  const planned = writes.map(({ source, time }, i) => {
    const previous = sets.get(source) ?? [];
    const base =
      previous.length / 2 >= PACKS_PER_SET ? [] : previous.map((part) => ({ ...part, added: undefined }));
    const checksum = createHash('sha1').update(`${source} ${i}`).digest('hex');
    const added: Part[] = (['pack', 'idx'] as const).map((extension) => ({
      name: `pack-${checksum}.${extension}`,
      type: extension === 'pack' ? 'git-pack' : 'git-pack-index',
      pack: checksum,
      size: PART.length,
      sha256: '0'.repeat(64),
      added: true,
    }));
    const parts = [...base, ...added];
    sets.set(source, parts);
    return { source, time, parts, added };
  });
  await mapLimit(planned, 64, async ({ source, added }) => {
    for (const part of added) await store.createExclusive(`${packPrefix(source)}${part.name}`, PART);
  });
  await mapLimit(planned, 64, async ({ source, time, parts }) => {
    const id = newSnapshotId(time);
    const manifest = benchManifest(source, id, time, PACKS_FORMAT_VERSION, parts);
    await store.createExclusive(`git/${source}/${id}/manifest.json`, Buffer.from(JSON.stringify(manifest)));
  });
  return 3 * snapshots;
}

function countRequests() {
  let count = 0;
  const onRequest = () => count++;
  subscribe('http.client.request.start', onRequest);
  return {
    total: () => count,
    reset: () => (count = 0),
    stop: () => unsubscribe('http.client.request.start', onRequest),
  };
}

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

function print(r: PruneBenchResult): void {
  const s = (value: number) => `${value.toFixed(2)} s`;
  console.log(
    [
      `| prune: ${r.snapshots} snapshots (format ${r.format}) over ${r.repos} repositories (S3, in-process server) | |`,
      '| --- | --- |',
      `| seeding (${r.objects} objects) | ${s(r.seedSeconds)} |`,
      `| dry run with keep-tag (every manifest read) | ${s(r.tagPlanSeconds)}, ${r.tagPlanRequests} requests |`,
      `| planning (list + decide) | ${s(r.planSeconds)}, ${r.listRequests} requests |`,
      `| deleting | ${s(r.deleteSeconds)}, ${r.deleteRequests} requests |`,
      `| snapshots removed | ${r.snapshotsRemoved} |`,
      `| keys deleted | ${r.keysDeleted}${r.format >= 2 ? ` (${r.packKeysDeleted} of packs)` : ''} |`,
    ].join('\n'),
  );
  console.log(JSON.stringify(r));
}

/** A manifest as a backup writes it, of one of the seeded repositories (format 2 adds droppedBytes). */
function benchManifest(
  source: string,
  id: string,
  time: Date,
  formatVersion: number,
  parts: Part[],
): GitManifest {
  return {
    format: 'backup-action-snapshot',
    formatVersion,
    id,
    kind: 'git',
    source,
    url: `https://${source}.git`,
    createdAt: time.toISOString(),
    tool: { name: 'backup-action', version: 'bench' },
    tags: ['nightly'],
    git: {
      empty: false,
      objectFormat: 'sha1',
      head: 'refs/heads/main',
      refs: { 'refs/heads/main': '0'.repeat(40) },
      ...(formatVersion >= PACKS_FORMAT_VERSION ? { droppedBytes: 0 } : {}),
    },
    parts,
    size: parts.reduce((sum, part) => sum + part.size, 0),
  };
}
