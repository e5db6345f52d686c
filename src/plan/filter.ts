import picomatch from 'picomatch';
import type { OwnerRepository } from '../github/repositories.js';

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

/** The filters' values when none is given: every active repository but archived ones and forks. */
export const DEFAULT_FILTERS: RepositoryFilters = {
  include: [],
  exclude: [],
  archived: false,
  forks: false,
  visibility: 'all',
};

export const VISIBILITIES: VisibilityFilter[] = ['all', 'public', 'private', 'internal'];

/**
 * A repository pattern as a RegExp (picomatch): `*` and `?` stay within a name segment, case does not
 * matter, `*` matches names starting with a dot (`.github`) too, and every other character is literal
 * (escaped, so that `!`, brackets, braces and parentheses never become glob operators).
 */
export function globToRegExp(pattern: string): RegExp {
  return picomatch.makeRe(pattern.replace(/[^A-Za-z0-9*?/]/g, '\\$&'), { nocase: true, dot: true });
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
