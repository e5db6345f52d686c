import { InputError } from '../util/errors.js';
import { type ApiOptions, listOwnerRepositories, type OwnerRepository } from '../github/repositories.js';
import { boolean, type InputReader, integer, parseList } from '../settings/backup.js';
import * as log from '../log/log.js';
import { addSecret, redact } from '../util/secrets.js';

/** GitHub runs at most 256 jobs from one matrix; past that, shards grow instead. */
export const MAX_SHARDS = 256;

export type VisibilityFilter = 'all' | 'public' | 'private' | 'internal';

export interface RepositoryFilters {
  include: string[];
  exclude: string[];
  /** Keep archived repositories. */
  archived: boolean;
  /** Keep forks. */
  forks: boolean;
  visibility: VisibilityFilter;
}

export interface PlanSettings {
  /** The explicit list, each line once; empty when `organization` is given. */
  repositories: string[];
  organization?: string;
  filters: RepositoryFilters;
  shardSize: number;
  /** Registered as a secret; only needed to list an organization. */
  token: string;
  /** GITHUB_API_URL, without a trailing slash. */
  apiUrl: string;
}

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

const FILTER_INPUTS = ['include', 'exclude', 'archived', 'forks', 'visibility'] as const;
const VISIBILITIES: VisibilityFilter[] = ['all', 'public', 'private', 'internal'];
const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;

/** Parses and validates every input before any request is made. */
export function parsePlanSettings(read: InputReader, env: NodeJS.ProcessEnv = process.env): PlanSettings {
  const token = read('token');
  addSecret(token);
  const listed = parseList(read('repositories'));
  const organization = read('organization').trim();
  if (listed.length > 0 && organization) {
    throw new InputError(
      'repositories',
      'and "organization" are both given: list repositories, or name an organization to back up all of it, not both.',
    );
  }
  if (listed.length === 0 && !organization) {
    throw new InputError(
      'repositories',
      'is empty and "organization" is not given: list owner/name lines, or name an organization (or user) to back up all its repositories.',
    );
  }

  const shardSize = integer(read, 'shard-size', 20, 1, 1000);
  const apiUrl = (env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, '');
  if (listed.length > 0) {
    // Filters only apply to a listing: with an explicit list they would silently do nothing. Their
    // defaults are allowed, so that a reusable workflow can pass its inputs through unconditionally.
    const filter = changedFilter(readFilters(read));
    if (filter) {
      throw new InputError(
        filter,
        'only applies with "organization": an explicit "repositories" list is taken as given. Remove this input, or edit the list.',
      );
    }
    return { repositories: explicitList(listed), filters: DEFAULT_FILTERS, shardSize, token, apiUrl };
  }

  if (!LOGIN.test(organization)) {
    throw new InputError(
      'organization',
      `"${organization}" is not an organization or user name: write just the name, e.g. octo-org.`,
    );
  }
  const filters = readFilters(read);
  if (!token) {
    throw new InputError(
      'token',
      "is required to list an organization's repositories: leave it at its default (github.token) or pass a token that can read them.",
    );
  }
  return { repositories: [], organization, filters, shardSize, token, apiUrl };
}

/** Each line once, as written; a credential in a URL would end up in the job outputs. */
function explicitList(lines: string[]): string[] {
  const index = lines.findIndex((line) => /^[a-z][a-z0-9+.-]*:\/\/[^/@\s]+@/i.test(line));
  if (index >= 0) {
    throw new InputError(
      'repositories',
      `entry ${index + 1} has credentials in its URL, which the plan would write into the job outputs. Remove them and give the backup step a token instead.`,
    );
  }
  return [...new Set(lines)];
}

const DEFAULT_FILTERS: RepositoryFilters = {
  include: [],
  exclude: [],
  archived: false,
  forks: false,
  visibility: 'all',
};

/** The first filter input whose value differs from its default. */
function changedFilter(filters: RepositoryFilters): (typeof FILTER_INPUTS)[number] | undefined {
  return FILTER_INPUTS.find((name) => {
    const value = filters[name];
    return Array.isArray(value) ? value.length > 0 : value !== DEFAULT_FILTERS[name];
  });
}

function readFilters(read: InputReader): RepositoryFilters {
  const include = readPatterns(read, 'include');
  const exclude = readPatterns(read, 'exclude');
  const visibility = (read('visibility').trim() || 'all').toLowerCase() as VisibilityFilter;
  if (!VISIBILITIES.includes(visibility)) {
    throw new InputError('visibility', `"${read('visibility')}" is not one of ${VISIBILITIES.join(', ')}.`);
  }
  return {
    include,
    exclude,
    archived: boolean(read, 'archived', false),
    forks: boolean(read, 'forks', false),
    visibility,
  };
}

function readPatterns(read: InputReader, input: string): string[] {
  const patterns = parseList(read(input));
  const bad = patterns.find((pattern) => !/^[^/\s]+(?:\/[^/\s]+)?$/.test(pattern));
  if (bad !== undefined) {
    throw new InputError(
      input,
      `"${bad}" is not a pattern: write a name (backup-*) or owner/name (octo-org/app-?), without spaces.`,
    );
  }
  return patterns;
}

/** `*` and `?` stay within a name segment; everything else is literal; case does not matter. */
export function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .split('')
    .map((char) =>
      char === '*' ? '[^/]*' : char === '?' ? '[^/]' : char.replace(/[\\^$.|+()[\]{}]/g, '\\$&'),
    )
    .join('');
  return new RegExp(`^${body}$`, 'i');
}

/** A pattern with a `/` matches owner/name, any other the repository's name. */
export function matchesAny(repository: Pick<OwnerRepository, 'fullName' | 'name'>, patterns: string[]) {
  return patterns.some((pattern) =>
    globToRegExp(pattern).test(pattern.includes('/') ? repository.fullName : repository.name),
  );
}

export type SkipReason = 'disabled' | 'archived' | 'fork' | 'visibility' | 'include' | 'exclude';

/** Why a repository is left out, or undefined when it is kept. Exclude wins over include. */
export function skipReason(repository: OwnerRepository, filters: RepositoryFilters): SkipReason | undefined {
  if (repository.disabled) return 'disabled';
  if (repository.archived && !filters.archived) return 'archived';
  if (repository.fork && !filters.forks) return 'fork';
  if (filters.visibility !== 'all' && repository.visibility !== filters.visibility) return 'visibility';
  if (filters.include.length > 0 && !matchesAny(repository, filters.include)) return 'include';
  if (matchesAny(repository, filters.exclude)) return 'exclude';
  return undefined;
}

export function filterRepositories(
  repositories: OwnerRepository[],
  filters: RepositoryFilters,
): { kept: OwnerRepository[]; skipped: Partial<Record<SkipReason, string[]>> } {
  const kept: OwnerRepository[] = [];
  const skipped: Partial<Record<SkipReason, string[]>> = {};
  for (const repository of repositories) {
    const reason = skipReason(repository, filters);
    if (reason) (skipped[reason] ??= []).push(repository.fullName);
    else kept.push(repository);
  }
  return { kept, skipped };
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

/** Validates the inputs, lists the organization when one is given, filters, and shards. */
export async function runPlan(
  read: InputReader,
  env: NodeJS.ProcessEnv = process.env,
  api?: ApiOptions,
): Promise<PlanResult> {
  const settings = parsePlanSettings(read, env);
  if (!settings.organization) return buildPlan(settings.repositories, settings.shardSize);

  const owner = settings.organization;
  const listed = await listOwnerRepositories({ owner, token: settings.token, apiUrl: settings.apiUrl }, api);
  const { kept, skipped } = filterRepositories(listed, settings.filters);
  const left = Object.entries(skipped).map(
    ([reason, names]) => `${names.length} ${REASONS[reason as SkipReason]}`,
  );
  log.info(
    `${owner}: ${listed.length} ${listed.length === 1 ? 'repository' : 'repositories'} listed, ${kept.length} planned${left.length ? ` (left out: ${left.join(', ')})` : ''}.`,
  );
  if (skipped.disabled) {
    log.warning(
      `Disabled on GitHub, so they cannot be cloned and are left out: ${skipped.disabled.join(', ')}.`,
    );
  }
  if (kept.length === 0) throw emptyPlan(owner, listed.length, left);
  return buildPlan(
    kept.map((repository) => repository.fullName),
    settings.shardSize,
  );
}

const REASONS: Record<SkipReason, string> = {
  disabled: 'disabled',
  archived: 'archived (archived: false)',
  fork: 'forks (forks: false)',
  visibility: 'of another visibility',
  include: 'not matching include',
  exclude: 'matching exclude',
};

/** A backup job over nothing would look green: no repository to plan is an error. */
function emptyPlan(owner: string, listed: number, left: string[]): InputError {
  if (listed === 0) {
    return new InputError(
      'organization',
      redact(
        `"${owner}" has no repository the token can see. github.token sees only public repositories and its own; pass a token that can read the others.`,
      ),
    );
  }
  return new InputError(
    'organization',
    `none of the ${listed} repositories of "${owner}" is left after the filters (${left.join(', ')}). Loosen include, exclude, archived, forks or visibility.`,
  );
}

/** The job summary: a headline with the counts and one row per shard. */
export function planSummary(plan: PlanResult): string {
  const n = plan.repositories.length;
  const rows = plan.shards.map((shard) => {
    const names = shard.repositories.split('\n');
    return `| ${shard.shard} | ${shard.count} | ${cell(names[0])} | ${cell(names[names.length - 1])} |`;
  });
  return redact(
    [
      `## 🗂️ Plan: ${n} ${n === 1 ? 'repository' : 'repositories'} in ${plan.shards.length} ${plan.shards.length === 1 ? 'shard' : 'shards'}`,
      '',
      '| Shard | Repositories | First | Last |',
      '| --- | --- | --- | --- |',
      ...rows,
      '',
    ].join('\n'),
  );
}

/** Table cells hold user text: a `|` would split the cell. */
function cell(text: string): string {
  return `\`${text.replace(/\|/g, '\\|').replace(/`/g, "'")}\``;
}
