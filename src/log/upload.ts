import * as fs from 'node:fs';
import * as path from 'node:path';
import { errorMessage } from '../util/errors.js';
import * as log from './log.js';

export interface RunLogUpload {
  /** True once the artifact service confirmed (finalized) the artifact. */
  uploaded: boolean;
  /** The artifact's id (as in the REST API and the run page's download link), when uploaded. */
  id?: number;
  /** Bytes uploaded (the zip, not the log), when uploaded. */
  size?: number;
  /** The log on disk; it is never moved or deleted, uploaded or not. */
  path: string;
}

/**
 * Where an artifact can go: a JavaScript action's step on github.com (or GHE.com) gets
 * ACTIONS_RUNTIME_TOKEN and ACTIONS_RESULTS_URL from the runner. `run:` steps (the CLI in a workflow)
 * do not, and GitHub Enterprise Server has no artifact service for this client.
 */
function artifactServiceAvailable(): 'yes' | 'no' | 'ghes' {
  if (!process.env.ACTIONS_RUNTIME_TOKEN || !process.env.ACTIONS_RESULTS_URL) return 'no';
  // The client's own rule (internal/shared/config.ts isGhes), checked here so that GHES gets one
  // clear warning instead of the client's generic one plus ours.
  let host: string;
  try {
    host = new URL(process.env.GITHUB_SERVER_URL || 'https://github.com').hostname.toUpperCase();
  } catch {
    return 'ghes';
  }
  const github = host === 'GITHUB.COM' || host.endsWith('.GHE.COM') || host.endsWith('.LOCALHOST');
  return github ? 'yes' : 'ghes';
}

/**
 * Uploads the run log as a workflow artifact named `options.name` (zipped, as every artifact is), kept
 * `options.retentionDays` days (capped by the repository's setting; 0 = the repository default).
 *
 * Outside Actions it uploads nothing and says nothing: the file stays where it is and the caller
 * reports `path`. A failed upload never fails the run: it is a warning and `uploaded: false`.
 */
export async function uploadRunLog(
  file: string,
  options: { name: string; retentionDays: number },
): Promise<RunLogUpload> {
  const result: RunLogUpload = { uploaded: false, path: path.resolve(file) };
  const available = artifactServiceAvailable();
  if (available === 'no') return result;
  if (available === 'ghes') {
    log.warning(
      `Run log not uploaded: artifacts are not available on GitHub Enterprise Server with this client; it is at ${result.path}`,
    );
    return result;
  }
  try {
    if (!fs.statSync(result.path).isFile()) throw new Error('not a file');
    // Loaded only here: the CLI outside Actions never needs it.
    const { DefaultArtifactClient } = await import('@actions/artifact');
    const response = await new DefaultArtifactClient().uploadArtifact(
      options.name,
      [result.path],
      path.dirname(result.path),
      options.retentionDays > 0 ? { retentionDays: Math.ceil(options.retentionDays) } : {},
    );
    return { ...result, uploaded: true, id: response.id, size: response.size };
  } catch (error) {
    log.warning(
      `Run log not uploaded as artifact "${options.name}": ${errorMessage(error)}; it is at ${result.path}`,
    );
    return result;
  }
}
