// A GitHub REST API on 127.0.0.1 for a repository's metadata: issues and their comments, pull requests,
// reviews and review comments, labels, milestones, releases and their assets. Backup reads it, restore
// writes it back:
//   GET   /repos/{o}/{r}
//   GET   /repos/{o}/{r}/issues                     POST  /repos/{o}/{r}/issues
//   GET   /repos/{o}/{r}/issues/{n}                 PATCH /repos/{o}/{r}/issues/{n}
//   GET   /repos/{o}/{r}/issues/{n}/comments        POST  /repos/{o}/{r}/issues/{n}/comments
//   GET   /repos/{o}/{r}/issues/comments            GET|PATCH /repos/{o}/{r}/issues/comments/{id}
//   GET   /repos/{o}/{r}/pulls, /pulls/{n}, /pulls/{n}/reviews, /pulls/{n}/comments, /pulls/comments
//   GET   /repos/{o}/{r}/labels                     POST /labels, GET|PATCH /labels/{name}
//   GET   /repos/{o}/{r}/milestones                 POST /milestones, GET|PATCH /milestones/{n}
//   GET   /repos/{o}/{r}/releases                   POST /releases, GET|PATCH /releases/{id}
//   GET   /repos/{o}/{r}/releases/tags/{tag}        GET|DELETE /repos/{o}/{r}/releases/assets/{id}
//   POST  /uploads/repos/{o}/{r}/releases/{id}/assets?name=&label=   (a release's upload_url)
//   GET   /downloads/{signed}                       (where an asset's octet-stream GET redirects)
// and the /repositories/{id}/... forms the Link headers point to, as GitHub's do.
//
// Shapes, status codes, error bodies and headers follow GitHub's REST description: Link pagination
// (per_page 30 by default, at most 100), strong ETags with If-None-Match → 304 (not counted against the
// rate limit), x-ratelimit-* on every API answer, 401/403/404/410/422 as GitHub words them, and
// x-accepted-github-permissions naming the fine-grained permission a 403 lacked. Every repository is
// private: without a token a read is 404, a write 401. Timestamps (created_at, Date, ...) come from a
// clock the test sets and advances; faults are injected with a queue of forced answers.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Access = 'read' | 'write' | 'none';

/** A token's fine-grained repository permissions (metadata: read is implied); absent = none. */
export interface Permissions {
  issues?: Access;
  pull_requests?: Access;
  contents?: Access;
}

type Kind = keyof Permissions;

export interface ApiUser {
  login: string;
  id: number;
  node_id: string;
  avatar_url: string;
  gravatar_id: string;
  url: string;
  html_url: string;
  type: 'User' | 'Bot' | 'Organization';
  site_admin: boolean;
}

export interface ApiLabel {
  id: number;
  node_id: string;
  url: string;
  name: string;
  color: string;
  default: boolean;
  description: string | null;
}

export interface ApiMilestone {
  url: string;
  html_url: string;
  labels_url: string;
  id: number;
  node_id: string;
  number: number;
  state: 'open' | 'closed';
  title: string;
  description: string | null;
  creator: ApiUser;
  /** Counted when answered (issues and pull requests with this milestone). */
  open_issues: number;
  closed_issues: number;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  due_on: string | null;
}

export interface Reactions {
  url: string;
  total_count: number;
  '+1': number;
  '-1': number;
  laugh: number;
  hooray: number;
  confused: number;
  heart: number;
  rocket: number;
  eyes: number;
}

export type StateReason = 'completed' | 'not_planned' | 'reopened' | 'duplicate' | null;

/** An issue, or a pull request seen through the issues API (then `pull_request` is set). */
export interface ApiIssue {
  id: number;
  node_id: string;
  url: string;
  repository_url: string;
  labels_url: string;
  comments_url: string;
  events_url: string;
  html_url: string;
  number: number;
  state: 'open' | 'closed';
  state_reason: StateReason;
  title: string;
  body: string | null;
  user: ApiUser;
  /** The repository's label objects themselves (a renamed label shows renamed). */
  labels: ApiLabel[];
  assignee: ApiUser | null;
  assignees: ApiUser[];
  /** The repository's milestone object itself. */
  milestone: ApiMilestone | null;
  locked: boolean;
  active_lock_reason: string | null;
  comments: number;
  pull_request?: {
    url: string;
    html_url: string;
    diff_url: string;
    patch_url: string;
    merged_at: string | null;
  };
  draft?: boolean;
  closed_at: string | null;
  created_at: string;
  updated_at: string;
  closed_by: ApiUser | null;
  author_association: string;
  reactions: Reactions;
  timeline_url: string;
  performed_via_github_app: null;
}

export interface ApiIssueComment {
  id: number;
  node_id: string;
  url: string;
  html_url: string;
  issue_url: string;
  body: string;
  user: ApiUser;
  created_at: string;
  updated_at: string;
  author_association: string;
  reactions: Reactions;
  performed_via_github_app: null;
}

export interface ApiRepoSummary {
  id: number;
  node_id: string;
  name: string;
  full_name: string;
  private: boolean;
  owner: ApiUser;
  html_url: string;
  url: string;
  default_branch: string;
}

export interface ApiBranch {
  label: string;
  ref: string;
  sha: string;
  user: ApiUser;
  repo: ApiRepoSummary;
}

type Link = { href: string };

export interface ApiPull {
  url: string;
  id: number;
  node_id: string;
  html_url: string;
  diff_url: string;
  patch_url: string;
  issue_url: string;
  commits_url: string;
  review_comments_url: string;
  review_comment_url: string;
  comments_url: string;
  statuses_url: string;
  number: number;
  state: 'open' | 'closed';
  locked: boolean;
  title: string;
  user: ApiUser;
  body: string | null;
  labels: ApiLabel[];
  milestone: ApiMilestone | null;
  active_lock_reason: string | null;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  merged_at: string | null;
  merge_commit_sha: string | null;
  assignee: ApiUser | null;
  assignees: ApiUser[];
  requested_reviewers: ApiUser[];
  requested_teams: unknown[];
  head: ApiBranch;
  base: ApiBranch;
  _links: Record<string, Link>;
  author_association: string;
  auto_merge: null;
  draft: boolean;
  // Only in GET /pulls/{n}, as on GitHub (the list leaves them out):
  merged: boolean;
  mergeable: boolean | null;
  rebaseable: boolean | null;
  mergeable_state: string;
  merged_by: ApiUser | null;
  comments: number;
  review_comments: number;
  maintainer_can_modify: boolean;
  commits: number;
  additions: number;
  deletions: number;
  changed_files: number;
}

/** Fields GitHub sends for a single pull request but not in the list. */
const PULL_DETAIL_ONLY = [
  'merged',
  'mergeable',
  'rebaseable',
  'mergeable_state',
  'merged_by',
  'comments',
  'review_comments',
  'maintainer_can_modify',
  'commits',
  'additions',
  'deletions',
  'changed_files',
] as const;

export type ReviewState = 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED' | 'PENDING';

export interface ApiReview {
  id: number;
  node_id: string;
  user: ApiUser;
  body: string;
  state: ReviewState;
  html_url: string;
  pull_request_url: string;
  author_association: string;
  _links: { html: Link; pull_request: Link };
  submitted_at: string | null;
  commit_id: string;
}

export interface ApiReviewComment {
  url: string;
  pull_request_review_id: number | null;
  id: number;
  node_id: string;
  diff_hunk: string;
  path: string;
  position: number | null;
  original_position: number | null;
  commit_id: string;
  original_commit_id: string;
  in_reply_to_id?: number;
  user: ApiUser;
  body: string;
  created_at: string;
  updated_at: string;
  html_url: string;
  pull_request_url: string;
  author_association: string;
  _links: { self: Link; html: Link; pull_request: Link };
  start_line: number | null;
  original_start_line: number | null;
  start_side: 'LEFT' | 'RIGHT' | null;
  line: number | null;
  original_line: number | null;
  side: 'LEFT' | 'RIGHT';
  subject_type: 'line' | 'file';
  reactions: Reactions;
}

export interface ApiAsset {
  url: string;
  browser_download_url: string;
  id: number;
  node_id: string;
  name: string;
  label: string | null;
  state: 'uploaded';
  content_type: string;
  size: number;
  digest: string;
  download_count: number;
  created_at: string;
  updated_at: string;
  uploader: ApiUser;
}

/** A stored asset: its JSON and its bytes (never sent as JSON). */
export interface FakeAsset extends ApiAsset {
  bytes: Buffer;
}

export interface ApiRelease<A = ApiAsset> {
  url: string;
  html_url: string;
  assets_url: string;
  upload_url: string;
  tarball_url: string | null;
  zipball_url: string | null;
  id: number;
  node_id: string;
  tag_name: string;
  target_commitish: string;
  name: string | null;
  body: string | null;
  draft: boolean;
  prerelease: boolean;
  immutable: boolean;
  created_at: string;
  updated_at: string;
  published_at: string | null;
  author: ApiUser;
  assets: A[];
}

export type FakeRelease = ApiRelease<FakeAsset>;

export interface IssueSeed {
  title: string;
  body?: string | null;
  /** A login (a User, or a Bot when it ends in [bot]); default octocat. */
  user?: string;
  /** Label names; missing labels are created. */
  labels?: string[];
  /** A milestone number (it must exist). */
  milestone?: number;
  assignees?: string[];
  state?: 'open' | 'closed';
  state_reason?: StateReason;
  locked?: boolean;
}

export interface PullSeed {
  title: string;
  body?: string | null;
  user?: string;
  /** Branch names; default `feature-<n>` into the default branch. */
  head?: string;
  base?: string;
  state?: 'open' | 'closed';
  /** Merged (implies closed). */
  merged?: boolean;
  draft?: boolean;
  labels?: string[];
  milestone?: number;
}

export interface IssueChanges {
  title?: string;
  body?: string | null;
  state?: 'open' | 'closed';
  state_reason?: StateReason;
  labels?: string[];
  milestone?: number | null;
  assignees?: string[];
  locked?: boolean;
}

export interface FakeRepo {
  readonly id: number;
  readonly full_name: string;
  has_issues: boolean;
  has_wiki: boolean;
  default_branch: string;
  /** Issues and pull requests (with `pull_request`), one number sequence, in creation order. */
  issues: ApiIssue[];
  /** Issue comments (on issues and on pull requests' conversations), in creation order. */
  comments: ApiIssueComment[];
  pulls: ApiPull[];
  reviews: ApiReview[];
  reviewComments: ApiReviewComment[];
  labels: ApiLabel[];
  milestones: ApiMilestone[];
  releases: FakeRelease[];
  addIssue(fields: IssueSeed): ApiIssue;
  /** A comment on an issue or a pull request; bumps its updated_at. */
  addComment(number: number, fields: { body: string; user?: string }): ApiIssueComment;
  /** A pull request; it is also an issue (same number, in `issues`, with `pull_request`). */
  addPull(fields: PullSeed): ApiPull;
  /** PENDING reviews have no submitted_at; others bump the pull request's updated_at. */
  addReview(pull: number, fields: { state: ReviewState; body?: string; user?: string }): ApiReview;
  addReviewComment(
    pull: number,
    fields: {
      body: string;
      path: string;
      line?: number;
      user?: string;
      review?: number;
      in_reply_to?: number;
    },
  ): ApiReviewComment;
  addLabel(fields: { name: string; color?: string; description?: string | null }): ApiLabel;
  addMilestone(fields: {
    title: string;
    description?: string | null;
    state?: 'open' | 'closed';
    due_on?: string | null;
  }): ApiMilestone;
  addRelease(
    fields: {
      tag_name: string;
      name?: string | null;
      body?: string | null;
      draft?: boolean;
      prerelease?: boolean;
      target_commitish?: string;
      user?: string;
    },
    assets?: Array<{ name: string; bytes: Buffer; content_type?: string; label?: string | null }>,
  ): FakeRelease;
  /** Changes an issue or pull request (closing sets closed_at, reopening state_reason 'reopened'). */
  editIssue(number: number, changes: IssueChanges): ApiIssue;
  /** Edits an issue comment; bumps it and its issue's updated_at. */
  editComment(id: number, body: string): ApiIssueComment;
  /** false: the issue endpoints answer 410 "Issues are disabled for this repo". */
  setHasIssues(enabled: boolean): void;
}

export interface RecordedRequest {
  method: string;
  /** Path and query as sent. */
  url: string;
  status: number;
  headers: IncomingHttpHeaders;
}

/** An answer given instead of the real one: to the next `times` (default 1) requests that match. */
export interface ForcedResponse {
  status: number;
  /** JSON (an object), text (a string), or nothing. */
  body?: unknown;
  headers?: Record<string, string>;
  /** `url` is the path and query as sent; default: any request. */
  match?: (method: string, url: string) => boolean;
  times?: number;
}

export interface MetadataApi {
  /** http://127.0.0.1:<port>: Octokit's baseUrl. */
  url: string;
  requests: RecordedRequest[];
  /** API answers that counted against the rate limit: all but 304s (and asset downloads). */
  rateLimitUsed(): number;
  /** The server's clock in ms (settable): Date headers, created_at, updated_at, ... */
  now: number;
  advance(ms: number): void;
  /** The repository (created empty on first use; unknown ones are 404 to the API). */
  repo(fullName: string): FakeRepo;
  force(response: ForcedResponse): void;
  /** Forced answers not used up yet. */
  pendingFaults(): number;
  stop(): Promise<void>;
}

/** GitHub's primary rate limit answer (403, x-ratelimit-remaining 0, reset `resetSeconds` from the real clock). */
export function rateLimitExceeded({
  resetSeconds = 1,
  match,
}: { resetSeconds?: number; match?: ForcedResponse['match'] } = {}): ForcedResponse {
  return {
    status: 403,
    match,
    headers: {
      'x-ratelimit-remaining': '0',
      'x-ratelimit-used': '5000',
      'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + resetSeconds),
    },
    body: {
      message:
        'API rate limit exceeded for installation ID 1. If you reach out to GitHub Support for help, please include the request ID 0000:1111:2222:3333:44444444 and timestamp 2026-01-01 00:00:00 UTC.',
      documentation_url:
        'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-rate-limits-for-the-rest-api',
      status: '403',
    },
  };
}

/** GitHub's secondary rate limit answer: 403 (or 429) with retry-after (seconds). */
export function secondaryRateLimit({
  retryAfter = 1,
  status = 403,
  match,
}: { retryAfter?: number; status?: 403 | 429; match?: ForcedResponse['match'] } = {}): ForcedResponse {
  return {
    status,
    match,
    headers: { 'retry-after': String(retryAfter) },
    body: {
      message:
        'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0000:1111:2222:3333:44444444.',
      documentation_url:
        'https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
      status: String(status),
    },
  };
}

// --- Internals -----------------------------------------------------------------------------------

const DOCS = 'https://docs.github.com/rest';
const HTML = 'https://github.com';
const LIMIT = 5000;
/** How long a signed download URL works (server clock), as GitHub's do (about 5 minutes). */
const DOWNLOAD_TTL_MS = 5 * 60 * 1000;

interface Answer {
  status: number;
  /** Object → JSON, string → text, Buffer → bytes, undefined → empty. */
  body?: unknown;
  headers?: Record<string, string>;
}

/** Thrown by handlers to answer at once (a 404, a 422, ...). */
class Reject {
  constructor(readonly answer: Answer) {}
}

type Body = Record<string, unknown>;

interface Context {
  repo: RepoState;
  params: string[];
  url: URL;
  /** Path after /repos/{o}/{r} (or /repositories/{id}): for Link headers. */
  rest: string;
  body: Body;
  raw: Buffer;
  headers: IncomingHttpHeaders;
  permissions: Permissions;
}

interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  pattern: RegExp;
  /** Any one of these kinds at `write ? write : read` will do; [] = metadata only. */
  needs: Kind[];
  docs: string;
  /** Answers 410 when the repository's issues are disabled (unless `pullOk` says the number is a pull). */
  issues?: boolean;
  /** The route addresses a pull request's conversation, which stays reachable without issues. */
  pullOk?: (ctx: Omit<Context, 'body'>) => boolean;
  /** Served under /uploads (the upload host). */
  upload?: boolean;
  run: (ctx: Context) => Answer;
}

interface RepoState extends FakeRepo {
  owner: string;
  name: string;
  node_id: string;
  created_at: string;
}

function error(status: number, message: string, docs = DOCS, headers?: Record<string, string>): Answer {
  return { status, body: { message, documentation_url: docs, status: String(status) }, headers };
}

const notFound = (docs = DOCS) => error(404, 'Not Found', docs);

function validationFailed(docs: string, ...errors: Array<Record<string, unknown>>): Reject {
  return new Reject({
    status: 422,
    body: { message: 'Validation Failed', errors, documentation_url: docs, status: '422' },
  });
}

/** GitHub's answer to a body that does not fit the endpoint's schema. */
function invalidRequest(docs: string, detail: string): Reject {
  return new Reject(error(422, `Invalid request.\n\n${detail}`, docs));
}

function hex(text: string, length = 40): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

const ISO = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

function reactions(url: string): Reactions {
  return {
    url: `${url}/reactions`,
    total_count: 0,
    '+1': 0,
    '-1': 0,
    laugh: 0,
    hooray: 0,
    confused: 0,
    heart: 0,
    rocket: 0,
    eyes: 0,
  };
}

function allows(access: Access | undefined, level: 'read' | 'write'): boolean {
  return access === 'write' || (level === 'read' && access === 'read');
}

/** Asset names as GitHub renames them: special characters become '.', no leading or trailing '.'. */
function assetName(name: string): string {
  return name.replace(/[^A-Za-z0-9._+@-]+/g, '.').replace(/^\.+|\.+$/g, '') || 'default';
}

export async function startMetadataApi(options: {
  tokens: Record<string, Permissions>;
}): Promise<MetadataApi> {
  const tokens = new Map(Object.entries(options.tokens));
  const requests: RecordedRequest[] = [];
  const forced: Array<ForcedResponse & { left: number }> = [];
  const repositories = new Map<string, RepoState>();
  const downloads = new Map<string, { repo: RepoState; asset: FakeAsset; expires: number }>();
  const users = new Map<string, ApiUser>();
  let clock = Math.floor(Date.now() / 1000) * 1000;
  let nextId = 1000;
  let port = 0;
  const base = () => `http://127.0.0.1:${port}`;
  /** GitHub writes whole seconds. */
  const stamp = () => new Date(clock).toISOString().replace(/\.\d{3}Z$/, 'Z');

  let totalUsed = 0;
  let windowUsed = 0;
  let resetAt = Math.floor(clock / 1000) + 3600;

  const BOT = 'github-actions[bot]';

  function user(login: string): ApiUser {
    let found = users.get(login.toLowerCase());
    if (!found) {
      const id = login === BOT ? 41898282 : 500000 + users.size;
      const bot = login.endsWith('[bot]');
      found = {
        login,
        id,
        node_id: `${bot ? 'BOT' : 'U'}_${id}`,
        avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
        gravatar_id: '',
        url: `${base()}/users/${encodeURIComponent(login)}`,
        html_url: `${HTML}/${bot ? 'apps/' + login.slice(0, -5) : login}`,
        type: bot ? 'Bot' : 'User',
        site_admin: false,
      };
      users.set(login.toLowerCase(), found);
    }
    return found;
  }

  const association = (repo: RepoState, who: ApiUser) =>
    who.login.toLowerCase() === repo.owner.toLowerCase()
      ? 'OWNER'
      : who.type === 'Bot'
        ? 'NONE'
        : 'CONTRIBUTOR';

  // --- The store ---------------------------------------------------------------------------------

  function repository(fullName: string): RepoState {
    const key = fullName.toLowerCase();
    const existing = repositories.get(key);
    if (existing) return existing;
    const [owner, name] = fullName.split('/');
    if (!owner || !name) throw new Error(`metadata-api: "${fullName}" is not owner/name`);
    const id = nextId++;
    const repo: RepoState = {
      id,
      node_id: `R_${id}`,
      full_name: `${owner}/${name}`,
      owner,
      name,
      created_at: stamp(),
      has_issues: true,
      has_wiki: true,
      default_branch: 'main',
      issues: [],
      comments: [],
      pulls: [],
      reviews: [],
      reviewComments: [],
      labels: [],
      milestones: [],
      releases: [],
      addIssue: (fields) => addIssue(repo, fields),
      addComment: (number, fields) =>
        addComment(repo, mustIssue(repo, number), fields.body, user(fields.user ?? 'octocat')),
      addPull: (fields) => addPull(repo, fields),
      addReview: (number, fields) => addReview(repo, number, fields),
      addReviewComment: (number, fields) => addReviewComment(repo, number, fields),
      addLabel: (fields) => addLabel(repo, fields.name, fields.color, fields.description ?? null),
      addMilestone: (fields) => addMilestone(repo, fields, user('octocat')),
      addRelease: (fields, assets = []) => {
        const release = addRelease(repo, fields, user(fields.user ?? 'octocat'));
        for (const asset of assets)
          addAsset(repo, release, asset.name, asset.bytes, asset.content_type, asset.label);
        return release;
      },
      editIssue: (number, changes) => {
        const issue = mustIssue(repo, number);
        updateIssue(repo, issue, changes, user('octocat'));
        return issue;
      },
      editComment: (id, body) => {
        const comment = repo.comments.find((c) => c.id === id);
        if (!comment) throw new Error(`metadata-api: ${repo.full_name} has no issue comment ${id}`);
        editComment(repo, comment, body);
        return comment;
      },
      setHasIssues: (enabled) => {
        repo.has_issues = enabled;
      },
    };
    repositories.set(key, repo);
    return repo;
  }

  const apiRoot = (repo: RepoState) => `${base()}/repos/${repo.full_name}`;
  const htmlRoot = (repo: RepoState) => `${HTML}/${repo.full_name}`;

  function mustIssue(repo: RepoState, number: number): ApiIssue {
    const issue = repo.issues.find((i) => i.number === number);
    if (!issue) throw new Error(`metadata-api: ${repo.full_name} has no issue or pull request #${number}`);
    return issue;
  }

  function mustPull(repo: RepoState, number: number): ApiPull {
    const pull = repo.pulls.find((p) => p.number === number);
    if (!pull) throw new Error(`metadata-api: ${repo.full_name} has no pull request #${number}`);
    return pull;
  }

  function findLabel(repo: RepoState, name: string): ApiLabel | undefined {
    return repo.labels.find((l) => l.name.toLowerCase() === name.toLowerCase());
  }

  function addLabel(
    repo: RepoState,
    name: string,
    color = 'ededed',
    description: string | null = null,
  ): ApiLabel {
    const id = nextId++;
    const label: ApiLabel = {
      id,
      node_id: `LA_${id}`,
      url: `${apiRoot(repo)}/labels/${encodeURIComponent(name)}`,
      name,
      color,
      default: false,
      description,
    };
    repo.labels.push(label);
    return label;
  }

  const labelsNamed = (repo: RepoState, names: string[]) =>
    names.map((name) => findLabel(repo, name) ?? addLabel(repo, name));

  function milestoneNumbered(repo: RepoState, number: number): ApiMilestone {
    const milestone = repo.milestones.find((m) => m.number === number);
    if (!milestone) throw new Error(`metadata-api: ${repo.full_name} has no milestone ${number}`);
    return milestone;
  }

  function addMilestone(
    repo: RepoState,
    fields: { title: string; description?: string | null; state?: 'open' | 'closed'; due_on?: string | null },
    creator: ApiUser,
  ): ApiMilestone {
    const id = nextId++;
    const number = Math.max(0, ...repo.milestones.map((m) => m.number)) + 1;
    const at = stamp();
    const milestone: ApiMilestone = {
      url: `${apiRoot(repo)}/milestones/${number}`,
      html_url: `${htmlRoot(repo)}/milestone/${number}`,
      labels_url: `${apiRoot(repo)}/milestones/${number}/labels`,
      id,
      node_id: `MI_${id}`,
      number,
      state: fields.state ?? 'open',
      title: fields.title,
      description: fields.description ?? null,
      creator,
      open_issues: 0,
      closed_issues: 0,
      created_at: at,
      updated_at: at,
      closed_at: fields.state === 'closed' ? at : null,
      due_on: fields.due_on ? normalizeTime(fields.due_on) : null,
    };
    repo.milestones.push(milestone);
    return milestone;
  }

  function setAssignees(target: { assignee: ApiUser | null; assignees: ApiUser[] }, logins: string[]) {
    target.assignees = logins.map(user);
    target.assignee = target.assignees[0] ?? null;
  }

  function newIssue(repo: RepoState, fields: IssueSeed, author: ApiUser, pull: boolean): ApiIssue {
    const id = nextId++;
    const number = Math.max(0, ...repo.issues.map((i) => i.number)) + 1;
    const api = `${apiRoot(repo)}/issues/${number}`;
    const at = stamp();
    const closed = fields.state === 'closed';
    const issue: ApiIssue = {
      id,
      node_id: `${pull ? 'PR' : 'I'}_${id}`,
      url: api,
      repository_url: apiRoot(repo),
      labels_url: `${api}/labels{/name}`,
      comments_url: `${api}/comments`,
      events_url: `${api}/events`,
      html_url: `${htmlRoot(repo)}/${pull ? 'pull' : 'issues'}/${number}`,
      number,
      state: closed ? 'closed' : 'open',
      state_reason: closed ? (fields.state_reason ?? 'completed') : (fields.state_reason ?? null),
      title: fields.title,
      body: fields.body ?? null,
      user: author,
      labels: labelsNamed(repo, fields.labels ?? []),
      assignee: null,
      assignees: [],
      milestone: fields.milestone === undefined ? null : milestoneNumbered(repo, fields.milestone),
      locked: fields.locked ?? false,
      active_lock_reason: null,
      comments: 0,
      closed_at: closed ? at : null,
      created_at: at,
      updated_at: at,
      closed_by: closed ? author : null,
      author_association: association(repo, author),
      reactions: reactions(api),
      timeline_url: `${api}/timeline`,
      performed_via_github_app: null,
    };
    setAssignees(issue, fields.assignees ?? []);
    repo.issues.push(issue);
    return issue;
  }

  function addIssue(repo: RepoState, fields: IssueSeed, author = user(fields.user ?? 'octocat')): ApiIssue {
    return newIssue(repo, fields, author, false);
  }

  function summary(repo: RepoState): ApiRepoSummary {
    return {
      id: repo.id,
      node_id: repo.node_id,
      name: repo.name,
      full_name: repo.full_name,
      private: true,
      owner: user(repo.owner),
      html_url: htmlRoot(repo),
      url: apiRoot(repo),
      default_branch: repo.default_branch,
    };
  }

  function addPull(repo: RepoState, fields: PullSeed): ApiPull {
    const author = user(fields.user ?? 'octocat');
    const merged = fields.merged ?? false;
    const state = merged ? 'closed' : (fields.state ?? 'open');
    const issue = newIssue(
      repo,
      {
        title: fields.title,
        body: fields.body,
        labels: fields.labels,
        milestone: fields.milestone,
        state,
      },
      author,
      true,
    );
    const number = issue.number;
    const api = `${apiRoot(repo)}/pulls/${number}`;
    const html = issue.html_url;
    const at = issue.created_at;
    const branch = (ref: string): ApiBranch => ({
      label: `${repo.owner}:${ref}`,
      ref,
      sha: hex(`${repo.full_name} ${ref} ${number}`),
      user: user(repo.owner),
      repo: summary(repo),
    });
    issue.state_reason = null;
    issue.draft = fields.draft ?? false;
    issue.pull_request = {
      url: api,
      html_url: html,
      diff_url: `${html}.diff`,
      patch_url: `${html}.patch`,
      merged_at: merged ? at : null,
    };
    const head = branch(fields.head ?? `feature-${number}`);
    const pull: ApiPull = {
      url: api,
      id: nextId++,
      node_id: issue.node_id,
      html_url: html,
      diff_url: `${html}.diff`,
      patch_url: `${html}.patch`,
      issue_url: issue.url,
      commits_url: `${api}/commits`,
      review_comments_url: `${api}/comments`,
      review_comment_url: `${apiRoot(repo)}/pulls/comments{/number}`,
      comments_url: issue.comments_url,
      statuses_url: `${apiRoot(repo)}/statuses/${head.sha}`,
      number,
      state: issue.state,
      locked: issue.locked,
      title: issue.title,
      user: author,
      body: issue.body,
      labels: issue.labels,
      milestone: issue.milestone,
      active_lock_reason: null,
      created_at: at,
      updated_at: at,
      closed_at: issue.closed_at,
      merged_at: merged ? at : null,
      merge_commit_sha: merged ? hex(`${repo.full_name} merge ${number}`) : null,
      assignee: issue.assignee,
      assignees: issue.assignees,
      requested_reviewers: [],
      requested_teams: [],
      head,
      base: branch(fields.base ?? repo.default_branch),
      _links: {
        self: { href: api },
        html: { href: html },
        issue: { href: issue.url },
        comments: { href: issue.comments_url },
        review_comments: { href: `${api}/comments` },
        review_comment: { href: `${apiRoot(repo)}/pulls/comments{/number}` },
        commits: { href: `${api}/commits` },
        statuses: { href: `${apiRoot(repo)}/statuses/${head.sha}` },
      },
      author_association: issue.author_association,
      auto_merge: null,
      draft: fields.draft ?? false,
      merged,
      mergeable: state === 'open' ? true : null,
      rebaseable: state === 'open' ? true : null,
      mergeable_state: state === 'open' ? 'clean' : 'unknown',
      merged_by: merged ? author : null,
      comments: 0,
      review_comments: 0,
      maintainer_can_modify: false,
      commits: 1,
      additions: 1,
      deletions: 0,
      changed_files: 1,
    };
    repo.pulls.push(pull);
    return pull;
  }

  /** Copies what a pull request shares with its issue (after the issue changed). */
  function syncPull(repo: RepoState, issue: ApiIssue): void {
    const pull = repo.pulls.find((p) => p.number === issue.number);
    if (!pull) return;
    pull.title = issue.title;
    pull.body = issue.body;
    pull.state = issue.state;
    pull.locked = issue.locked;
    pull.labels = issue.labels;
    pull.milestone = issue.milestone;
    pull.assignee = issue.assignee;
    pull.assignees = issue.assignees;
    pull.closed_at = issue.closed_at;
    pull.updated_at = issue.updated_at;
    pull.comments = issue.comments;
  }

  /** An issue (or pull request) had activity: its updated_at is now. */
  function touch(repo: RepoState, issue: ApiIssue): void {
    issue.updated_at = stamp();
    syncPull(repo, issue);
  }

  function updateIssue(repo: RepoState, issue: ApiIssue, changes: IssueChanges, actor: ApiUser): void {
    if (changes.title !== undefined) issue.title = changes.title;
    if (changes.body !== undefined) issue.body = changes.body;
    if (changes.labels !== undefined) issue.labels = labelsNamed(repo, changes.labels);
    if (changes.milestone !== undefined) {
      issue.milestone = changes.milestone === null ? null : milestoneNumbered(repo, changes.milestone);
    }
    if (changes.assignees !== undefined) setAssignees(issue, changes.assignees);
    if (changes.locked !== undefined) issue.locked = changes.locked;
    if (changes.state === 'closed' && issue.state === 'open') {
      issue.state = 'closed';
      issue.state_reason = issue.pull_request ? null : (changes.state_reason ?? 'completed');
      issue.closed_at = stamp();
      issue.closed_by = actor;
    } else if (changes.state === 'open' && issue.state === 'closed') {
      issue.state = 'open';
      issue.state_reason = issue.pull_request ? null : 'reopened';
      issue.closed_at = null;
      issue.closed_by = null;
    } else if (changes.state_reason !== undefined && issue.state === 'closed' && !issue.pull_request) {
      issue.state_reason = changes.state_reason;
    }
    touch(repo, issue);
  }

  function addComment(repo: RepoState, issue: ApiIssue, body: string, author: ApiUser): ApiIssueComment {
    const id = nextId++;
    const at = stamp();
    const url = `${apiRoot(repo)}/issues/comments/${id}`;
    const comment: ApiIssueComment = {
      id,
      node_id: `IC_${id}`,
      url,
      html_url: `${issue.html_url}#issuecomment-${id}`,
      issue_url: issue.url,
      body,
      user: author,
      created_at: at,
      updated_at: at,
      author_association: association(repo, author),
      reactions: reactions(url),
      performed_via_github_app: null,
    };
    repo.comments.push(comment);
    issue.comments += 1;
    touch(repo, issue);
    return comment;
  }

  const issueOfComment = (repo: RepoState, comment: ApiIssueComment) =>
    repo.issues.find((i) => i.url === comment.issue_url);

  function editComment(repo: RepoState, comment: ApiIssueComment, body: string): void {
    comment.body = body;
    comment.updated_at = stamp();
    const issue = issueOfComment(repo, comment);
    if (issue) touch(repo, issue);
  }

  function addReview(
    repo: RepoState,
    number: number,
    fields: { state: ReviewState; body?: string; user?: string },
  ): ApiReview {
    const pull = mustPull(repo, number);
    const author = user(fields.user ?? 'octocat');
    const id = nextId++;
    const html = `${pull.html_url}#pullrequestreview-${id}`;
    const review: ApiReview = {
      id,
      node_id: `PRR_${id}`,
      user: author,
      body: fields.body ?? '',
      state: fields.state,
      html_url: html,
      pull_request_url: pull.url,
      author_association: association(repo, author),
      _links: { html: { href: html }, pull_request: { href: pull.url } },
      submitted_at: fields.state === 'PENDING' ? null : stamp(),
      commit_id: pull.head.sha,
    };
    repo.reviews.push(review);
    if (fields.state !== 'PENDING') touch(repo, mustIssue(repo, number));
    return review;
  }

  function addReviewComment(
    repo: RepoState,
    number: number,
    fields: {
      body: string;
      path: string;
      line?: number;
      user?: string;
      review?: number;
      in_reply_to?: number;
    },
  ): ApiReviewComment {
    const pull = mustPull(repo, number);
    const author = user(fields.user ?? 'octocat');
    const id = nextId++;
    const at = stamp();
    const url = `${apiRoot(repo)}/pulls/comments/${id}`;
    const html = `${pull.html_url}#discussion_r${id}`;
    const line = fields.line ?? null;
    const comment: ApiReviewComment = {
      url,
      pull_request_review_id: fields.review ?? null,
      id,
      node_id: `PRRC_${id}`,
      diff_hunk: `@@ -1,1 +1,${line ?? 1} @@`,
      path: fields.path,
      position: line,
      original_position: line,
      commit_id: pull.head.sha,
      original_commit_id: pull.head.sha,
      user: author,
      body: fields.body,
      created_at: at,
      updated_at: at,
      html_url: html,
      pull_request_url: pull.url,
      author_association: association(repo, author),
      _links: { self: { href: url }, html: { href: html }, pull_request: { href: pull.url } },
      start_line: null,
      original_start_line: null,
      start_side: null,
      line,
      original_line: line,
      side: 'RIGHT',
      subject_type: line === null ? 'file' : 'line',
      reactions: reactions(url),
    };
    if (fields.in_reply_to !== undefined) comment.in_reply_to_id = fields.in_reply_to;
    repo.reviewComments.push(comment);
    pull.review_comments += 1;
    touch(repo, mustIssue(repo, number));
    return comment;
  }

  function addRelease(
    repo: RepoState,
    fields: {
      tag_name: string;
      name?: string | null;
      body?: string | null;
      draft?: boolean;
      prerelease?: boolean;
      target_commitish?: string;
    },
    author: ApiUser,
  ): FakeRelease {
    const id = nextId++;
    const at = stamp();
    const api = `${apiRoot(repo)}/releases/${id}`;
    const draft = fields.draft ?? false;
    const release: FakeRelease = {
      url: api,
      html_url: '',
      assets_url: `${api}/assets`,
      upload_url: `${base()}/uploads/repos/${repo.full_name}/releases/${id}/assets{?name,label}`,
      tarball_url: null,
      zipball_url: null,
      id,
      node_id: `RE_${id}`,
      tag_name: fields.tag_name,
      target_commitish: fields.target_commitish ?? repo.default_branch,
      name: fields.name ?? null,
      body: fields.body ?? null,
      draft,
      prerelease: fields.prerelease ?? false,
      immutable: false,
      created_at: at,
      updated_at: at,
      published_at: draft ? null : at,
      author,
      assets: [],
    };
    releaseUrls(repo, release);
    repo.releases.push(release);
    return release;
  }

  /** URLs that depend on the tag and on being a draft (drafts have an untagged-… page and no archives). */
  function releaseUrls(repo: RepoState, release: FakeRelease): void {
    release.html_url = release.draft
      ? `${htmlRoot(repo)}/releases/tag/untagged-${hex(String(release.id), 20)}`
      : `${htmlRoot(repo)}/releases/tag/${encodeURIComponent(release.tag_name)}`;
    release.tarball_url = release.draft
      ? null
      : `${apiRoot(repo)}/tarball/${encodeURIComponent(release.tag_name)}`;
    release.zipball_url = release.draft
      ? null
      : `${apiRoot(repo)}/zipball/${encodeURIComponent(release.tag_name)}`;
    for (const asset of release.assets) asset.browser_download_url = downloadPage(repo, release, asset.name);
  }

  /** The web download (this server answers it 404: a private repository's needs a browser session). */
  const downloadPage = (repo: RepoState, release: FakeRelease, name: string) =>
    `${base()}/${repo.full_name}/releases/download/${encodeURIComponent(release.tag_name)}/${encodeURIComponent(name)}`;

  function addAsset(
    repo: RepoState,
    release: FakeRelease,
    name: string,
    bytes: Buffer,
    contentType = 'application/octet-stream',
    label: string | null = null,
  ): FakeAsset {
    const id = nextId++;
    const at = stamp();
    const asset: FakeAsset = {
      url: `${apiRoot(repo)}/releases/assets/${id}`,
      browser_download_url: downloadPage(repo, release, name),
      id,
      node_id: `RA_${id}`,
      name,
      label,
      state: 'uploaded',
      content_type: contentType,
      size: bytes.length,
      digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
      download_count: 0,
      created_at: at,
      updated_at: at,
      uploader: user(BOT),
      bytes,
    };
    release.assets.push(asset);
    return asset;
  }

  // --- Views: the JSON answered ------------------------------------------------------------------

  function milestoneView(repo: RepoState, milestone: ApiMilestone): ApiMilestone {
    const of = repo.issues.filter((i) => i.milestone?.number === milestone.number);
    return {
      ...milestone,
      open_issues: of.filter((i) => i.state === 'open').length,
      closed_issues: of.filter((i) => i.state === 'closed').length,
    };
  }

  function issueView(repo: RepoState, issue: ApiIssue): ApiIssue {
    return { ...issue, milestone: issue.milestone && milestoneView(repo, issue.milestone) };
  }

  function pullView(repo: RepoState, pull: ApiPull, detail: boolean): Partial<ApiPull> {
    const view: Partial<ApiPull> = {
      ...pull,
      milestone: pull.milestone && milestoneView(repo, pull.milestone),
    };
    if (!detail) for (const key of PULL_DETAIL_ONLY) delete view[key];
    return view;
  }

  function assetView(asset: FakeAsset): ApiAsset {
    const json: Partial<FakeAsset> = { ...asset };
    delete json.bytes;
    return json as ApiAsset;
  }

  const releaseView = (release: FakeRelease): ApiRelease => ({
    ...release,
    assets: release.assets.map(assetView),
  });

  function repoView(repo: RepoState) {
    const api = apiRoot(repo);
    const open = repo.issues.filter((i) => i.state === 'open').length;
    return {
      ...summary(repo),
      description: null,
      fork: false,
      archive_url: `${api}/{archive_format}{/ref}`,
      issues_url: `${api}/issues{/number}`,
      pulls_url: `${api}/pulls{/number}`,
      labels_url: `${api}/labels{/name}`,
      milestones_url: `${api}/milestones{/number}`,
      releases_url: `${api}/releases{/id}`,
      clone_url: `${htmlRoot(repo)}.git`,
      created_at: repo.created_at,
      updated_at: repo.created_at,
      pushed_at: repo.created_at,
      homepage: null,
      size: 0,
      stargazers_count: 0,
      watchers_count: 0,
      language: null,
      has_issues: repo.has_issues,
      has_projects: true,
      has_downloads: true,
      has_wiki: repo.has_wiki,
      has_pages: false,
      has_discussions: false,
      forks_count: 0,
      archived: false,
      disabled: false,
      open_issues_count: open,
      license: null,
      allow_forking: true,
      is_template: false,
      topics: [],
      visibility: 'private',
      forks: 0,
      open_issues: open,
      watchers: 0,
      network_count: 0,
      subscribers_count: 0,
    };
  }

  // --- Query parameters ---------------------------------------------------------------------------

  function choice<T extends string>(
    ctx: Context,
    name: string,
    allowed: readonly T[],
    fallback: T,
    docs: string,
  ): T {
    const value = ctx.url.searchParams.get(name);
    if (value === null || value === '') return fallback;
    if (!(allowed as readonly string[]).includes(value)) {
      throw validationFailed(docs, { resource: 'Search', field: name, code: 'invalid', value });
    }
    return value as T;
  }

  /** The `since` parameter in ms (ISO 8601), or undefined. */
  function since(ctx: Context, docs: string): number | undefined {
    const value = ctx.url.searchParams.get('since');
    if (value === null || value === '') return undefined;
    const ms = Date.parse(value);
    if (!ISO.test(value) || Number.isNaN(ms)) {
      throw validationFailed(docs, { resource: 'Search', field: 'since', code: 'invalid', value });
    }
    return ms;
  }

  const updatedSince = <T extends { updated_at: string }>(items: T[], from: number | undefined) =>
    from === undefined ? items : items.filter((item) => Date.parse(item.updated_at) >= from);

  /** Sorts by `key` (ties by id), ascending or descending. */
  function sorted<T extends { id: number }>(
    items: T[],
    key: (item: T) => string | number,
    direction: string,
  ): T[] {
    const out = [...items].sort((a, b) => {
      const x = key(a);
      const y = key(b);
      return x < y ? -1 : x > y ? 1 : a.id - b.id;
    });
    return direction === 'desc' ? out.reverse() : out;
  }

  /** One page of `items`, with GitHub's Link header (to /repositories/{id}/…, like GitHub's). */
  function paginate(ctx: Context, items: unknown[]): Answer {
    const query = ctx.url.searchParams;
    const asked = Number(query.get('per_page') ?? 30);
    const perPage = Number.isInteger(asked) && asked > 0 ? Math.min(asked, 100) : 30;
    const askedPage = Number(query.get('page') ?? 1);
    const page = Number.isInteger(askedPage) && askedPage > 0 ? askedPage : 1;
    const last = Math.max(Math.ceil(items.length / perPage), 1);
    const link = (n: number) => {
      const target = new URL(`${base()}/repositories/${ctx.repo.id}${ctx.rest}`);
      for (const [name, value] of query) if (name !== 'page') target.searchParams.append(name, value);
      target.searchParams.set('page', String(n));
      return `<${target.href}>`;
    };
    const links: string[] = [];
    if (page > 1) links.push(`${link(Math.min(page - 1, last))}; rel="prev"`);
    if (page < last) links.push(`${link(page + 1)}; rel="next"`, `${link(last)}; rel="last"`);
    if (page > 1) links.push(`${link(1)}; rel="first"`);
    return {
      status: 200,
      body: items.slice((page - 1) * perPage, page * perPage),
      headers: links.length ? { link: links.join(', ') } : {},
    };
  }

  // --- Request bodies -----------------------------------------------------------------------------

  function text(body: Body, name: string, docs: string, required: true): string;
  function text(body: Body, name: string, docs: string, required?: false): string | undefined;
  function text(body: Body, name: string, docs: string, required = false): string | undefined {
    const value = body[name];
    if (value === undefined) {
      if (required) throw invalidRequest(docs, `"${name}" wasn't supplied.`);
      return undefined;
    }
    if (typeof value === 'number' && name === 'title') return String(value);
    if (typeof value !== 'string')
      throw invalidRequest(docs, `For 'properties/${name}', ${JSON.stringify(value)} is not a string.`);
    return value;
  }

  function nullableText(body: Body, name: string, docs: string): string | null | undefined {
    return body[name] === null ? null : text(body, name, docs);
  }

  function flag(body: Body, name: string, docs: string): boolean | undefined {
    const value = body[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean')
      throw invalidRequest(docs, `For 'properties/${name}', ${JSON.stringify(value)} is not a boolean.`);
    return value;
  }

  function names(body: Body, name: string, docs: string): string[] | undefined {
    const value = body[name];
    if (value === undefined) return undefined;
    if (!Array.isArray(value))
      throw invalidRequest(docs, `For 'properties/${name}', ${JSON.stringify(value)} is not an array.`);
    return value.map((item: unknown) => {
      if (typeof item === 'string') return item;
      if (item && typeof item === 'object' && typeof (item as { name?: unknown }).name === 'string') {
        return (item as { name: string }).name;
      }
      throw invalidRequest(docs, `For 'items', ${JSON.stringify(item)} is not a string.`);
    });
  }

  function oneOf<T extends string>(
    body: Body,
    name: string,
    allowed: readonly T[],
    resource: string,
    docs: string,
  ) {
    const value = body[name];
    if (value === undefined || value === null) return value as undefined | null;
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      throw validationFailed(docs, { resource, field: name, code: 'invalid', value });
    }
    return value as T;
  }

  function time(body: Body, name: string, resource: string, docs: string): string | null | undefined {
    const value = body[name];
    if (value === undefined || value === null) return value as undefined | null;
    if (typeof value !== 'string' || !ISO.test(value) || Number.isNaN(Date.parse(value))) {
      throw validationFailed(docs, { resource, field: name, code: 'invalid', value });
    }
    return normalizeTime(value);
  }

  /** A milestone number from a body (must exist), null, or undefined. */
  function milestoneField(ctx: Context, docs: string): number | null | undefined {
    const value = ctx.body.milestone;
    if (value === undefined || value === null) return value as undefined | null;
    const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
    if (typeof number !== 'number' || !ctx.repo.milestones.some((m) => m.number === number)) {
      throw validationFailed(docs, { value, resource: 'Issue', field: 'milestone', code: 'invalid' });
    }
    return number;
  }

  function color(body: Body, docs: string): string | undefined {
    const value = body.color;
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !/^[0-9a-fA-F]{6}$/.test(value)) {
      throw validationFailed(docs, { resource: 'Label', code: 'invalid', field: 'color' });
    }
    return value.toLowerCase();
  }

  // --- Routes -------------------------------------------------------------------------------------

  const D = {
    repo: `${DOCS}/repos/repos#get-a-repository`,
    listIssues: `${DOCS}/issues/issues#list-repository-issues`,
    createIssue: `${DOCS}/issues/issues#create-an-issue`,
    getIssue: `${DOCS}/issues/issues#get-an-issue`,
    updateIssue: `${DOCS}/issues/issues#update-an-issue`,
    repoComments: `${DOCS}/issues/comments#list-issue-comments-for-a-repository`,
    comments: `${DOCS}/issues/comments#list-issue-comments`,
    comment: `${DOCS}/issues/comments#get-an-issue-comment`,
    updateComment: `${DOCS}/issues/comments#update-an-issue-comment`,
    createComment: `${DOCS}/issues/comments#create-an-issue-comment`,
    pulls: `${DOCS}/pulls/pulls#list-pull-requests`,
    pull: `${DOCS}/pulls/pulls#get-a-pull-request`,
    reviews: `${DOCS}/pulls/reviews#list-reviews-for-a-pull-request`,
    repoReviewComments: `${DOCS}/pulls/comments#list-review-comments-in-a-repository`,
    reviewComments: `${DOCS}/pulls/comments#list-review-comments-on-a-pull-request`,
    labels: `${DOCS}/issues/labels#list-labels-for-a-repository`,
    label: `${DOCS}/issues/labels#get-a-label`,
    createLabel: `${DOCS}/issues/labels#create-a-label`,
    updateLabel: `${DOCS}/issues/labels#update-a-label`,
    milestones: `${DOCS}/issues/milestones#list-milestones`,
    milestone: `${DOCS}/issues/milestones#get-a-milestone`,
    createMilestone: `${DOCS}/issues/milestones#create-a-milestone`,
    updateMilestone: `${DOCS}/issues/milestones#update-a-milestone`,
    releases: `${DOCS}/releases/releases#list-releases`,
    release: `${DOCS}/releases/releases#get-a-release`,
    releaseByTag: `${DOCS}/releases/releases#get-a-release-by-tag-name`,
    createRelease: `${DOCS}/releases/releases#create-a-release`,
    updateRelease: `${DOCS}/releases/releases#update-a-release`,
    asset: `${DOCS}/releases/assets#get-a-release-asset`,
    deleteAsset: `${DOCS}/releases/assets#delete-a-release-asset`,
    upload: `${DOCS}/releases/assets#upload-a-release-asset`,
  };

  const isPull = (repo: RepoState, number: string | undefined) =>
    repo.issues.some((i) => String(i.number) === number && i.pull_request);

  function issueOr404(ctx: Context, docs: string): ApiIssue {
    const issue = ctx.repo.issues.find((i) => String(i.number) === ctx.params[0]);
    if (!issue) throw new Reject(notFound(docs));
    return issue;
  }

  function pullOr404(ctx: Context, docs: string): ApiPull {
    const pull = ctx.repo.pulls.find((p) => String(p.number) === ctx.params[0]);
    if (!pull) throw new Reject(notFound(docs));
    return pull;
  }

  function commentOr404(ctx: Context, docs: string): ApiIssueComment {
    const comment = ctx.repo.comments.find((c) => String(c.id) === ctx.params[0]);
    if (!comment) throw new Reject(notFound(docs));
    return comment;
  }

  /** Drafts are seen only by tokens that can push (contents: write), as on GitHub. */
  const visible = (ctx: Context) => (release: FakeRelease) =>
    !release.draft || allows(ctx.permissions.contents, 'write');

  function releaseOr404(ctx: Context, id: string | undefined, docs: string): FakeRelease {
    const release = ctx.repo.releases.find((r) => String(r.id) === id);
    if (!release || !visible(ctx)(release)) throw new Reject(notFound(docs));
    return release;
  }

  function assetOr404(ctx: Context, docs: string): [FakeRelease, FakeAsset] {
    for (const release of ctx.repo.releases.filter(visible(ctx))) {
      const asset = release.assets.find((a) => String(a.id) === ctx.params[0]);
      if (asset) return [release, asset];
    }
    throw new Reject(notFound(docs));
  }

  const author = () => user(BOT);
  const created = (body: unknown, location: string): Answer => ({ status: 201, body, headers: { location } });

  const routes: Route[] = [
    {
      method: 'GET',
      pattern: /^$/,
      needs: [],
      docs: D.repo,
      run: (ctx) => ({ status: 200, body: repoView(ctx.repo) }),
    },
    // Issues
    {
      method: 'GET',
      pattern: /^\/issues$/,
      needs: ['issues'],
      docs: D.listIssues,
      issues: true,
      run: (ctx) => {
        const state = choice(ctx, 'state', ['open', 'closed', 'all'], 'open', D.listIssues);
        const sort = choice(ctx, 'sort', ['created', 'updated', 'comments'], 'created', D.listIssues);
        const direction = choice(ctx, 'direction', ['asc', 'desc'], 'desc', D.listIssues);
        const from = since(ctx, D.listIssues);
        const labels = (ctx.url.searchParams.get('labels') ?? '')
          .split(',')
          .map((name) => name.trim().toLowerCase())
          .filter(Boolean);
        const milestone = ctx.url.searchParams.get('milestone');
        const items = updatedSince(ctx.repo.issues, from)
          .filter((i) => state === 'all' || i.state === state)
          .filter((i) => labels.every((name) => i.labels.some((l) => l.name.toLowerCase() === name)))
          .filter(
            (i) =>
              milestone === null ||
              (milestone === '*'
                ? i.milestone !== null
                : milestone === 'none'
                  ? i.milestone === null
                  : String(i.milestone?.number) === milestone),
          );
        const key = (i: ApiIssue) =>
          sort === 'comments'
            ? i.comments
            : sort === 'updated'
              ? Date.parse(i.updated_at)
              : Date.parse(i.created_at);
        return paginate(
          ctx,
          sorted(items, key, direction).map((i) => issueView(ctx.repo, i)),
        );
      },
    },
    {
      method: 'POST',
      pattern: /^\/issues$/,
      needs: ['issues'],
      docs: D.createIssue,
      issues: true,
      run: (ctx) => {
        const title = text(ctx.body, 'title', D.createIssue, true);
        const body = nullableText(ctx.body, 'body', D.createIssue);
        const labels = names(ctx.body, 'labels', D.createIssue);
        const assignees = names(ctx.body, 'assignees', D.createIssue);
        const milestone = milestoneField(ctx, D.createIssue);
        const issue = addIssue(
          ctx.repo,
          { title, body, labels, assignees, milestone: milestone ?? undefined },
          author(),
        );
        return created(issueView(ctx.repo, issue), issue.url);
      },
    },
    {
      method: 'GET',
      pattern: /^\/issues\/comments$/,
      needs: ['issues', 'pull_requests'],
      docs: D.repoComments,
      issues: true,
      run: (ctx) => {
        const sort = ctx.url.searchParams.get('sort');
        const key = choice(ctx, 'sort', ['created', 'updated'], 'created', D.repoComments);
        // "direction: Ignored without the sort parameter."
        const direction = sort ? choice(ctx, 'direction', ['asc', 'desc'], 'desc', D.repoComments) : 'asc';
        const from = since(ctx, D.repoComments);
        return paginate(
          ctx,
          sorted(
            updatedSince(ctx.repo.comments, from),
            (c) => Date.parse(key === 'updated' ? c.updated_at : c.created_at),
            direction,
          ),
        );
      },
    },
    {
      method: 'GET',
      pattern: /^\/issues\/comments\/(\d+)$/,
      needs: ['issues', 'pull_requests'],
      docs: D.comment,
      issues: true,
      pullOk: (ctx) => commentOnPull(ctx.repo, ctx.params[0]),
      run: (ctx) => ({ status: 200, body: commentOr404(ctx, D.comment) }),
    },
    {
      method: 'PATCH',
      pattern: /^\/issues\/comments\/(\d+)$/,
      needs: ['issues', 'pull_requests'],
      docs: D.updateComment,
      issues: true,
      pullOk: (ctx) => commentOnPull(ctx.repo, ctx.params[0]),
      run: (ctx) => {
        const comment = commentOr404(ctx, D.updateComment);
        editComment(ctx.repo, comment, text(ctx.body, 'body', D.updateComment, true));
        return { status: 200, body: comment };
      },
    },
    {
      method: 'GET',
      pattern: /^\/issues\/(\d+)$/,
      needs: ['issues'],
      docs: D.getIssue,
      issues: true,
      pullOk: (ctx) => isPull(ctx.repo, ctx.params[0]),
      run: (ctx) => ({ status: 200, body: issueView(ctx.repo, issueOr404(ctx, D.getIssue)) }),
    },
    {
      method: 'PATCH',
      pattern: /^\/issues\/(\d+)$/,
      needs: ['issues'],
      docs: D.updateIssue,
      issues: true,
      pullOk: (ctx) => isPull(ctx.repo, ctx.params[0]),
      run: (ctx) => {
        const issue = issueOr404(ctx, D.updateIssue);
        const docs = D.updateIssue;
        const changes: IssueChanges = {
          title: text(ctx.body, 'title', docs),
          body: nullableText(ctx.body, 'body', docs),
          state: oneOf(ctx.body, 'state', ['open', 'closed'] as const, 'Issue', docs) ?? undefined,
          state_reason: oneOf(
            ctx.body,
            'state_reason',
            ['completed', 'not_planned', 'reopened', 'duplicate'] as const,
            'Issue',
            docs,
          ),
          labels: names(ctx.body, 'labels', docs),
          milestone: milestoneField(ctx, docs),
          assignees: names(ctx.body, 'assignees', docs),
        };
        if (ctx.body.title === null)
          throw validationFailed(docs, { resource: 'Issue', code: 'missing_field', field: 'title' });
        updateIssue(ctx.repo, issue, changes, author());
        return { status: 200, body: issueView(ctx.repo, issue) };
      },
    },
    {
      method: 'GET',
      pattern: /^\/issues\/(\d+)\/comments$/,
      needs: ['issues', 'pull_requests'],
      docs: D.comments,
      issues: true,
      pullOk: (ctx) => isPull(ctx.repo, ctx.params[0]),
      run: (ctx) => {
        const issue = issueOr404(ctx, D.comments);
        const from = since(ctx, D.comments);
        const of = ctx.repo.comments.filter((c) => c.issue_url === issue.url);
        return paginate(
          ctx,
          sorted(updatedSince(of, from), (c) => c.id, 'asc'),
        );
      },
    },
    {
      method: 'POST',
      pattern: /^\/issues\/(\d+)\/comments$/,
      needs: ['issues', 'pull_requests'],
      docs: D.createComment,
      issues: true,
      pullOk: (ctx) => isPull(ctx.repo, ctx.params[0]),
      run: (ctx) => {
        const issue = issueOr404(ctx, D.createComment);
        const body = text(ctx.body, 'body', D.createComment, true);
        if (body === '') {
          throw validationFailed(D.createComment, {
            resource: 'IssueComment',
            code: 'missing_field',
            field: 'body',
          });
        }
        const comment = addComment(ctx.repo, issue, body, author());
        return created(comment, comment.url);
      },
    },
    // Pull requests
    {
      method: 'GET',
      pattern: /^\/pulls$/,
      needs: ['pull_requests'],
      docs: D.pulls,
      run: (ctx) => {
        const state = choice(ctx, 'state', ['open', 'closed', 'all'], 'open', D.pulls);
        const sort = choice(
          ctx,
          'sort',
          ['created', 'updated', 'popularity', 'long-running'],
          'created',
          D.pulls,
        );
        // "Default: desc when sort is created or sort is not specified, otherwise asc."
        const direction = choice(
          ctx,
          'direction',
          ['asc', 'desc'],
          sort === 'created' ? 'desc' : 'asc',
          D.pulls,
        );
        const head = ctx.url.searchParams.get('head');
        const baseRef = ctx.url.searchParams.get('base');
        const items = ctx.repo.pulls
          .filter((p) => state === 'all' || p.state === state)
          .filter((p) => head === null || p.head.label === head)
          .filter((p) => baseRef === null || p.base.ref === baseRef);
        const key = (p: ApiPull) =>
          sort === 'updated'
            ? Date.parse(p.updated_at)
            : sort === 'popularity'
              ? p.comments
              : sort === 'long-running'
                ? -Date.parse(p.created_at)
                : Date.parse(p.created_at);
        return paginate(
          ctx,
          sorted(items, key, direction).map((p) => pullView(ctx.repo, p, false)),
        );
      },
    },
    {
      method: 'GET',
      pattern: /^\/pulls\/comments$/,
      needs: ['pull_requests'],
      docs: D.repoReviewComments,
      run: (ctx) => {
        const sort = ctx.url.searchParams.get('sort');
        const key = choice(ctx, 'sort', ['created', 'updated'], 'created', D.repoReviewComments);
        // "direction: Ignored without sort parameter."
        const direction = sort
          ? choice(ctx, 'direction', ['asc', 'desc'], 'desc', D.repoReviewComments)
          : 'asc';
        const from = since(ctx, D.repoReviewComments);
        return paginate(
          ctx,
          sorted(
            updatedSince(ctx.repo.reviewComments, from),
            (c) => Date.parse(key === 'updated' ? c.updated_at : c.created_at),
            direction,
          ),
        );
      },
    },
    {
      method: 'GET',
      pattern: /^\/pulls\/(\d+)$/,
      needs: ['pull_requests'],
      docs: D.pull,
      run: (ctx) => ({ status: 200, body: pullView(ctx.repo, pullOr404(ctx, D.pull), true) }),
    },
    {
      method: 'GET',
      pattern: /^\/pulls\/(\d+)\/reviews$/,
      needs: ['pull_requests'],
      docs: D.reviews,
      run: (ctx) => {
        const pull = pullOr404(ctx, D.reviews);
        return paginate(
          ctx,
          ctx.repo.reviews.filter((r) => r.pull_request_url === pull.url),
        );
      },
    },
    {
      method: 'GET',
      pattern: /^\/pulls\/(\d+)\/comments$/,
      needs: ['pull_requests'],
      docs: D.reviewComments,
      run: (ctx) => {
        const pull = pullOr404(ctx, D.reviewComments);
        const sort = ctx.url.searchParams.get('sort');
        const key = choice(ctx, 'sort', ['created', 'updated'], 'created', D.reviewComments);
        const direction = sort ? choice(ctx, 'direction', ['asc', 'desc'], 'desc', D.reviewComments) : 'asc';
        const from = since(ctx, D.reviewComments);
        const of = ctx.repo.reviewComments.filter((c) => c.pull_request_url === pull.url);
        return paginate(
          ctx,
          sorted(
            updatedSince(of, from),
            (c) => Date.parse(key === 'updated' ? c.updated_at : c.created_at),
            direction,
          ),
        );
      },
    },
    // Labels
    {
      method: 'GET',
      pattern: /^\/labels$/,
      needs: ['issues', 'pull_requests'],
      docs: D.labels,
      run: (ctx) => paginate(ctx, ctx.repo.labels),
    },
    {
      method: 'POST',
      pattern: /^\/labels$/,
      needs: ['issues', 'pull_requests'],
      docs: D.createLabel,
      run: (ctx) => {
        const name = text(ctx.body, 'name', D.createLabel, true);
        const hue = color(ctx.body, D.createLabel);
        const description = nullableText(ctx.body, 'description', D.createLabel);
        if (findLabel(ctx.repo, name)) {
          throw validationFailed(D.createLabel, { resource: 'Label', code: 'already_exists', field: 'name' });
        }
        const label = addLabel(ctx.repo, name, hue, description ?? null);
        return created(label, label.url);
      },
    },
    {
      method: 'GET',
      pattern: /^\/labels\/([^/]+)$/,
      needs: ['issues', 'pull_requests'],
      docs: D.label,
      run: (ctx) => {
        const label = findLabel(ctx.repo, ctx.params[0]);
        if (!label) throw new Reject(notFound(D.label));
        return { status: 200, body: label };
      },
    },
    {
      method: 'PATCH',
      pattern: /^\/labels\/([^/]+)$/,
      needs: ['issues', 'pull_requests'],
      docs: D.updateLabel,
      run: (ctx) => {
        const label = findLabel(ctx.repo, ctx.params[0]);
        if (!label) throw new Reject(notFound(D.updateLabel));
        const newName = text(ctx.body, 'new_name', D.updateLabel);
        const hue = color(ctx.body, D.updateLabel);
        const description = nullableText(ctx.body, 'description', D.updateLabel);
        if (newName !== undefined && findLabel(ctx.repo, newName) && findLabel(ctx.repo, newName) !== label) {
          throw validationFailed(D.updateLabel, { resource: 'Label', code: 'already_exists', field: 'name' });
        }
        if (newName !== undefined) {
          label.name = newName;
          label.url = `${apiRoot(ctx.repo)}/labels/${encodeURIComponent(newName)}`;
        }
        if (hue !== undefined) label.color = hue;
        if (description !== undefined) label.description = description;
        return { status: 200, body: label };
      },
    },
    // Milestones
    {
      method: 'GET',
      pattern: /^\/milestones$/,
      needs: ['issues', 'pull_requests'],
      docs: D.milestones,
      run: (ctx) => {
        const state = choice(ctx, 'state', ['open', 'closed', 'all'], 'open', D.milestones);
        const sort = choice(ctx, 'sort', ['due_on', 'completeness'], 'due_on', D.milestones);
        const direction = choice(ctx, 'direction', ['asc', 'desc'], 'asc', D.milestones);
        const views = ctx.repo.milestones
          .filter((m) => state === 'all' || m.state === state)
          .map((m) => milestoneView(ctx.repo, m));
        const key = (m: ApiMilestone) =>
          sort === 'completeness'
            ? m.closed_issues / Math.max(1, m.open_issues + m.closed_issues)
            : m.due_on
              ? Date.parse(m.due_on)
              : Number.MAX_SAFE_INTEGER;
        return paginate(ctx, sorted(views, key, direction));
      },
    },
    {
      method: 'POST',
      pattern: /^\/milestones$/,
      needs: ['issues', 'pull_requests'],
      docs: D.createMilestone,
      run: (ctx) => {
        const docs = D.createMilestone;
        const title = text(ctx.body, 'title', docs, true);
        const state = oneOf(ctx.body, 'state', ['open', 'closed'] as const, 'Milestone', docs) ?? undefined;
        const description = nullableText(ctx.body, 'description', docs);
        const due = time(ctx.body, 'due_on', 'Milestone', docs);
        if (ctx.repo.milestones.some((m) => m.title === title)) {
          throw validationFailed(docs, { resource: 'Milestone', code: 'already_exists', field: 'title' });
        }
        const milestone = addMilestone(ctx.repo, { title, state, description, due_on: due }, author());
        return created(milestoneView(ctx.repo, milestone), milestone.url);
      },
    },
    {
      method: 'GET',
      pattern: /^\/milestones\/(\d+)$/,
      needs: ['issues', 'pull_requests'],
      docs: D.milestone,
      run: (ctx) => {
        const milestone = ctx.repo.milestones.find((m) => String(m.number) === ctx.params[0]);
        if (!milestone) throw new Reject(notFound(D.milestone));
        return { status: 200, body: milestoneView(ctx.repo, milestone) };
      },
    },
    {
      method: 'PATCH',
      pattern: /^\/milestones\/(\d+)$/,
      needs: ['issues', 'pull_requests'],
      docs: D.updateMilestone,
      run: (ctx) => {
        const docs = D.updateMilestone;
        const milestone = ctx.repo.milestones.find((m) => String(m.number) === ctx.params[0]);
        if (!milestone) throw new Reject(notFound(docs));
        const title = text(ctx.body, 'title', docs);
        const state = oneOf(ctx.body, 'state', ['open', 'closed'] as const, 'Milestone', docs);
        const description = nullableText(ctx.body, 'description', docs);
        const due = time(ctx.body, 'due_on', 'Milestone', docs);
        if (title !== undefined && ctx.repo.milestones.some((m) => m.title === title && m !== milestone)) {
          throw validationFailed(docs, { resource: 'Milestone', code: 'already_exists', field: 'title' });
        }
        if (title !== undefined) milestone.title = title;
        if (description !== undefined) milestone.description = description;
        if (due !== undefined) milestone.due_on = due;
        if (state && state !== milestone.state) {
          milestone.state = state;
          milestone.closed_at = state === 'closed' ? stamp() : null;
        }
        milestone.updated_at = stamp();
        return { status: 200, body: milestoneView(ctx.repo, milestone) };
      },
    },
    // Releases
    {
      method: 'GET',
      pattern: /^\/releases$/,
      needs: ['contents'],
      docs: D.releases,
      run: (ctx) =>
        paginate(
          ctx,
          sorted(ctx.repo.releases.filter(visible(ctx)), (r) => Date.parse(r.created_at), 'desc').map(
            releaseView,
          ),
        ),
    },
    {
      method: 'POST',
      pattern: /^\/releases$/,
      needs: ['contents'],
      docs: D.createRelease,
      run: (ctx) => {
        const docs = D.createRelease;
        const tag = text(ctx.body, 'tag_name', docs, true);
        const fields = {
          tag_name: tag,
          target_commitish: text(ctx.body, 'target_commitish', docs),
          name: nullableText(ctx.body, 'name', docs),
          body: nullableText(ctx.body, 'body', docs),
          draft: flag(ctx.body, 'draft', docs),
          prerelease: flag(ctx.body, 'prerelease', docs),
        };
        if (tag === '')
          throw validationFailed(docs, { resource: 'Release', code: 'missing_field', field: 'tag_name' });
        if (!fields.draft && ctx.repo.releases.some((r) => !r.draft && r.tag_name === tag)) {
          throw validationFailed(docs, { resource: 'Release', code: 'already_exists', field: 'tag_name' });
        }
        const release = addRelease(ctx.repo, fields, author());
        return created(releaseView(release), release.url);
      },
    },
    {
      method: 'GET',
      pattern: /^\/releases\/tags\/(.+)$/,
      needs: ['contents'],
      docs: D.releaseByTag,
      run: (ctx) => {
        // Only published releases have a tag to be found by.
        const release = ctx.repo.releases.find((r) => !r.draft && r.tag_name === ctx.params[0]);
        if (!release) throw new Reject(notFound(D.releaseByTag));
        return { status: 200, body: releaseView(release) };
      },
    },
    {
      method: 'GET',
      pattern: /^\/releases\/assets\/(\d+)$/,
      needs: ['contents'],
      docs: D.asset,
      run: (ctx) => {
        const [, asset] = assetOr404(ctx, D.asset);
        if (!/application\/octet-stream/i.test(String(ctx.headers.accept ?? ''))) {
          return { status: 200, body: assetView(asset) };
        }
        const signed = randomBytes(18).toString('base64url');
        downloads.set(signed, { repo: ctx.repo, asset, expires: clock + DOWNLOAD_TTL_MS });
        return { status: 302, body: '', headers: { location: `${base()}/downloads/${signed}` } };
      },
    },
    {
      method: 'DELETE',
      pattern: /^\/releases\/assets\/(\d+)$/,
      needs: ['contents'],
      docs: D.deleteAsset,
      run: (ctx) => {
        const [release, asset] = assetOr404(ctx, D.deleteAsset);
        release.assets.splice(release.assets.indexOf(asset), 1);
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      pattern: /^\/releases\/(\d+)$/,
      needs: ['contents'],
      docs: D.release,
      run: (ctx) => ({ status: 200, body: releaseView(releaseOr404(ctx, ctx.params[0], D.release)) }),
    },
    {
      method: 'PATCH',
      pattern: /^\/releases\/(\d+)$/,
      needs: ['contents'],
      docs: D.updateRelease,
      run: (ctx) => {
        const docs = D.updateRelease;
        const release = releaseOr404(ctx, ctx.params[0], docs);
        const tag = text(ctx.body, 'tag_name', docs);
        const target = text(ctx.body, 'target_commitish', docs);
        const name = nullableText(ctx.body, 'name', docs);
        const body = nullableText(ctx.body, 'body', docs);
        const draft = flag(ctx.body, 'draft', docs);
        const prerelease = flag(ctx.body, 'prerelease', docs);
        const newTag = tag ?? release.tag_name;
        const published = !(draft ?? release.draft);
        if (published && ctx.repo.releases.some((r) => r !== release && !r.draft && r.tag_name === newTag)) {
          throw validationFailed(docs, { resource: 'Release', code: 'already_exists', field: 'tag_name' });
        }
        release.tag_name = newTag;
        if (target !== undefined) release.target_commitish = target;
        if (name !== undefined) release.name = name;
        if (body !== undefined) release.body = body;
        if (prerelease !== undefined) release.prerelease = prerelease;
        if (draft !== undefined) release.draft = draft;
        if (!release.draft && release.published_at === null) release.published_at = stamp();
        release.updated_at = stamp();
        releaseUrls(ctx.repo, release);
        return { status: 200, body: releaseView(release) };
      },
    },
    {
      method: 'POST',
      pattern: /^\/releases\/(\d+)\/assets$/,
      needs: ['contents'],
      docs: D.upload,
      upload: true,
      run: (ctx) => {
        const release = releaseOr404(ctx, ctx.params[0], D.upload);
        const asked = ctx.url.searchParams.get('name');
        if (!asked)
          throw validationFailed(D.upload, {
            resource: 'ReleaseAsset',
            code: 'missing_field',
            field: 'name',
          });
        const name = assetName(asked);
        if (release.assets.some((a) => a.name === name)) {
          throw validationFailed(D.upload, {
            resource: 'ReleaseAsset',
            code: 'already_exists',
            field: 'name',
          });
        }
        const type = String(ctx.headers['content-type'] ?? 'application/octet-stream');
        const label = ctx.url.searchParams.get('label');
        const asset = addAsset(ctx.repo, release, name, Buffer.from(ctx.raw), type, label || null);
        return created(assetView(asset), asset.url);
      },
    },
  ];

  function commentOnPull(repo: RepoState, id: string | undefined): boolean {
    const comment = repo.comments.find((c) => String(c.id) === id);
    return Boolean(comment && issueOfComment(repo, comment)?.pull_request);
  }

  // --- The server ---------------------------------------------------------------------------------

  function handle(method: string, url: URL, headers: IncomingHttpHeaders, raw: Buffer): Answer {
    const authorization = headers.authorization;
    const token = /^(?:token|bearer)\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (authorization !== undefined && (token === undefined || !tokens.has(token))) {
      return error(401, 'Bad credentials');
    }
    const permissions = token === undefined ? undefined : tokens.get(token)!;

    let repo: RepoState | undefined;
    let rest: string;
    let upload = false;
    const path = url.pathname.replace(/\/$/, '');
    let m = /^\/(uploads\/)?repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(path);
    if (m) {
      upload = Boolean(m[1]);
      repo = repositories.get(`${decodeURIComponent(m[2])}/${decodeURIComponent(m[3])}`.toLowerCase());
      rest = m[4] ?? '';
    } else if ((m = /^\/repositories\/(\d+)(\/.*)?$/.exec(path))) {
      repo = [...repositories.values()].find((r) => String(r.id) === m![1]);
      rest = m[2] ?? '';
    } else {
      return notFound();
    }
    let params: string[] = [];
    const route = routes.find((r) => {
      if (r.method !== method || Boolean(r.upload) !== upload) return false;
      const found = r.pattern.exec(rest);
      if (found) params = found.slice(1).map((p) => decodeURIComponent(p));
      return Boolean(found);
    });
    if (!route || !repo) return notFound(route?.docs);
    if (!permissions) {
      return method === 'GET' ? notFound(route.docs) : error(401, 'Requires authentication', route.docs);
    }
    const level = method === 'GET' ? 'read' : 'write';
    if (route.needs.length && !route.needs.some((kind) => allows(permissions[kind], level))) {
      return error(403, 'Resource not accessible by integration', route.docs, {
        'x-accepted-github-permissions': route.needs.map((kind) => `${kind}=${level}`).join('; '),
      });
    }
    const ctx: Context = { repo, params, url, rest, body: {}, raw, headers, permissions };
    if (route.issues && !repo.has_issues && !route.pullOk?.(ctx)) {
      return error(410, 'Issues are disabled for this repo', route.docs);
    }
    if (!route.upload && raw.length) {
      try {
        ctx.body = JSON.parse(raw.toString('utf8'));
      } catch {
        return {
          status: 400,
          body: { message: 'Problems parsing JSON', documentation_url: route.docs, status: '400' },
        };
      }
      if (!ctx.body || typeof ctx.body !== 'object' || Array.isArray(ctx.body)) {
        return error(400, 'Body should be a JSON object', route.docs);
      }
    }
    try {
      return route.run(ctx);
    } catch (thrown) {
      if (thrown instanceof Reject) return thrown.answer;
      throw thrown;
    }
  }

  /** The signed download host: no token needed (and one sent is ignored), no rate limit. */
  function download(signed: string): Answer {
    const entry = downloads.get(signed);
    if (!entry) return { status: 404, body: 'Not Found', headers: { 'content-type': 'text/plain' } };
    if (clock > entry.expires) {
      return { status: 403, body: 'Request has expired', headers: { 'content-type': 'text/plain' } };
    }
    entry.asset.download_count += 1;
    return {
      status: 200,
      body: entry.asset.bytes,
      headers: {
        'content-type': 'application/octet-stream',
        'content-disposition': `attachment; filename=${entry.asset.name}`,
        'last-modified': new Date(entry.asset.updated_at).toUTCString(),
      },
    };
  }

  function takeFault(method: string, url: string): ForcedResponse | undefined {
    const index = forced.findIndex((fault) => !fault.match || fault.match(method, url));
    if (index === -1) return undefined;
    const fault = forced[index];
    fault.left -= 1;
    if (fault.left <= 0) forced.splice(index, 1);
    return fault;
  }

  let requestCount = 0;

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const method = request.method ?? 'GET';
      const raw = Buffer.concat(chunks);
      const url = new URL(request.url ?? '/', base());
      const record: RecordedRequest = {
        method,
        url: request.url ?? '/',
        status: 0,
        headers: { ...request.headers },
      };
      requests.push(record);
      const downloadHost = url.pathname.startsWith('/downloads/');

      let answer: Answer;
      const fault = takeFault(method, record.url);
      if (fault) answer = { status: fault.status, body: fault.body, headers: fault.headers };
      else if (downloadHost) answer = download(url.pathname.slice('/downloads/'.length));
      else {
        try {
          answer = handle(method, url, request.headers, raw);
        } catch (thrown) {
          answer = error(500, `metadata-api: ${(thrown as Error).stack ?? thrown}`);
        }
      }

      let payload: Buffer;
      let type: string | undefined;
      if (answer.body === undefined || answer.status === 204) payload = Buffer.alloc(0);
      else if (Buffer.isBuffer(answer.body)) payload = answer.body;
      else if (typeof answer.body === 'string') {
        payload = Buffer.from(answer.body);
        type = 'text/plain; charset=utf-8';
      } else {
        payload = Buffer.from(JSON.stringify(answer.body));
        type = 'application/json; charset=utf-8';
      }

      const out: Record<string, string> = { date: new Date(clock).toUTCString() };
      let status = answer.status;
      if (!downloadHost) {
        Object.assign(out, {
          'x-github-api-version-selected': '2022-11-28',
          'x-github-media-type': 'github.v3; format=json',
          'x-github-request-id': `0000:${(++requestCount).toString(16).toUpperCase()}`,
          vary: 'Accept, Authorization, Cookie, X-GitHub-OTP',
        });
        if (method === 'GET' && status === 200 && !fault) {
          const etag = `"${createHash('sha256').update(payload).digest('hex')}"`;
          out.etag = etag;
          out['cache-control'] = 'private, max-age=60, s-maxage=60';
          const updated = (answer.body as { updated_at?: unknown }).updated_at;
          if (typeof updated === 'string') out['last-modified'] = new Date(updated).toUTCString();
          if (notModified(request.headers, etag, out['last-modified'])) {
            status = 304;
            payload = Buffer.alloc(0);
            type = undefined;
          }
        }
        const second = Math.floor(clock / 1000);
        if (second >= resetAt) {
          windowUsed = 0;
          resetAt = second + 3600;
        }
        if (status !== 304) {
          windowUsed += 1;
          totalUsed += 1;
        }
        Object.assign(out, {
          'x-ratelimit-limit': String(LIMIT),
          'x-ratelimit-remaining': String(Math.max(LIMIT - windowUsed, 0)),
          'x-ratelimit-reset': String(resetAt),
          'x-ratelimit-used': String(windowUsed),
          'x-ratelimit-resource': answer.headers?.['x-ratelimit-resource'] ?? 'core',
        });
      }
      if (type) out['content-type'] = type;
      if (status !== 304) Object.assign(out, answer.headers ?? {});
      out['content-length'] = String(payload.length);
      record.status = status;
      response.writeHead(status, out);
      response.end(payload);
    });
  });

  function notModified(
    headers: IncomingHttpHeaders,
    etag: string,
    lastModified: string | undefined,
  ): boolean {
    const match = headers['if-none-match'];
    if (match !== undefined) {
      return match
        .split(',')
        .map((tag) => tag.trim().replace(/^W\//, ''))
        .some((tag) => tag === '*' || tag === etag);
    }
    const since = headers['if-modified-since'];
    if (since !== undefined && lastModified !== undefined) {
      const at = Date.parse(since);
      return !Number.isNaN(at) && Date.parse(lastModified) <= at;
    }
    return false;
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;

  return {
    url: base(),
    requests,
    rateLimitUsed: () => totalUsed,
    get now() {
      return clock;
    },
    set now(ms: number) {
      clock = ms;
    },
    advance(ms: number) {
      clock += ms;
    },
    repo: (fullName: string) => repository(fullName),
    force(response: ForcedResponse) {
      forced.push({ ...response, left: response.times ?? 1 });
    },
    pendingFaults: () => forced.length,
    stop() {
      forced.length = 0;
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** An ISO 8601 time as GitHub writes it (UTC, whole seconds). */
function normalizeTime(value: string): string {
  return new Date(Date.parse(value)).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
