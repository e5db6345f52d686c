import * as cache from '@actions/cache';
import { createHash } from 'node:crypto';
import { errorMessage } from '../util/errors.js';
import * as log from '../log/log.js';
import type { RefState } from './mirror.js';
import type { Source } from './source.js';

/**
 * Keeps mirrors in the Actions cache between runs, so a daily run fetches only what is new. Keys are
 * immutable, so each distinct ref state gets its own key and a run restores the newest by prefix.
 * Outside Actions (CLI) the cache is not available and the mirror folder itself persists.
 */
function keyPrefix(source: Source): string {
  return `backup-action-mirror-v1-${digest(source.name).slice(0, 16)}-`;
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Restores the newest cached mirror of `source` into `dir`; returns its key, or undefined on a miss. */
export async function restoreMirror(source: Source, dir: string): Promise<string | undefined> {
  if (!cache.isFeatureAvailable()) return undefined;
  try {
    const prefix = keyPrefix(source);
    return await cache.restoreCache([dir], `${prefix}latest`, [prefix]);
  } catch (error) {
    // A cache miss or outage only costs a full clone.
    log.warning(`mirror cache not restored for ${source.spec}: ${errorMessage(error)}`);
    return undefined;
  }
}

/** Saves the mirror under a key of its ref state, unless that is the state it was restored from. */
export async function saveMirror(
  source: Source,
  dir: string,
  state: RefState,
  restoredKey?: string,
): Promise<void> {
  if (!cache.isFeatureAvailable()) return;
  const refsDigest = digest(JSON.stringify([state.head, Object.entries(state.refs).sort()])).slice(0, 16);
  const key = `${keyPrefix(source)}${refsDigest}`;
  if (key === restoredKey) return;
  try {
    await cache.saveCache([dir], key);
  } catch (error) {
    log.warning(`mirror cache not saved for ${source.spec}: ${errorMessage(error)}`);
  }
}
