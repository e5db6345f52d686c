import type { Readable } from 'node:stream';
import * as log from '../log/log.js';
import type { ApiObject, RecordState, ReleaseJson } from '../snapshot/records.js';
import { redact } from '../util/secrets.js';
import {
  type Api,
  type ApiOptions,
  createClient,
  DEFAULT_API,
  headerOf,
  isServerError,
  messageOf,
  type Octokit,
  statusOf,
} from './client.js';
import {
  branchesOf,
  dayOf,
  fenced,
  labelNamesOf,
  loginOf,
  milestoneTitleOf,
  placeOf,
  pullStateOf,
  reviewStateOf,
  textOf,
  type Thread,
  threadsOf,
  type TimelineEntry,
  timelineOf,
} from './threads.js';

/**
 * Restores a snapshot's labels, milestones, releases, issues and pull requests into a repository.
 * Pull requests become issues that read as their thread (a pull request cannot be made without its
 * branches as they were). Everything restored carries a hidden marker naming the original, so a second
 * run finds it again: it creates nothing twice and changes only what differs.
 */

export interface MetadataRestoreOptions {
  owner: string;
  repo: string;
  token: string;
  /** GITHUB_API_URL, without a trailing slash. */
  apiUrl: string;
  api?: ApiOptions;
  state: RecordState;
  /** owner/repo the snapshot was taken of, for the texts */
  source: string;
  readBlob(sha256: string): Promise<Readable>;
}

export interface MetadataRestoreResult {
  created: Record<string, number>;
  updated: Record<string, number>;
  unchanged: Record<string, number>;
}

type Outcome = keyof MetadataRestoreResult;

/** GitHub keeps at most this many characters in an issue's or a comment's body. */
const MAX_BODY = 65536;

export async function restoreMetadata(options: MetadataRestoreOptions): Promise<MetadataRestoreResult> {
  const api: Api = { ...DEFAULT_API, ...options.api };
  const restore = new Restore(options, api);
  await restore.step('labels', 'issues: write', () => restore.labels());
  const milestones = await restore.step('milestones', 'issues: write', () => restore.milestones());
  await restore.step('releases', 'contents: write', () => restore.releases());
  await restore.step('issues and pull requests', 'issues: write', () => restore.threads(milestones));
  log.info(
    `Restored the metadata of ${options.source} into ${options.owner}/${options.repo}: ${describe(restore.result)}.`,
  );
  return restore.result;
}

interface ExistingIssue {
  number: number;
  title: string;
  body: string;
  state: string;
  state_reason: string | null;
  labels: string[];
  milestone: number | null;
}

class Restore {
  readonly result: MetadataRestoreResult = { created: {}, updated: {}, unchanged: {} };
  private readonly octokit: Octokit;
  private readonly where: string;

  constructor(
    private readonly options: MetadataRestoreOptions,
    private readonly api: Api,
  ) {
    this.octokit = createClient(options.token, options.apiUrl, api, 'metadata-restore');
    this.where = `${options.owner}/${options.repo}`;
  }

  private count(outcome: Outcome, what: string): void {
    this.result[outcome][what] = (this.result[outcome][what] ?? 0) + 1;
  }

  private request(route: string, params: Record<string, unknown> = {}) {
    const repository = route.includes('{owner}')
      ? { owner: this.options.owner, repo: this.options.repo }
      : {};
    return this.octokit.request(route, { ...repository, ...params });
  }

  private list(route: string, params: Record<string, unknown> = {}): Promise<ApiObject[]> {
    return this.octokit.paginate(route, {
      owner: this.options.owner,
      repo: this.options.repo,
      per_page: 100,
      ...params,
    }) as Promise<ApiObject[]>;
  }

  /** Runs one part; a failure says which part, which request and what to do. */
  async step<T>(what: string, permission: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw restoreError(
        error,
        `the ${what} of ${this.options.source} into ${this.where}`,
        permission,
        this.api,
      );
    }
  }

  /** By name (GitHub compares label names without case): created, or color and description set. */
  async labels(): Promise<void> {
    const existing = new Map(
      (await this.list('GET /repos/{owner}/{repo}/labels')).map((l) => [lower(l.name), l]),
    );
    for (const label of this.options.state.set('labels')) {
      const wanted = { color: textOf(label.color), description: textOf(label.description) };
      const found = existing.get(lower(label.name));
      if (!found) {
        await this.request('POST /repos/{owner}/{repo}/labels', {
          name: label.name,
          color: wanted.color,
          // No description stays none, rather than an empty one.
          ...(wanted.description ? { description: wanted.description } : {}),
        });
        this.count('created', 'labels');
      } else if (
        lower(found.color) !== lower(wanted.color) ||
        textOf(found.description) !== wanted.description
      ) {
        await this.request('PATCH /repos/{owner}/{repo}/labels/{name}', { name: found.name, ...wanted });
        this.count('updated', 'labels');
      } else this.count('unchanged', 'labels');
    }
  }

  /** By title: created, or state, description and due date set. Returns title → number. */
  async milestones(): Promise<Map<string, number>> {
    const existing = await this.list('GET /repos/{owner}/{repo}/milestones', { state: 'all' });
    const numbers = new Map(existing.map((m) => [textOf(m.title), Number(m.number)]));
    const byTitle = new Map(existing.map((m) => [textOf(m.title), m]));
    for (const milestone of this.options.state.set('milestones')) {
      const title = textOf(milestone.title);
      const wanted = {
        state: textOf(milestone.state) || 'open',
        description: textOf(milestone.description),
        due_on: (milestone.due_on as string | null) ?? null,
      };
      const found = byTitle.get(title);
      if (!found) {
        const created = await this.request('POST /repos/{owner}/{repo}/milestones', {
          title,
          state: wanted.state,
          description: wanted.description,
          ...(wanted.due_on ? { due_on: wanted.due_on } : {}),
        });
        numbers.set(title, Number((created.data as ApiObject).number));
        this.count('created', 'milestones');
        continue;
      }
      const changes = differences(found, wanted, {
        description: (a, b) => textOf(a) === textOf(b),
        due_on: sameTime,
      });
      if (Object.keys(changes).length) {
        await this.request('PATCH /repos/{owner}/{repo}/milestones/{milestone_number}', {
          milestone_number: found.number,
          ...changes,
        });
        this.count('updated', 'milestones');
      } else this.count('unchanged', 'milestones');
    }
    return numbers;
  }

  /** By tag: created (oldest first, as they were) and their missing assets uploaded. */
  async releases(): Promise<void> {
    const existing = new Map(
      (await this.list('GET /repos/{owner}/{repo}/releases')).map((r) => [textOf(r.tag_name), r]),
    );
    const releases = [...this.options.state.set('releases')].sort((a, b) =>
      textOf(a.created_at).localeCompare(textOf(b.created_at)),
    );
    for (const release of releases) {
      const wanted = {
        name: textOf(release.name),
        body: textOf(release.body),
        draft: Boolean(release.draft),
        prerelease: Boolean(release.prerelease),
      };
      let target = existing.get(textOf(release.tag_name));
      if (!target) {
        const created = await this.request('POST /repos/{owner}/{repo}/releases', {
          tag_name: release.tag_name,
          target_commitish: release.target_commitish,
          ...wanted,
        });
        target = created.data as ApiObject;
        this.count('created', 'releases');
      } else {
        const changes = differences(target, wanted, { name: sameText, body: sameText });
        if (Object.keys(changes).length) {
          await this.request('PATCH /repos/{owner}/{repo}/releases/{release_id}', {
            release_id: target.id,
            ...changes,
          });
          this.count('updated', 'releases');
        } else this.count('unchanged', 'releases');
      }
      await this.assets(release, target);
    }
  }

  /** Uploads each asset the release lacks by name, streamed from its blob. */
  private async assets(release: ReleaseJson, target: ApiObject): Promise<void> {
    const present = new Map(
      ((target.assets as ApiObject[] | undefined) ?? []).map((a) => [textOf(a.name), a]),
    );
    for (const asset of release.assets) {
      const name = textOf(asset.name);
      const found = present.get(name);
      if (found && (found.state === undefined || found.state === 'uploaded')) {
        this.count('unchanged', 'assets');
        continue;
      }
      if (!asset.sha256) {
        log.warning(
          `Release ${textOf(release.tag_name)}: the snapshot has no bytes of "${name}"; not uploading it.`,
        );
        continue;
      }
      // An upload that broke off leaves a "starter" asset that blocks the name.
      if (found)
        await this.request('DELETE /repos/{owner}/{repo}/releases/assets/{asset_id}', { asset_id: found.id });
      const body = await this.options.readBlob(asset.sha256);
      try {
        await this.octokit.request({
          method: 'POST',
          url: textOf(target.upload_url),
          name,
          ...(asset.label ? { label: asset.label } : {}),
          data: body,
          headers: {
            'content-type': textOf(asset.content_type) || 'application/octet-stream',
            'content-length': Number(asset.size),
          },
          // A stream cannot be sent twice; a failed upload is retried by running the restore again.
          request: { retries: 0 },
        });
      } finally {
        body.destroy();
      }
      this.count('created', 'assets');
    }
  }

  /**
   * Issues and pull requests in their original number order, each with its comments. Restored ones
   * are found by the marker in their body, from one listing of the repository's issues.
   */
  async threads(milestones: Map<string, number>): Promise<void> {
    const existing = await this.restoredIssues();
    const comments = existing.size ? await this.restoredComments() : new Map<string, ApiObject>();
    for (const thread of threadsOf(this.options.state)) {
      const found = existing.get(thread.number);
      const number = found
        ? await this.update(thread, found, milestones)
        : await this.create(thread, milestones);
      for (const entry of timelineOf(thread)) await this.comment(number, entry, comments);
      // A new issue is closed after its comments, as the original was.
      const closing = found ? undefined : stateChange(thread, { state: 'open', state_reason: null });
      if (closing)
        await this.request('PATCH /repos/{owner}/{repo}/issues/{issue_number}', {
          issue_number: number,
          ...closing,
        });
    }
  }

  private async restoredIssues(): Promise<Map<number, ExistingIssue>> {
    const marker = new RegExp(`<!-- backup-action:${escapeRegExp(this.options.source)}#(\\d+) -->`);
    const found = new Map<number, ExistingIssue>();
    for (const issue of await this.list('GET /repos/{owner}/{repo}/issues', { state: 'all' })) {
      const original = marker.exec(textOf(issue.body))?.[1];
      if (issue.pull_request || !original) continue;
      found.set(Number(original), {
        number: Number(issue.number),
        title: textOf(issue.title),
        body: textOf(issue.body),
        state: textOf(issue.state),
        state_reason: (issue.state_reason as string | null) ?? null,
        labels: labelNamesOf(issue),
        milestone: (issue.milestone as { number?: number } | null)?.number ?? null,
      });
    }
    return found;
  }

  private async restoredComments(): Promise<Map<string, ApiObject>> {
    const found = new Map<string, ApiObject>();
    for (const comment of await this.list('GET /repos/{owner}/{repo}/issues/comments')) {
      const marker = /<!-- backup-action:((?:comment|review|review-comment):\d+) -->/.exec(
        textOf(comment.body),
      )?.[1];
      if (marker) found.set(marker, comment);
    }
    return found;
  }

  private async create(thread: Thread, milestones: Map<string, number>): Promise<number> {
    const wanted = this.wanted(thread, milestones);
    const created = await this.request('POST /repos/{owner}/{repo}/issues', {
      title: wanted.title,
      body: wanted.body,
      labels: wanted.labels,
      ...(wanted.milestone !== null ? { milestone: wanted.milestone } : {}),
    });
    this.count('created', thread.kind === 'pull' ? 'pulls' : 'issues');
    return Number((created.data as ApiObject).number);
  }

  /** Brings an issue restored before up to date, in one request when anything differs. */
  private async update(
    thread: Thread,
    existing: ExistingIssue,
    milestones: Map<string, number>,
  ): Promise<number> {
    const wanted = this.wanted(thread, milestones);
    const changes: Record<string, unknown> = { ...stateChange(thread, existing) };
    if (existing.title !== wanted.title) changes.title = wanted.title;
    if (existing.body !== wanted.body) changes.body = wanted.body;
    if (!sameSet(existing.labels, wanted.labels)) changes.labels = wanted.labels;
    if (existing.milestone !== wanted.milestone) changes.milestone = wanted.milestone;
    const what = thread.kind === 'pull' ? 'pulls' : 'issues';
    if (Object.keys(changes).length) {
      await this.request('PATCH /repos/{owner}/{repo}/issues/{issue_number}', {
        issue_number: existing.number,
        ...changes,
      });
      this.count('updated', what);
    } else this.count('unchanged', what);
    return existing.number;
  }

  /** What the restored issue of a thread says. */
  private wanted(thread: Thread, milestones: Map<string, number>) {
    const title =
      thread.kind === 'pull'
        ? `[PR #${thread.number}] ${textOf(thread.data.title)}`
        : textOf(thread.data.title);
    const milestoneTitle = milestoneTitleOf(thread.data);
    return {
      title,
      body: this.threadBody(thread),
      labels: labelNamesOf(thread.data),
      milestone: (milestoneTitle !== undefined ? milestones.get(milestoneTitle) : undefined) ?? null,
    };
  }

  private threadBody(thread: Thread): string {
    const data = thread.data;
    const header = `_Originally ${link(`#${thread.number}`, data.html_url)} by ${userLink(data)} on ${dayOf(data.created_at)} — restored by backup-action from ${this.options.source}._`;
    const pull =
      thread.kind === 'pull'
        ? [
            `**Pull request** ${branchesOf(data)}, ${pullStateOf(data)}${data.merged_at ? ` on ${dayOf(data.merged_at)}` : ''}.`,
          ]
        : [];
    return withBody(
      [header, ...pull],
      textOf(data.body),
      `<!-- backup-action:${this.options.source}#${thread.number} -->`,
    );
  }

  /** Creates the comment when the issue lacks it, or sets its text when it differs. */
  private async comment(
    issue: number,
    entry: TimelineEntry,
    existing: Map<string, ApiObject>,
  ): Promise<void> {
    const what = entry.kind === 'comment' ? 'comments' : `${entry.kind}s`;
    const key = `${entry.kind}:${String(entry.data.id)}`;
    const body = this.commentBody(entry, `<!-- backup-action:${key} -->`);
    const found = existing.get(key);
    if (!found) {
      await this.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
        issue_number: issue,
        body,
      });
      this.count('created', what);
    } else if (textOf(found.body) !== body) {
      await this.request('PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}', {
        comment_id: found.id,
        body,
      });
      this.count('updated', what);
    } else this.count('unchanged', what);
  }

  private commentBody(entry: TimelineEntry, marker: string): string {
    const data = entry.data;
    const by = `by ${userLink(data)} on ${dayOf(entry.at)}`;
    const from = `restored by backup-action from ${this.options.source}`;
    if (entry.kind === 'review') {
      const header = `_${link('Review', data.html_url)} ${by}: **${reviewStateOf(data)}** — ${from}._`;
      return withBody([header], textOf(data.body), marker);
    }
    if (entry.kind === 'review-comment') {
      const header = `_${link('Review comment', data.html_url)} on ${placeOf(data)} ${by} — ${from}._`;
      const hunk = textOf(data.diff_hunk);
      const context = hunk ? [`<details><summary>Diff</summary>\n\n${fenced(hunk, 'diff')}\n</details>`] : [];
      return withBody([header, ...context], textOf(data.body), marker);
    }
    return withBody([`_${link('Comment', data.html_url)} ${by} — ${from}._`], textOf(data.body), marker);
  }
}

/** The state to set for the issue to be as the original is (a pull request: merged → completed), if any. */
function stateChange(
  thread: Thread,
  existing: Pick<ExistingIssue, 'state' | 'state_reason'>,
): { state: string; state_reason?: string } | undefined {
  const data = thread.data;
  if (data.state !== 'closed') return existing.state === 'open' ? undefined : { state: 'open' };
  const reason =
    thread.kind === 'pull'
      ? data.merged_at
        ? 'completed'
        : 'not_planned'
      : data.state_reason === 'not_planned'
        ? 'not_planned'
        : 'completed';
  if (existing.state === 'closed' && (existing.state_reason ?? 'completed') === reason) return undefined;
  return { state: 'closed', state_reason: reason };
}

/** Header lines, the original text and the marker, the text cut to what GitHub keeps. */
function withBody(header: string[], text: string, marker: string): string {
  const before = `${header.join('\n\n')}\n\n`;
  const after = `\n\n${marker}`;
  const cut = '\n\n_(Cut here: GitHub keeps 65,536 characters. The whole text is in the snapshot.)_';
  const room = MAX_BODY - before.length - after.length;
  const body = text.length <= room ? text : text.slice(0, room - cut.length) + cut;
  return `${before}${body}${after}`;
}

function link(text: string, url: unknown): string {
  return url ? `[${text}](${textOf(url)})` : text;
}

/** "@login" as a link: GitHub does not notify the people named in a link's text. */
function userLink(data: ApiObject): string {
  const user = data.user as { html_url?: string } | null | undefined;
  return link(`@${loginOf(data)}`, user?.html_url);
}

function differences(
  current: ApiObject,
  wanted: Record<string, unknown>,
  same: Record<string, (a: unknown, b: unknown) => boolean> = {},
): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(wanted).filter(([key, value]) => !(same[key] ?? Object.is)(current[key], value)),
  );
}

function sameText(a: unknown, b: unknown): boolean {
  return textOf(a) === textOf(b);
}

function sameTime(a: unknown, b: unknown): boolean {
  if (!a || !b) return !a && !b;
  return Date.parse(String(a)) === Date.parse(String(b));
}

function sameSet(a: string[], b: string[]): boolean {
  const norm = (list: string[]) => [...new Set(list.map(lower))].sort().join('\n');
  return norm(a) === norm(b);
}

function lower(value: unknown): string {
  return textOf(value).toLowerCase();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function describe(result: MetadataRestoreResult): string {
  const parts = Object.entries(result.created).map(([what, n]) => `${n} ${what} created`);
  parts.push(...Object.entries(result.updated).map(([what, n]) => `${n} ${what} updated`));
  return parts.length ? parts.join(', ') : 'everything was already there';
}

function restoreError(error: unknown, what: string, permission: string, api: Api): Error {
  const status = statusOf(error);
  if (status === undefined) return error instanceof Error ? error : new Error(String(error));
  const message = messageOf(error);
  const request = (error as { request?: { method?: string; url?: string } }).request;
  const url = request?.url ? new URL(request.url, 'http://x') : undefined;
  const sent = url ? `${request?.method ?? 'GET'} ${url.pathname}${url.search}` : 'a request';
  let advice = '';
  if (status === 401 || status === 404)
    advice = ` Check that the token can see the repository and has ${permission}.`;
  else if (status === 403 && /rate limit/i.test(message))
    advice = ' Run the restore again later: it goes on where it stopped.';
  else if (status === 403) {
    const accepted = headerOf(error, 'x-accepted-github-permissions');
    advice = ` The token needs ${permission}${accepted ? ` (GitHub asks for ${accepted})` : ''}.`;
  } else if (status === 410) advice = ' Turn on Issues in the repository settings.';
  else if (isServerError(error))
    advice = ` It did so ${api.retries + 1} times; run the restore again: it goes on where it stopped.`;
  return new Error(redact(`Restoring ${what} failed: ${sent} answered ${status} "${message}".${advice}`));
}
