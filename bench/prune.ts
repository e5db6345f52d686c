// Benchmark of the prune engine: `repos` repositories with `snapshots` snapshots in all (a manifest and
// a 1 KiB part each, one every 12 hours per repository) in the in-process S3 server of the tests,
// pruned by S3Store with keep-daily 7, keep-weekly 4, keep-monthly 6.
//
// Reports: seeding time; a dry run with keep-tag (every manifest read, 16 at a time); then the real
// run split at its first delete call into planning (listing + decisions) and deleting; snapshots
// removed, keys deleted and HTTP requests (counted on node's `http.client.request.start` channel,
// retries included). The server shares this process's event loop, so times include its work.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import { mapLimit } from '../src/util/concurrency.js';
import { pruneStore } from '../src/retention/prune.js';
import type { RetentionPolicy } from '../src/retention/policy.js';
import { BUNDLE_FORMAT_VERSION, type GitManifest, newSnapshotId } from '../src/snapshot/manifest.js';
import { S3Store } from '../src/store/s3-store.js';
import type { Store } from '../src/store/store.js';
import { startS3Server } from '../test/support/s3-server.js';

export interface PruneBenchResult {
  repos: number;
  snapshots: number;
  seedSeconds: number;
  /** Dry run with keep-tag added: listing, reading every manifest, deciding. */
  tagPlanSeconds: number;
  tagPlanRequests: number;
  planSeconds: number;
  deleteSeconds: number;
  snapshotsRemoved: number;
  keysDeleted: number;
  listRequests: number;
  deleteRequests: number;
}

const POLICY: RetentionPolicy = { daily: 7, weekly: 4, monthly: 6 };
const PART = Buffer.alloc(1024, 7);
const SPACING = 12 * 60 * 60 * 1000;

export async function benchPrune({ repos = 50, snapshots = 10_000 } = {}): Promise<PruneBenchResult> {
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
    await seed(store, repos, snapshots);
    const seedSeconds = seconds(seedStart);

    requests.reset();
    const tagStart = performance.now();
    await pruneStore(store, { ...POLICY, tags: ['release'] }, { dryRun: true });
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
    const result = await pruneStore(timed, POLICY, { dryRun: false });
    const end = performance.now();
    const split = firstDelete ?? end;

    const report: PruneBenchResult = {
      repos,
      snapshots,
      seedSeconds,
      tagPlanSeconds,
      tagPlanRequests,
      planSeconds: (split - start) / 1000,
      deleteSeconds: (end - split) / 1000,
      snapshotsRemoved: result.snapshotsRemoved,
      keysDeleted: result.keysDeleted,
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

/** `snapshots` snapshots spread over `repos` repositories, written 64 objects at a time. */
async function seed(store: Store, repos: number, snapshots: number): Promise<void> {
  const newest = Date.now() - 60_000;
  const writes = Array.from({ length: snapshots }, (_, i) => ({
    source: `github.com/bench/repo-${String(i % repos).padStart(3, '0')}`,
    time: new Date(newest - Math.floor(i / repos) * SPACING),
  }));
  await mapLimit(writes, 64, async ({ source, time }) => {
    const id = newSnapshotId(time);
    const folder = `git/${source}/${id}/`;
    await store.createExclusive(`${folder}repo.bundle`, PART);
    const manifest: GitManifest = {
      format: 'backup-action-snapshot',
      formatVersion: BUNDLE_FORMAT_VERSION,
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
      },
      parts: [{ name: 'repo.bundle', type: 'git-bundle', size: PART.length, sha256: '0'.repeat(64) }],
      size: PART.length,
    };
    await store.createExclusive(`${folder}manifest.json`, Buffer.from(JSON.stringify(manifest)));
  });
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
      `| prune: ${r.snapshots} snapshots over ${r.repos} repositories (S3, in-process server) | |`,
      '| --- | --- |',
      `| seeding (${2 * r.snapshots} objects) | ${s(r.seedSeconds)} |`,
      `| dry run with keep-tag (every manifest read) | ${s(r.tagPlanSeconds)}, ${r.tagPlanRequests} requests |`,
      `| planning (list + decide) | ${s(r.planSeconds)}, ${r.listRequests} requests |`,
      `| deleting | ${s(r.deleteSeconds)}, ${r.deleteRequests} requests |`,
      `| snapshots removed | ${r.snapshotsRemoved} |`,
      `| keys deleted | ${r.keysDeleted} |`,
    ].join('\n'),
  );
  console.log(JSON.stringify(r));
}
