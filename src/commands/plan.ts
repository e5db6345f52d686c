import { type ApiOptions, listOwnerRepositories } from '../github/repositories.js';
import * as log from '../log/log.js';
import { filterRepositories, type SkipReason } from '../plan/filter.js';
import { buildPlan, type PlanResult } from '../plan/shards.js';
import type { PlanSettings } from '../settings/plan.js';
import { InputError } from '../util/errors.js';
import { redact } from '../util/secrets.js';

/** `plan`: lists the organization when one is given, filters, and shards. */
export async function runPlan(settings: PlanSettings, api?: ApiOptions): Promise<PlanResult> {
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
