import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { InputError } from '../util/errors.js';
import { boolean, type InputReader, parseList } from '../settings/backup.js';
import * as log from '../log/log.js';
import { addSecret, redact } from '../util/secrets.js';
import {
  type ApiErrorShape,
  type ApiOptions,
  createClient,
  DEFAULT_API,
  headerOf,
  messageOf,
  type Octokit,
  statusOf,
} from './client.js';

export type { ApiOptions };

/** `job.status` as the workflow passes it. */
export type JobStatus = 'success' | 'failure' | 'cancelled';

/** What the run did; the action's `action` output. */
export type IssueAction = 'created' | 'commented' | 'closed' | 'none';

export interface IssueResult {
  action: IssueAction;
  /** The issue created, commented on or closed (the oldest, when several were open). */
  issueNumber?: number;
  issueUrl?: string;
}

export interface IssueSettings {
  /** Registered as a secret; never written anywhere. */
  token: string;
  status: JobStatus;
  title: string;
  /** Extra text for the issue and each comment (e.g. the failing repositories); may be ''. */
  body: string;
  /** At least one; the first is the one open issues are searched by. */
  labels: string[];
  assignees: string[];
  closeOnSuccess: boolean;
  owner: string;
  repo: string;
  workflow: string;
  /** The run's page; undefined when GITHUB_RUN_ID is not set. */
  runUrl?: string;
  runId?: string;
  runAttempt: number;
  /** GITHUB_API_URL, without a trailing slash. */
  apiUrl: string;
  /** sha256 of repository + workflow; marks this workflow's issue in its body. */
  fingerprint: string;
  api?: ApiOptions;
}

export const DEFAULT_LABEL = 'backup-failure';
/** GitHub rejects bodies over 65536 characters; the user's text gets most of that. */
const MAX_EXTRA_BODY = 60000;
/** Open issues carrying the search label that are looked through, 100 a page. */
const MAX_PAGES = 10;

/** The hidden line that identifies this workflow's issue, whatever its title. */
export function fingerprintMarker(fingerprint: string): string {
  return `<!-- backup-action:fingerprint=${fingerprint} -->`;
}

export function issueFingerprint(repository: string, workflow: string): string {
  return createHash('sha256').update(`${repository.toLowerCase()}\n${workflow}`).digest('hex');
}

/** Parses the inputs and the run's context (GITHUB_* variables) before any request is made. */
export function parseIssueSettings(read: InputReader, env: NodeJS.ProcessEnv = process.env): IssueSettings {
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

  const serverUrl = (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '');
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
    apiUrl: (env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, ''),
    fingerprint: issueFingerprint(repository, workflow),
  };
}

interface FoundIssue {
  number: number;
  html_url: string;
  created_at: string;
}

/**
 * Failure: comments on this workflow's open issue, or opens one. Success (with close-on-success):
 * comments on it and closes it. The issue is found by label and the fingerprint in its body, never
 * by title, so a renamed issue is still found and someone else's issue with the same title is not.
 */
export async function runIssueOnFailure(settings: IssueSettings): Promise<IssueResult> {
  const where = `${settings.owner}/${settings.repo}`;
  if (settings.status === 'cancelled') {
    log.info('The job was cancelled: no issue is opened, commented on or closed.');
    return { action: 'none' };
  }
  if (settings.status === 'success' && !settings.closeOnSuccess) {
    log.info('The job succeeded and close-on-success is false: nothing to do.');
    return { action: 'none' };
  }

  const api = { ...DEFAULT_API, ...settings.api };
  const octokit = createClient(settings.token, settings.apiUrl, api, 'issue');
  const open = await step(settings, api, 'list the open issues', () => findOpenIssues(octokit, settings));
  const [oldest, ...others] = open;
  if (others.length > 0) {
    log.warning(
      `${open.length} open issues in ${where} are for the workflow "${settings.workflow}": ${open.map((i) => `#${i.number}`).join(', ')}. Using the oldest, #${oldest.number}; close the others.`,
    );
  }

  if (settings.status === 'success') {
    if (!oldest) {
      log.info(`No open issue for the workflow "${settings.workflow}" in ${where}: nothing to close.`);
      return { action: 'none' };
    }
    for (const issue of open) {
      await step(settings, api, `comment on issue #${issue.number}`, () =>
        comment(octokit, settings, issue.number, recoveredText(settings)),
      );
      await step(settings, api, `close issue #${issue.number}`, () =>
        octokit.rest.issues.update({
          owner: settings.owner,
          repo: settings.repo,
          issue_number: issue.number,
          state: 'closed',
          state_reason: 'completed',
        }),
      );
      log.info(`Closed ${issue.html_url}: the workflow succeeded again.`);
    }
    return { action: 'closed', issueNumber: oldest.number, issueUrl: oldest.html_url };
  }

  if (oldest) {
    await step(settings, api, `comment on issue #${oldest.number}`, () =>
      comment(octokit, settings, oldest.number, failedAgainText(settings, others)),
    );
    log.info(`Commented on ${oldest.html_url}: the workflow failed again.`);
    return { action: 'commented', issueNumber: oldest.number, issueUrl: oldest.html_url };
  }

  const created = await step(settings, api, 'create an issue', () => createIssue(octokit, settings, api));
  log.info(`Opened ${created.html_url} for the failed workflow.`);
  return { action: 'created', issueNumber: created.number, issueUrl: created.html_url };
}

async function findOpenIssues(octokit: Octokit, settings: IssueSettings): Promise<FoundIssue[]> {
  const marker = fingerprintMarker(settings.fingerprint);
  let pages = 0;
  const items = await octokit.paginate(
    octokit.rest.issues.listForRepo,
    {
      owner: settings.owner,
      repo: settings.repo,
      state: 'open',
      labels: settings.labels[0],
      sort: 'created',
      direction: 'asc',
      per_page: 100,
    },
    (response, done) => {
      if (++pages >= MAX_PAGES && /rel="next"/.test(response.headers.link ?? '')) {
        log.warning(
          `More than ${MAX_PAGES * 100} open issues are labelled "${settings.labels[0]}"; only the oldest ${MAX_PAGES * 100} were searched.`,
        );
        done();
      }
      return response.data;
    },
  );
  return items
    .filter((issue) => !issue.pull_request && (issue.body ?? '').includes(marker))
    .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.number - b.number);
}

/**
 * An answer of 5xx does not say whether the issue was created: before trying again, look for it,
 * so that one failure never opens two issues. (The plugin's own retries are off for this request.)
 */
async function createIssue(
  octokit: Octokit,
  settings: IssueSettings,
  api: typeof DEFAULT_API,
): Promise<FoundIssue> {
  let assignees = settings.assignees;
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await octokit.rest.issues.create({
        owner: settings.owner,
        repo: settings.repo,
        title: settings.title,
        body: newIssueText(settings),
        labels: settings.labels,
        ...(assignees.length ? { assignees } : {}),
        request: { retries: 0 },
      });
      return response.data;
    } catch (error) {
      if (statusOf(error) === 422 && assignees.length > 0 && mentionsAssignees(error)) {
        // The issue matters more than who it is assigned to.
        log.warning(
          `assignees: GitHub refused ${assignees.join(', ')} (${messageOf(error)}); opening the issue without assignees.`,
        );
        assignees = [];
        attempt--;
        continue;
      }
      if (!isServerError(error) || attempt >= api.retries) throw error;
      const wait = (attempt + 1) ** 2 * api.retryBaseMs;
      log.warning(
        `Creating the issue failed (${statusOf(error)} ${messageOf(error)}); checking whether it was created anyway, then trying again.`,
      );
      await sleep(wait);
      const [found] = await findOpenIssues(octokit, settings);
      if (found) return found;
    }
  }
}

function comment(octokit: Octokit, settings: IssueSettings, issueNumber: number, body: string) {
  return octokit.rest.issues.createComment({
    owner: settings.owner,
    repo: settings.repo,
    issue_number: issueNumber,
    body,
  });
}

function runLink(settings: IssueSettings): string {
  if (!settings.runUrl) return 'a run';
  const attempt = settings.runAttempt > 1 ? `, attempt ${settings.runAttempt}` : '';
  return `[run ${settings.runId}${attempt}](${settings.runUrl})`;
}

/** The user's text, without secrets and short enough for GitHub. */
function extraText(settings: IssueSettings): string[] {
  if (!settings.body) return [];
  const text = redact(settings.body);
  return [
    '',
    text.length > MAX_EXTRA_BODY
      ? `${text.slice(0, MAX_EXTRA_BODY)}\n\n… (cut at ${MAX_EXTRA_BODY} characters)`
      : text,
  ];
}

function newIssueText(settings: IssueSettings): string {
  return [
    fingerprintMarker(settings.fingerprint),
    `The workflow **${settings.workflow}** failed in ${runLink(settings)}.`,
    ...extraText(settings),
    '',
    settings.closeOnSuccess
      ? '_backup-action adds each further failure here as a comment and closes this issue when the workflow succeeds again._'
      : '_backup-action adds each further failure here as a comment._',
  ].join('\n');
}

function failedAgainText(settings: IssueSettings, others: FoundIssue[]): string {
  const lines = [
    `The workflow **${settings.workflow}** failed again in ${runLink(settings)}.`,
    ...extraText(settings),
  ];
  if (others.length > 0) {
    lines.push(
      '',
      `_${others.map((i) => `#${i.number}`).join(', ')} ${others.length === 1 ? 'is' : 'are'} also open for this workflow. This issue, the oldest, is the one kept up to date: close the others._`,
    );
  }
  return lines.join('\n');
}

function recoveredText(settings: IssueSettings): string {
  return `Recovered in ${runLink(settings)}: the workflow **${settings.workflow}** succeeded.`;
}

/** Runs one API step; a failure becomes an error that says what to fix, without the token. */
async function step<T>(
  settings: IssueSettings,
  api: typeof DEFAULT_API,
  what: string,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw apiError(error, what, settings, api);
  }
}

function apiError(error: unknown, what: string, settings: IssueSettings, api: typeof DEFAULT_API): Error {
  const status = statusOf(error);
  if (status === undefined) return error instanceof Error ? error : new Error(String(error));
  const where = `${settings.owner}/${settings.repo}`;
  const message = messageOf(error);
  const permission = '`permissions: issues: write`';

  if (status === 401) {
    return new InputError(
      'token',
      redact(
        `GitHub refused it (401 "${message}") when trying to ${what} in ${where}. Leave "token" at its default, github.token, with ${permission} on the job, or pass a valid token.`,
      ),
    );
  }
  if ((status === 403 || status === 429) && /rate limit/i.test(message)) {
    return new Error(
      redact(
        `GitHub's ${/secondary/i.test(message) ? 'secondary ' : ''}rate limit stopped the attempt to ${what} in ${where} (${status} "${message}"), after up to ${api.rateLimitRetries} retries. Run the workflow again later.`,
      ),
    );
  }
  if (status === 403 && /\blocked\b/i.test(message)) {
    return new Error(
      redact(
        `GitHub refused to ${what} in ${where}: 403 "${message}". Unlock the issue, or close it so that the next failure opens a new one.`,
      ),
    );
  }
  if (status === 403) {
    const accepted = headerOf(error, 'x-accepted-github-permissions');
    return new InputError(
      'token',
      redact(
        `may not ${what} in ${where}: GitHub answered 403 "${message}". The token needs the issues: write permission: add ${permission} to the job (or the workflow), or pass a token that can write issues in "token".${accepted ? ` GitHub asks for: ${accepted}.` : ''}`,
      ),
    );
  }
  if (status === 404) {
    return new InputError(
      'token',
      redact(
        `cannot ${what} in ${where}: GitHub answered 404 "${message}". The repository does not exist or the token cannot see it; the token needs ${permission} on ${where}.`,
      ),
    );
  }
  if (status === 410) {
    return new Error(
      redact(
        `Issues are turned off in ${where} (410 "${message}" when trying to ${what}). Turn on Issues in the repository's settings, or remove the open-issue-on-failure step.`,
      ),
    );
  }
  if (status >= 500 || status === 0) {
    return new Error(
      redact(
        `The GitHub API failed to ${what} in ${where}: ${status} "${message}", also after ${api.retries} retries. Run the workflow again later.`,
      ),
    );
  }
  return new Error(redact(`GitHub refused to ${what} in ${where}: ${status} "${message}".`));
}

function isServerError(error: unknown): boolean {
  const status = statusOf(error);
  return status !== undefined && (status >= 500 || status === 0);
}

function mentionsAssignees(error: unknown): boolean {
  const data = (error as ApiErrorShape).response?.data as { errors?: Array<{ field?: string }> } | undefined;
  return Array.isArray(data?.errors) && data.errors.some((e) => e?.field === 'assignees');
}
