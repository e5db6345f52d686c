import { DEFAULT_LABEL, type IssueSettings } from '../github/issues.js';
import { issueFingerprint } from '../github/issue-texts.js';
import { InputError } from '../util/errors.js';
import { addSecret } from '../util/secrets.js';
import { apiUrlOf, boolean, type InputReader, parseList, serverUrlOf } from './inputs.js';

/** Parses the inputs and the run's context (GITHUB_* variables) before any request is made. */
export function readIssueSettings(read: InputReader, env: NodeJS.ProcessEnv = process.env): IssueSettings {
  const token = read('token');
  addSecret(token);
  if (!token) {
    throw new InputError(
      'token',
      'is required: leave it at its default (github.token) and give the job `permissions: issues: write`.',
    );
  }

  const status = (read('status') || 'failure').toLowerCase();
  if (status !== 'success' && status !== 'failure' && status !== 'cancelled') {
    throw new InputError(
      'status',
      `"${read('status')}" is not one of success, failure, cancelled. Pass \`status: \${{ job.status }}\`.`,
    );
  }

  const repository = env.GITHUB_REPOSITORY ?? '';
  const [owner, repo, ...rest] = repository.split('/');
  if (!owner || !repo || rest.length > 0) {
    throw new Error(
      `GITHUB_REPOSITORY is ${repository ? `"${repository}", not owner/name` : 'not set'}: open-issue-on-failure runs in a GitHub Actions workflow.`,
    );
  }
  const workflow = env.GITHUB_WORKFLOW ?? '';
  if (!workflow) {
    throw new Error('GITHUB_WORKFLOW is not set: open-issue-on-failure runs in a GitHub Actions workflow.');
  }

  const title = read('title').trim() || `Backup failed: ${workflow}`;
  if (title.length > 256) throw new InputError('title', 'is longer than 256 characters.');

  const labels = parseList(read('labels'));
  if (labels.length === 0) labels.push(DEFAULT_LABEL);
  const longLabel = labels.find((name) => name.length > 50);
  if (longLabel !== undefined) {
    throw new InputError('labels', `"${longLabel}" is longer than GitHub's 50 characters for a label.`);
  }

  const assignees = parseList(read('assignees')).map((login) => login.replace(/^@/, ''));
  const badLogin = assignees.find((login) => !/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/.test(login));
  if (badLogin !== undefined) {
    throw new InputError('assignees', `"${badLogin}" is not a GitHub login. List logins, one per line.`);
  }
  if (assignees.length > 10) throw new InputError('assignees', 'lists more than the 10 GitHub allows.');

  const serverUrl = serverUrlOf(env);
  const runId = env.GITHUB_RUN_ID || undefined;
  const runAttempt = Math.max(1, parseInt(env.GITHUB_RUN_ATTEMPT ?? '', 10) || 1);
  const runUrl = runId
    ? `${serverUrl}/${owner}/${repo}/actions/runs/${runId}${runAttempt > 1 ? `/attempts/${runAttempt}` : ''}`
    : undefined;

  return {
    token,
    status,
    title,
    body: read('body').trim(),
    labels,
    assignees,
    closeOnSuccess: boolean(read, 'close-on-success', true),
    owner,
    repo,
    workflow,
    runUrl,
    runId,
    runAttempt,
    apiUrl: apiUrlOf(env),
    fingerprint: issueFingerprint(repository, workflow),
  };
}
