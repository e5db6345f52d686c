import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { setTimeout as sleep } from 'node:timers/promises';
import * as log from '../log/log.js';
import type { ApiObject, ReleaseJson, SnapshotRecord } from '../snapshot/records.js';
import { errorMessage } from '../util/errors.js';
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

/**
 * Incremental backup of a repository's issues, pull requests and releases as snapshot records. Lists
 * that can be asked for "what changed since" (issues, comments, review comments) are asked so; pull
 * requests, which cannot, are read newest-updated first until an older one; small whole sets (labels,
 * milestones, releases) are asked with their ETag, and a 304 costs nothing against the rate limit.
 */

export type MetadataKind = 'issues' | 'pulls' | 'releases';

/** Kept in the snapshot's manifest, handed back on the next run. */
export interface MetadataCursor {
  /** The server's Date at the start of the run that made this cursor (from the first response's `date` header), ISO. */
  since: string;
  /**
   * ETag per whole-set endpoint ('labels' | 'milestones' | 'releases'); a set of more than one page
   * has one per page after the first too ('labels:2', …), and one for the empty page after a full last one.
   */
  etags: Record<string, string>;
  /** Release assets already stored: asset id → its blob's sha256, size and the asset's updated_at. */
  assets: Record<string, StoredAsset>;
  kinds: MetadataKind[];
}

export interface StoredAsset {
  sha256: string;
  size: number;
  updatedAt: string;
}

export interface MetadataOptions {
  owner: string;
  repo: string;
  token: string;
  /** GITHUB_API_URL, without a trailing slash. */
  apiUrl: string;
  api?: ApiOptions;
  kinds: MetadataKind[];
  /** The previous snapshot's cursor; absent → a full fetch. A kind not in previous.kinds is fetched in full. */
  previous?: MetadataCursor;
  emit(record: SnapshotRecord): Promise<void>;
  /** Stores an asset's bytes content-addressed; returns their sha256 and size. */
  storeAsset(
    asset: { id: number; name: string; size: number },
    body: Readable,
  ): Promise<{ sha256: string; size: number }>;
}

export interface MetadataResult {
  cursor: MetadataCursor;
  /** Records emitted, per record type. */
  emitted: Record<string, number>;
  /** Requests sent to the API (retries too), and those that counted against the rate limit (all but 304s). */
  requests: number;
  counted: number;
  included: MetadataKind[];
  /**
   * Kinds not backed up and why; `error: true` when it is a problem to fix (a token without a
   * permission), false when there is nothing to back up (issues turned off in the repository).
   */
  skipped: Array<{ kind: MetadataKind; reason: string; error: boolean }>;
  /** Bytes of assets downloaded and stored by this run. */
  assetBytes: number;
}

const KINDS: MetadataKind[] = ['issues', 'pulls', 'releases'];
const PERMISSION: Record<MetadataKind, string> = {
  issues: 'issues: read',
  pulls: 'pull_requests: read',
  releases: 'contents: read',
};
const PER_PAGE = 100;

export async function fetchMetadata(options: MetadataOptions): Promise<MetadataResult> {
  const api: Api = { ...DEFAULT_API, ...options.api };
  const session = new Session(options, api);
  const run = new Run(options, session);
  const where = `${options.owner}/${options.repo}`;

  for (const kind of KINDS.filter((k) => options.kinds.includes(k))) {
    try {
      if (kind === 'issues') await run.issues();
      if (kind === 'pulls') await run.pulls();
      if (kind === 'releases') await run.releases();
      run.included.push(kind);
    } catch (error) {
      const skip = skipOf(kind, error, where);
      if (!skip) throw failure(kind, error, where, api);
      (skip.error ? log.warning : log.info)(`Not backing up the ${kind} of ${where}: ${skip.reason}`);
      run.skipped.push(skip);
    }
  }

  const counted = session.requests - session.notModified;
  log.info(
    `Metadata of ${where}: ${describe(run.emitted)}; ${session.requests} API requests, ${counted} counted against the rate limit.`,
  );
  return {
    cursor: {
      since: session.serverDate ?? session.startedAt,
      etags: run.etags,
      assets: run.assets,
      kinds: run.included,
    },
    emitted: run.emitted,
    requests: session.requests,
    counted,
    included: run.included,
    skipped: run.skipped,
    assetBytes: run.assetBytes,
  };
}

/** What one run backs up, and what it keeps for the next. */
class Run {
  readonly emitted: Record<string, number> = {};
  readonly included: MetadataKind[] = [];
  readonly skipped: MetadataResult['skipped'] = [];
  readonly etags: Record<string, string> = {};
  assets: Record<string, StoredAsset> = {};
  assetBytes = 0;
  /** Numbers the issue listing showed to be pull requests: their comments belong to `pulls`. */
  private readonly pullNumbers = new Set<number>();
  private commentsListed = false;

  constructor(
    private readonly options: MetadataOptions,
    private readonly session: Session,
  ) {}

  /** The previous run's start, when it backed up this kind too: only what changed since is asked for. */
  private since(kind: MetadataKind): string | undefined {
    const previous = this.options.previous;
    return previous?.kinds.includes(kind) ? previous.since : undefined;
  }

  private async emit(record: SnapshotRecord): Promise<void> {
    await this.options.emit(record);
    this.emitted[record.type] = (this.emitted[record.type] ?? 0) + 1;
  }

  async issues(): Promise<void> {
    await this.wholeSet('issues', 'labels', '/repos/{owner}/{repo}/labels', {});
    await this.wholeSet('issues', 'milestones', '/repos/{owner}/{repo}/milestones', { state: 'all' });
    const since = this.since('issues');
    for await (const issue of this.session.updatedSince('/repos/{owner}/{repo}/issues', since, {
      state: 'all',
    })) {
      // The issue listing shows pull requests too; they are backed up, whole, from `pulls`.
      if (issue.pull_request) this.pullNumbers.add(issue.number as number);
      else await this.emit({ type: 'issue', key: String(issue.number), data: issue });
    }
    await this.issueComments(this.options.kinds.includes('pulls') ? ['issues', 'pulls'] : ['issues']);
  }

  /**
   * One repository-wide listing of conversation comments (instead of one per issue), for issues and
   * for pull requests alike: each is kept when its kind is in `kinds`.
   */
  private async issueComments(kinds: MetadataKind[]): Promise<void> {
    const full = kinds.some((k) => this.since(k) === undefined);
    const since = full ? undefined : this.since(kinds[0]);
    for await (const comment of this.session.updatedSince(
      '/repos/{owner}/{repo}/issues/comments',
      since,
      {},
    )) {
      const issue = numberAtEnd(comment.issue_url);
      const onPull = this.pullNumbers.has(issue) || /\/pull\/\d+/.test(String(comment.html_url ?? ''));
      if (!kinds.includes(onPull ? 'pulls' : 'issues')) continue;
      await this.emit({ type: 'issue-comment', key: String(comment.id), issue, data: comment });
    }
    this.commentsListed = true;
  }

  async pulls(): Promise<void> {
    const since = this.since('pulls');
    // Without `issues`, the conversation comments of pull requests are listed here.
    const onePerPull = !this.commentsListed && !(await this.pullConversationComments());
    // No `since` here: a full fetch reads in creation order, which new pulls cannot reshuffle; an
    // incremental one reads newest-updated first and stops at the first older than the last run.
    const order = since ? { sort: 'updated', direction: 'desc' } : { sort: 'created', direction: 'asc' };
    const pulls = this.session.pages('GET /repos/{owner}/{repo}/pulls', { state: 'all', ...order });
    pages: for await (const page of pulls) {
      for (const pull of page) {
        if (since && Date.parse(String(pull.updated_at)) < Date.parse(since)) break pages;
        const number = pull.number as number;
        await this.emit({ type: 'pull', key: String(number), data: pull });
        const reviews = this.session.pages('GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews', {
          pull_number: number,
        });
        for await (const reviewPage of reviews) {
          for (const review of reviewPage) {
            await this.emit({ type: 'review', key: String(review.id), pull: number, data: review });
          }
        }
        if (onePerPull) await this.conversationOf(number, since);
      }
    }
    const comments = this.session.updatedSince('/repos/{owner}/{repo}/pulls/comments', since, {});
    for await (const comment of comments) {
      const pull = numberAtEnd(comment.pull_request_url);
      await this.emit({ type: 'review-comment', key: String(comment.id), pull, data: comment });
    }
  }

  /** The repository-wide comment listing for pull requests; false when issues are turned off. */
  private async pullConversationComments(): Promise<boolean> {
    try {
      await this.issueComments(['pulls']);
      return true;
    } catch (error) {
      // Issues turned off: GitHub refuses the repository-wide listing, not a pull request's own.
      if (statusOf(error) !== 410) throw error;
      return false;
    }
  }

  private async conversationOf(pull: number, since: string | undefined): Promise<void> {
    const comments = this.session.pages('GET /repos/{owner}/{repo}/issues/{issue_number}/comments', {
      issue_number: pull,
      ...(since ? { since } : {}),
    });
    for await (const page of comments) {
      for (const comment of page) {
        await this.emit({ type: 'issue-comment', key: String(comment.id), issue: pull, data: comment });
      }
    }
  }

  async releases(): Promise<void> {
    const previous = this.since('releases') ? this.options.previous : undefined;
    const releases = await this.wholeSet('releases', 'releases', '/repos/{owner}/{repo}/releases', {}, false);
    if (!releases) {
      this.assets = { ...previous?.assets };
      return;
    }
    const known = new Map(Object.values(previous?.assets ?? {}).map((a) => [a.sha256, a.size]));
    for (const release of releases as ReleaseJson[]) {
      for (const asset of release.assets ?? []) {
        const stored = await this.asset(release, asset, previous?.assets[String(asset.id)], known);
        asset.sha256 = stored.sha256;
        known.set(stored.sha256, stored.size);
        this.assets[String(asset.id)] = { ...stored, updatedAt: String(asset.updated_at) };
      }
    }
    await this.emit({ type: 'releases', key: '', data: releases as ReleaseJson[] });
  }

  /** An asset's blob: the one stored before when the asset is unchanged, else downloaded and stored. */
  private async asset(
    release: ApiObject,
    asset: ApiObject,
    before: StoredAsset | undefined,
    known: Map<string, number>,
  ): Promise<{ sha256: string; size: number }> {
    const digest = /^sha256:([0-9a-f]{64})$/i.exec(String(asset.digest ?? ''))?.[1]?.toLowerCase();
    if (before && before.updatedAt === asset.updated_at && before.size === asset.size) {
      if (!digest || digest === before.sha256) return before;
    }
    // Same bytes already stored (re-uploaded under a new id, or attached to two releases).
    if (digest && known.get(digest) === asset.size) return { sha256: digest, size: asset.size as number };

    const what = `asset "${String(asset.name)}" of release ${String(release.tag_name)}`;
    const body = await this.session.download(asset.id as number);
    const stored = await this.options
      .storeAsset({ id: asset.id as number, name: String(asset.name), size: asset.size as number }, body)
      .finally(() => body.destroy());
    if (stored.size !== asset.size) {
      throw new Error(
        `The ${what} is ${String(asset.size)} bytes on GitHub, but ${stored.size} bytes were downloaded: the download broke off.`,
      );
    }
    if (digest && digest !== stored.sha256) {
      throw new Error(
        `The ${what} has the digest sha256:${digest} on GitHub, but the bytes downloaded have sha256:${stored.sha256}.`,
      );
    }
    this.assetBytes += stored.size;
    return stored;
  }

  /**
   * A whole set (labels, milestones, releases), one record when it changed. Each page is asked with
   * the ETag it had last time; only when one of them changed are the unchanged ones read again.
   * Returns the set when it changed (emitting it unless `emit` is false), else undefined.
   */
  private async wholeSet(
    kind: MetadataKind,
    name: 'labels' | 'milestones' | 'releases',
    path: string,
    params: Record<string, string>,
    emit = true,
  ): Promise<ApiObject[] | undefined> {
    const before = this.since(kind) ? (this.options.previous?.etags ?? {}) : {};
    const key = (page: number) => (page === 1 ? name : `${name}:${page}`);
    const pages: Array<ApiObject[] | undefined> = [];
    let changed = false;
    for (let page = 1; ; page++) {
      const etag = before[key(page)];
      const response = await this.session.conditional(path, { ...params, per_page: PER_PAGE, page }, etag);
      if (response.etag) this.etags[key(page)] = response.etag;
      pages.push(response.items);
      if (response.items) changed = true;
      const more = response.items ? response.items.length === PER_PAGE : before[key(page + 1)] !== undefined;
      if (!more) break;
    }
    if (!changed) return undefined;
    const items: ApiObject[] = [];
    for (const [index, page] of pages.entries()) {
      items.push(
        ...(page ??
          (await this.session.conditional(path, { ...params, per_page: PER_PAGE, page: index + 1 })).items ??
          []),
      );
    }
    if (emit) await this.emit({ type: name, key: '', data: items } as SnapshotRecord);
    return items;
  }
}

/** Bound to one repository; counts every request sent (retries too) and remembers the server's clock. */
class Session {
  requests = 0;
  notModified = 0;
  serverDate?: string;
  readonly startedAt = new Date().toISOString();
  private readonly octokit: Octokit;

  constructor(
    private readonly options: MetadataOptions,
    private readonly api: Api,
  ) {
    this.octokit = createClient(options.token, options.apiUrl, api, 'metadata');
  }

  /** Below Octokit's retries: each attempt passes through here. */
  private readonly fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    this.requests++;
    const response = await fetch(input, init);
    if (response.status === 304) this.notModified++;
    const date = response.headers.get('date');
    if (!this.serverDate && date && !Number.isNaN(Date.parse(date)))
      this.serverDate = new Date(date).toISOString();
    return response;
  };

  request(route: string, params: Record<string, unknown> = {}) {
    // Only routes that name them get owner and repo: any other parameter of a GET becomes a query one.
    const repository = route.includes('{owner}')
      ? { owner: this.options.owner, repo: this.options.repo }
      : {};
    return this.octokit.request(route, {
      ...repository,
      ...params,
      request: { fetch: this.fetch, ...(params.request as object) },
    });
  }

  /** Pages of a listing, following GitHub's Link header. */
  async *pages(route: string, params: Record<string, unknown>): AsyncGenerator<ApiObject[]> {
    let response = await this.request(route, { ...params, per_page: PER_PAGE });
    for (;;) {
      yield response.data as ApiObject[];
      const next = /<([^<>]+)>;\s*rel="next"/.exec(String(response.headers.link ?? ''))?.[1];
      if (!next) return;
      response = await this.request(`GET ${next}`);
    }
  }

  /**
   * Items updated at or after `since` (all when undefined), oldest first. Each page after the first is
   * asked with `since` = the last item's updated_at rather than by page number, so that an item updated
   * while the listing runs (it moves to the end) cannot push another past a page boundary unseen. Items
   * seen at that boundary time are not given twice.
   */
  async *updatedSince(
    path: string,
    since: string | undefined,
    params: Record<string, unknown>,
  ): AsyncGenerator<ApiObject> {
    let from = since;
    let page = 1;
    let atBoundary = new Set<unknown>();
    for (;;) {
      const response = await this.request(`GET ${path}`, {
        ...params,
        sort: 'updated',
        direction: 'asc',
        per_page: PER_PAGE,
        ...(from ? { since: from } : {}),
        ...(page > 1 ? { page } : {}),
      });
      const items = response.data as ApiObject[];
      for (const item of items) {
        if (from && item.updated_at === from && atBoundary.has(item.id)) continue;
        yield item;
      }
      if (items.length < PER_PAGE) return;
      const last = String(items[items.length - 1].updated_at);
      if (last === from) {
        // A whole page updated in the same second: page on by number within that second.
        page++;
      } else {
        from = last;
        page = 1;
        atBoundary = new Set();
      }
      for (const item of items) if (item.updated_at === from) atBoundary.add(item.id);
    }
  }

  /** A page asked with If-None-Match: its items and ETag, or no items when unchanged (304). */
  async conditional(
    path: string,
    params: Record<string, unknown>,
    etag?: string,
  ): Promise<{ items?: ApiObject[]; etag?: string }> {
    try {
      const response = await this.request(`GET ${path}`, {
        ...params,
        ...(etag ? { headers: { 'if-none-match': etag } } : {}),
      });
      return { items: response.data as ApiObject[], etag: response.headers.etag };
    } catch (error) {
      if (statusOf(error) === 304) return { etag: headerOf(error, 'etag') ?? etag };
      throw error;
    }
  }

  /**
   * An asset's bytes as a stream. GitHub answers with a redirect to a signed URL on another host: it
   * is followed here by hand, without the Authorization header (which the signed URL must not get).
   */
  async download(assetId: number): Promise<Readable> {
    const response = await this.request('GET /repos/{owner}/{repo}/releases/assets/{asset_id}', {
      asset_id: assetId,
      headers: { accept: 'application/octet-stream' },
      request: { redirect: 'manual', parseSuccessResponseBody: false },
    });
    const body = response.data as unknown as WebReadableStream | null;
    if (response.status === 200) return body ? Readable.fromWeb(body) : Readable.from([]);
    const location = response.headers.location;
    await body?.cancel().catch(() => undefined);
    if (response.status < 300 || response.status >= 400 || !location) {
      throw new Error(
        `GET /repos/{owner}/{repo}/releases/assets/${assetId} answered ${response.status} without the asset.`,
      );
    }
    return this.signedDownload(new URL(location, this.options.apiUrl));
  }

  /** The signed URL holds its own credentials; 5xx and network errors are tried again, as for the API. */
  private async signedDownload(url: URL): Promise<Readable> {
    const shown = `${url.origin}${url.pathname}`;
    for (let attempt = 0; ; attempt++) {
      let problem: string;
      try {
        const response = await fetch(url, { headers: { accept: 'application/octet-stream' } });
        if (response.ok && response.body) return Readable.fromWeb(response.body as WebReadableStream);
        problem = `${response.status} ${response.statusText}`;
        await response.body?.cancel().catch(() => undefined);
        if (response.status < 500) throw new Error(`Downloading ${shown} failed: ${problem}.`);
      } catch (error) {
        if (!(error instanceof TypeError)) throw error;
        problem = errorMessage(error.cause ?? error);
      }
      if (attempt >= this.api.retries) {
        throw new Error(`Downloading ${shown} failed: ${problem}, also after ${this.api.retries} retries.`);
      }
      await sleep((attempt + 1) ** 2 * this.api.retryBaseMs);
    }
  }
}

/** A refusal that skips the kind instead of failing the backup. */
function skipOf(
  kind: MetadataKind,
  error: unknown,
  where: string,
): MetadataResult['skipped'][number] | undefined {
  const status = statusOf(error);
  const message = messageOf(error);
  if (status === 410) {
    return { kind, reason: `issues are turned off in ${where} (410 "${message}").`, error: false };
  }
  const accepted = headerOf(error, 'x-accepted-github-permissions');
  if (status === 403 && (accepted !== undefined || /not accessible/i.test(message))) {
    return {
      kind,
      reason: redact(
        `the token lacks ${PERMISSION[kind]}: GitHub answered 403 "${message}" to ${requestOf(error)}${accepted ? ` (it asks for ${accepted})` : ''}. Add \`permissions: ${PERMISSION[kind]}\` to the job, or pass a token that has it.`,
      ),
      error: true,
    };
  }
  return undefined;
}

function failure(kind: MetadataKind, error: unknown, where: string, api: Api): Error {
  const status = statusOf(error);
  if (status === undefined) return error instanceof Error ? error : new Error(String(error));
  const message = messageOf(error);
  const retried = isServerError(error) ? `, also after ${api.retries} retries` : '';
  const limited = /rate limit/i.test(message)
    ? `, also after ${api.rateLimitRetries} waits for the rate limit`
    : '';
  return new Error(
    redact(
      `Backing up the ${kind} of ${where} failed: ${requestOf(error)} answered ${status} "${message}"${retried}${limited}.`,
    ),
  );
}

/** "GET /repos/o/r/issues?…" of a failed request, without the host. */
function requestOf(error: unknown): string {
  const request = (error as { request?: { method?: string; url?: string } }).request;
  if (!request?.url) return 'a request';
  const url = new URL(request.url, 'http://x');
  return `${request.method ?? 'GET'} ${url.pathname}${url.search}`;
}

function numberAtEnd(url: unknown): number {
  return Number(/\/(\d+)$/.exec(String(url ?? ''))?.[1] ?? NaN);
}

function describe(counts: Record<string, number>): string {
  const parts = Object.entries(counts).map(([type, n]) => `${n} ${type}`);
  return parts.length ? parts.join(', ') : 'nothing changed';
}
