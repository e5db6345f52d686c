import { setTimeout as sleep } from 'node:timers/promises';
import * as log from '../log/log.js';
import { InputError } from '../util/errors.js';
import { redact } from '../util/secrets.js';
import {
  type ApiOptions,
  createClient,
  DEFAULT_API,
  headerOf,
  isServerError,
  mentionsField,
  messageOf,
  type Octokit,
  statusOf,
} from './client.js';
import {
  failedAgainText,
  fingerprintMarker,
  type IssueText,
  newIssueText,
  recoveredText,
} from './issue-texts.js';

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

export interface IssueSettings extends IssueText {
  /** Registered as a secret; never written anywhere. */
  token: string;
  status: JobStatus;
  title: string;
  /** At least one; the first is the one open issues are searched by. */
  labels: string[];
  assignees: string[];
  owner: string;
  repo: string;
  /** GITHUB_API_URL, without a trailing slash. */
  apiUrl: string;
  api?: ApiOptions;
}

export const DEFAULT_LABEL = 'backup-failure';
/** Open issues carrying the search label that are looked through, 100 a page. */
const MAX_PAGES = 10;

export interface FoundIssue {
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
      if (statusOf(error) === 422 && assignees.length > 0 && mentionsField(error, 'assignees')) {
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
