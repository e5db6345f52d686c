/** GitHub runs at most 256 jobs from one matrix; past that, shards grow instead. */
export const MAX_SHARDS = 256;

/** One matrix job: `repositories` is newline-joined, as backup's `repositories` input takes it. */
export interface Shard {
  /** 1-based. */
  shard: number;
  count: number;
  repositories: string;
}

export interface PlanResult {
  /** Every repository, sorted. */
  repositories: string[];
  shards: Shard[];
  matrix: { include: Shard[] };
}

/** Case-insensitive; ties by code point, so that the same set always gives the same order. */
export function sortRepositories(repositories: string[]): string[] {
  const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...repositories].sort((a, b) => order(a.toLowerCase(), b.toLowerCase()) || order(a, b));
}

export function shardCount(repositories: number, shardSize: number): number {
  return Math.min(MAX_SHARDS, Math.ceil(repositories / shardSize));
}

/** Contiguous chunks of the list as given, the first ones one longer when it does not divide evenly. */
export function shardRepositories(repositories: string[], shardSize: number): Shard[] {
  const count = shardCount(repositories.length, shardSize);
  const shards: Shard[] = [];
  let start = 0;
  for (let index = 0; index < count; index++) {
    const size = Math.floor(repositories.length / count) + (index < repositories.length % count ? 1 : 0);
    const chunk = repositories.slice(start, start + size);
    shards.push({ shard: index + 1, count: chunk.length, repositories: chunk.join('\n') });
    start += size;
  }
  return shards;
}

/** The plan for a set of repositories: sorted, each once, in shards of about `shardSize`. */
export function buildPlan(repositories: string[], shardSize: number): PlanResult {
  const sorted = sortRepositories([...new Set(repositories)]);
  const shards = shardRepositories(sorted, shardSize);
  return { repositories: sorted, shards, matrix: { include: shards } };
}
