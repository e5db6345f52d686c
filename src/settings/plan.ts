import {
  DEFAULT_FILTERS,
  type RepositoryFilters,
  VISIBILITIES,
  type VisibilityFilter,
} from '../plan/filter.js';
import { InputError } from '../util/errors.js';
import { addSecret } from '../util/secrets.js';
import { apiUrlOf, boolean, type InputReader, integer, parseList } from './inputs.js';

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

const FILTER_INPUTS = ['include', 'exclude', 'archived', 'forks', 'visibility'] as const;
const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;

/** What `plan` was asked to do, validated before any request is made. */
export function readPlanSettings(read: InputReader, env: NodeJS.ProcessEnv = process.env): PlanSettings {
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
  const apiUrl = apiUrlOf(env);
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
