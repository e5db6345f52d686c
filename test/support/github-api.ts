// A small GitHub REST API on 127.0.0.1 for the issue endpoints open-issue-on-failure uses:
//   GET   /repos/{owner}/{repo}/issues            (and /repositories/{id}/issues, where GitHub's
//                                                  pagination links point)
//   POST  /repos/{owner}/{repo}/issues
//   POST  /repos/{owner}/{repo}/issues/{number}/comments
//   PATCH /repos/{owner}/{repo}/issues/{number}
// Response shapes, status codes, error bodies and headers (Link, x-ratelimit-*, retry-after,
// x-accepted-github-permissions) follow GitHub's REST description. Like GitHub it wants a token
// ("Authorization: token <t>" or "Bearer <t>"): none → 401 on writes, an unknown one → 401 Bad
// credentials, one without the issues permission → 403 "Resource not accessible by integration".
// Faults are injected with a queue of forced responses; every request is recorded.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a token may do with issues: GET needs read, POST/PATCH need write. */
export type IssuesPermission = 'write' | 'read' | 'none';

export interface ApiLabel {
  id: number;
  node_id: string;
  url: string;
  name: string;
  color: string;
  default: boolean;
  description: string | null;
}

export interface ApiUser {
  login: string;
  id: number;
  type: string;
  site_admin: boolean;
}

/** An issue as GitHub's REST API returns it (the fields this server fills). */
export interface ApiIssue {
  id: number;
  node_id: string;
  url: string;
  repository_url: string;
  comments_url: string;
  html_url: string;
  number: number;
  state: 'open' | 'closed';
  state_reason: 'completed' | 'not_planned' | 'reopened' | null;
  title: string;
  body: string | null;
  user: ApiUser;
  labels: ApiLabel[];
  assignee: ApiUser | null;
  assignees: ApiUser[];
  locked: boolean;
  comments: number;
  pull_request?: { url: string; html_url: string };
  created_at: string;
  updated_at: string;
  closed_at: string | null;
}

export interface ApiComment {
  id: number;
  html_url: string;
  issue_url: string;
  body: string;
  user: ApiUser;
  created_at: string;
}

export interface RecordedRequest {
  method: string;
  /** Path and query as sent. */
  url: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body (or the text when it is not JSON). */
  body: unknown;
  /** Date.now() when the request arrived. */
  at: number;
  status: number;
  /** Answered from the queue of forced responses. */
  forced: boolean;
}

/** An answer the server gives instead of the real one, to the next request that matches. */
export interface ForcedResponse {
  status: number;
  headers?: Record<string, string>;
  /** JSON (an object) or text. */
  body?: unknown;
  /** Which request gets it; default: the next one. */
  match?: { method?: string; path?: string | RegExp };
  /** The request takes effect (an issue is created, ...) and the answer is still this one. */
  afterEffect?: boolean;
}

/** The fields of an issue made by hand (addIssue); labels are created as needed. */
export interface IssueFields {
  title: string;
  body?: string | null;
  labels?: Array<string | { name: string }>;
  assignees?: string[];
  state?: 'open' | 'closed';
  createdAt?: string;
  pullRequest?: boolean;
  user?: ApiUser;
}

export interface GitHubApi {
  /** http://127.0.0.1:<port>: give it to Octokit as baseUrl (GITHUB_API_URL). */
  url: string;
  requests: RecordedRequest[];
  /** Every issue and pull request of owner/name, closed ones included, in creation order. */
  issues(repository: string): ApiIssue[];
  comments(repository: string, issueNumber: number): ApiComment[];
  /** An issue made by hand (or a pull request); labels are created as needed. */
  addIssue(
    repository: string,
    fields: {
      title: string;
      body?: string;
      labels?: string[];
      assignees?: string[];
      state?: 'open' | 'closed';
      createdAt?: string;
      pullRequest?: boolean;
    },
  ): ApiIssue;
  /** Closes an issue by hand. */
  closeIssue(repository: string, issueNumber: number): ApiIssue;
  setPermission(token: string, permission: IssuesPermission): void;
  /** Queues forced answers; each is used once, by the first request it matches. */
  force(...responses: ForcedResponse[]): void;
  /** Forced answers not used yet. */
  pendingFaults(): number;
  stop(): Promise<void>;
}

export interface GitHubApiOptions {
  /** token → its issues permission; any other token gets 401 Bad credentials. */
  tokens?: Record<string, IssuesPermission>;
  /** Logins that can be assigned; others → 422 Validation Failed. Default: anyone. */
  users?: string[];
  /** Largest page the server returns (GitHub: 100); smaller to exercise pagination. */
  maxPerPage?: number;
  /** Base of html_url; default https://github.com. */
  htmlUrl?: string;
  /** The login issues and comments are made by; default github-actions[bot]. */
  login?: string;
}

/** An issue as stored: everything the API answers with. */
interface StoredIssue extends Omit<ApiIssue, 'pull_request'> {
  labels_url: string;
  events_url: string;
  milestone: null;
  active_lock_reason: null;
  closed_by: ApiUser | null;
  author_association: string;
  reactions: { url: string; total_count: number };
  timeline_url: string;
  pull_request?: { url: string; html_url: string; diff_url: string; patch_url: string; merged_at: null };
}

interface StoredComment extends ApiComment {
  node_id: string;
  url: string;
  updated_at: string;
  author_association: string;
}

interface Repository {
  id: number;
  fullName: string;
  issues: StoredIssue[];
  comments: Map<number, StoredComment[]>;
  labels: Map<string, ApiLabel>;
}

type RouteKind = 'list' | 'create' | 'comment' | 'update';
type Route = { kind: RouteKind; fullName?: string; repositoryId?: string; number?: number };
/** Status, body (JSON, or text when a string), extra headers. */
type Answer = [status: number, body: unknown, headers?: Record<string, string>];
/** A request's JSON body, as the handlers read it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- whatever the client sent
type Body = any;

const DOCS = 'https://docs.github.com/rest';
const ISSUE_DOCS: Record<RouteKind, string> = {
  list: `${DOCS}/issues/issues#list-repository-issues`,
  create: `${DOCS}/issues/issues#create-an-issue`,
  update: `${DOCS}/issues/issues#update-an-issue`,
  comment: `${DOCS}/issues/comments#create-an-issue-comment`,
};
const SECONDARY_RATE_LIMIT_DOCS =
  'https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits';

/** GitHub's secondary rate limit answer: 403 (or 429) with retry-after (seconds, default 1). */
export function secondaryRateLimit({
  retryAfter = 1,
  status = 403,
  match,
}: {
  retryAfter?: number;
  status?: 403 | 429;
  match?: ForcedResponse['match'];
} = {}): ForcedResponse {
  return {
    status,
    match,
    headers: { 'retry-after': String(retryAfter) },
    body: {
      message:
        'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0000:1111:2222:3333:44444444.',
      documentation_url: SECONDARY_RATE_LIMIT_DOCS,
      status: String(status),
    },
  };
}

/** A 5xx answer: 500 as JSON (as the API sends it), 502/503/504 as the HTML page the front end sends. */
export function serverError(
  status = 500,
  { match, afterEffect = false }: { match?: ForcedResponse['match']; afterEffect?: boolean } = {},
): ForcedResponse {
  if (status === 500) {
    return { status, match, afterEffect, body: { message: 'Server Error', status: '500' } };
  }
  return {
    status,
    match,
    afterEffect,
    headers: { 'content-type': 'text/html; charset=utf-8' },
    body: `<!DOCTYPE html>\n<html><head><title>Unicorn! &middot; GitHub</title></head><body><p>We had issues producing the response to your request.</p></body></html>\n`,
  };
}

export async function startGitHubApi({
  tokens = {},
  users,
  maxPerPage = 100,
  htmlUrl = 'https://github.com',
  login = 'github-actions[bot]',
}: GitHubApiOptions = {}): Promise<GitHubApi> {
  const permissions = new Map<string | undefined, IssuesPermission>(Object.entries(tokens));
  const requests: RecordedRequest[] = [];
  const forced: ForcedResponse[] = [];
  /** owner/name (lower case) → { id, fullName, issues: [], comments: Map<number, []> } */
  const repositories = new Map<string, Repository>();
  let nextId = 1000;
  // Whole seconds, as GitHub writes them, and strictly increasing: "oldest" is well defined however
  // fast a test runs.
  let clock = 0;
  const now = () => {
    clock = Math.max(clock + 1000, Math.floor(Date.now() / 1000) * 1000);
    return new Date(clock).toISOString().replace(/\.\d{3}Z$/, 'Z');
  };
  const bot: ApiUser & { node_id: string } = {
    login,
    id: 41898282,
    node_id: 'MDM6Qm90NDE4OTgyODI=',
    type: 'Bot',
    site_admin: false,
  };

  function repository(fullName: string): Repository {
    const key = fullName.toLowerCase();
    let repo = repositories.get(key);
    if (!repo) {
      repo = { id: nextId++, fullName, issues: [], comments: new Map(), labels: new Map() };
      repositories.set(key, repo);
    }
    return repo;
  }

  function label(repo: Repository, name: string): ApiLabel {
    const key = name.toLowerCase();
    let existing = repo.labels.get(key);
    if (!existing) {
      const id = nextId++;
      existing = {
        id,
        node_id: `LA_${id}`,
        url: `${base()}/repos/${repo.fullName}/labels/${encodeURIComponent(name)}`,
        name,
        color: 'ededed',
        default: false,
        description: null,
      };
      repo.labels.set(key, existing);
    }
    return existing;
  }

  function addIssue(fullName: string, fields: IssueFields): StoredIssue {
    const repo = repository(fullName);
    const number = repo.issues.length + 1;
    const id = nextId++;
    const created = fields.createdAt ?? now();
    const api = `${base()}/repos/${repo.fullName}/issues/${number}`;
    const issue: StoredIssue = {
      id,
      node_id: `I_${id}`,
      url: api,
      repository_url: `${base()}/repos/${repo.fullName}`,
      labels_url: `${api}/labels{/name}`,
      comments_url: `${api}/comments`,
      events_url: `${api}/events`,
      html_url: `${htmlUrl}/${repo.fullName}/${fields.pullRequest ? 'pull' : 'issues'}/${number}`,
      number,
      state: fields.state ?? 'open',
      state_reason: fields.state === 'closed' ? 'completed' : null,
      title: fields.title,
      body: fields.body ?? null,
      user: fields.user ?? bot,
      labels: (fields.labels ?? []).map((name) => label(repo, typeof name === 'string' ? name : name.name)),
      assignee: null,
      assignees: [],
      milestone: null,
      locked: false,
      active_lock_reason: null,
      comments: 0,
      closed_at: fields.state === 'closed' ? created : null,
      created_at: created,
      updated_at: created,
      closed_by: null,
      author_association: 'NONE',
      reactions: { url: `${api}/reactions`, total_count: 0 },
      timeline_url: `${api}/timeline`,
    };
    setAssignees(issue, fields.assignees ?? []);
    if (fields.pullRequest) {
      issue.pull_request = {
        url: `${base()}/repos/${repo.fullName}/pulls/${number}`,
        html_url: issue.html_url,
        diff_url: `${issue.html_url}.diff`,
        patch_url: `${issue.html_url}.patch`,
        merged_at: null,
      };
    }
    repo.issues.push(issue);
    repo.comments.set(number, []);
    return issue;
  }

  function setAssignees(issue: StoredIssue, logins: string[]): void {
    issue.assignees = logins.map((name) => ({ login: name, id: nextId++, type: 'User', site_admin: false }));
    issue.assignee = issue.assignees[0] ?? null;
  }

  function addComment(repo: Repository, issue: StoredIssue, body: string): StoredComment {
    const id = nextId++;
    const at = now();
    const comment: StoredComment = {
      id,
      node_id: `IC_${id}`,
      url: `${base()}/repos/${repo.fullName}/issues/comments/${id}`,
      html_url: `${issue.html_url}#issuecomment-${id}`,
      issue_url: issue.url,
      body,
      user: bot,
      created_at: at,
      updated_at: at,
      author_association: 'NONE',
    };
    repo.comments.get(issue.number)!.push(comment);
    issue.comments += 1;
    issue.updated_at = at;
    return comment;
  }

  let port = 0;
  const base = () => `http://127.0.0.1:${port}`;

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const url = new URL(request.url!, base());
      const record: RecordedRequest = {
        method: request.method!,
        url: request.url!,
        path: url.pathname,
        headers: { ...request.headers },
        body: text ? safeJson(text) : undefined,
        at: Date.now(),
        status: 0,
        forced: false,
      };
      requests.push(record);
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        record.status = status;
        const json = typeof body !== 'string';
        const payload = json ? JSON.stringify(body) : (body as string);
        response.writeHead(status, {
          'content-type': 'application/json; charset=utf-8',
          'x-github-api-version-selected': '2022-11-28',
          'x-github-media-type': 'github.v3; format=json',
          'x-github-request-id': `0000:${requests.length}`,
          'x-ratelimit-limit': '5000',
          'x-ratelimit-remaining': '4999',
          'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
          'x-ratelimit-used': '1',
          'x-ratelimit-resource': 'core',
          ...headers,
          'content-length': Buffer.byteLength(payload),
        });
        response.end(payload);
      };

      const index = forced.findIndex((fault) => matches(fault.match, request.method!, url.pathname));
      const fault = index === -1 ? undefined : forced.splice(index, 1)[0];
      if (fault && !fault.afterEffect) {
        record.forced = true;
        return send(fault.status, fault.body ?? '', fault.headers);
      }
      let answer: Answer;
      try {
        answer = handle(request.method!, url, request.headers.authorization, record.body);
      } catch (error) {
        answer = [500, { message: `test server: ${(error as Error).message}` }];
      }
      if (fault) {
        record.forced = true;
        return send(fault.status, fault.body ?? '', fault.headers);
      }
      send(...answer);
    });
  });

  function handle(
    method: string,
    url: URL,
    authorization: IncomingHttpHeaders['authorization'],
    body: Body,
  ): Answer {
    const route = routeOf(method, url.pathname);
    if (!route) return [404, { message: 'Not Found', documentation_url: DOCS, status: '404' }];

    const write = method !== 'GET';
    const token = /^(?:token|bearer)\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (authorization && !permissions.has(token)) {
      return [401, { message: 'Bad credentials', documentation_url: DOCS, status: '401' }];
    }
    if (!authorization && write) {
      return [
        401,
        { message: 'Requires authentication', documentation_url: ISSUE_DOCS[route.kind], status: '401' },
      ];
    }
    const permission = authorization ? permissions.get(token) : 'read';
    if (permission === 'none' || (write && permission !== 'write')) {
      return [
        403,
        {
          message: 'Resource not accessible by integration',
          documentation_url: ISSUE_DOCS[route.kind],
          status: '403',
        },
        { 'x-accepted-github-permissions': `issues=${write ? 'write' : 'read'}` },
      ];
    }

    const repo = route.repositoryId
      ? [...repositories.values()].find((r) => String(r.id) === route.repositoryId)
      : repository(route.fullName!);
    if (!repo) return [404, { message: 'Not Found', documentation_url: DOCS, status: '404' }];

    if (route.kind === 'list') return listIssues(repo, url);

    if (route.kind === 'create') {
      if (!body || typeof body !== 'object' || !body.title) {
        return [
          422,
          {
            message: 'Invalid request.\n\n"title" wasn\'t supplied.',
            documentation_url: ISSUE_DOCS.create,
            status: '422',
          },
        ];
      }
      const invalid = invalidAssignees(body.assignees);
      if (invalid.length) return assigneeError(invalid, ISSUE_DOCS.create);
      const issue = addIssue(repo.fullName, {
        title: String(body.title),
        body: body.body ?? null,
        labels: body.labels ?? [],
        assignees: body.assignees ?? [],
      });
      return [201, issue, { location: issue.url }];
    }

    const issue = repo.issues.find((i) => i.number === route.number);
    if (!issue)
      return [404, { message: 'Not Found', documentation_url: ISSUE_DOCS[route.kind], status: '404' }];

    if (route.kind === 'comment') {
      if (!body || typeof body.body !== 'string' || body.body === '') {
        return [
          422,
          {
            message: 'Invalid request.\n\n"body" wasn\'t supplied.',
            documentation_url: ISSUE_DOCS.comment,
            status: '422',
          },
        ];
      }
      const comment = addComment(repo, issue, body.body);
      return [201, comment, { location: comment.url }];
    }

    // update
    const at = now();
    if (body.title !== undefined) issue.title = String(body.title);
    if (body.body !== undefined) issue.body = body.body;
    if (body.labels !== undefined)
      issue.labels = body.labels.map((l: string | { name: string }) =>
        label(repo, typeof l === 'string' ? l : l.name),
      );
    if (body.assignees !== undefined) {
      const invalid = invalidAssignees(body.assignees);
      if (invalid.length) return assigneeError(invalid, ISSUE_DOCS.update);
      setAssignees(issue, body.assignees);
    }
    if (body.state === 'closed' && issue.state !== 'closed') {
      issue.state = 'closed';
      issue.state_reason = body.state_reason ?? 'completed';
      issue.closed_at = at;
      issue.closed_by = bot;
    } else if (body.state === 'open' && issue.state !== 'open') {
      issue.state = 'open';
      issue.state_reason = 'reopened';
      issue.closed_at = null;
      issue.closed_by = null;
    }
    issue.updated_at = at;
    return [200, issue];
  }

  function listIssues(repo: Repository, url: URL): Answer {
    const query = url.searchParams;
    const state = query.get('state') ?? 'open';
    const wanted = (query.get('labels') ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter(Boolean);
    const sort = query.get('sort') ?? 'created';
    const direction = query.get('direction') ?? 'desc';
    const perPage = Math.min(Math.max(Number(query.get('per_page') ?? 30) || 30, 1), maxPerPage);
    const page = Math.max(Number(query.get('page') ?? 1) || 1, 1);

    const key =
      ({ created: 'created_at', updated: 'updated_at', comments: 'comments' } as const)[
        sort as 'created' | 'updated' | 'comments'
      ] ?? 'created_at';
    const all = repo.issues
      .filter((issue) => state === 'all' || issue.state === state)
      .filter((issue) => wanted.every((name) => issue.labels.some((l) => l.name.toLowerCase() === name)))
      .sort((a, b) => compare(a[key], b[key]) || a.number - b.number);
    if (direction === 'desc') all.reverse();
    const last = Math.max(Math.ceil(all.length / perPage), 1);
    const items = all.slice((page - 1) * perPage, page * perPage);

    // As GitHub does: links to /repositories/{id}/issues, in the order prev, next, last, first.
    const link = (n: number) => {
      const target = new URL(`${base()}/repositories/${repo.id}/issues`);
      for (const [name, value] of query) if (name !== 'page') target.searchParams.set(name, value);
      target.searchParams.set('page', String(n));
      return `<${target.href}>`;
    };
    const links: string[] = [];
    if (page > 1) links.push(`${link(page - 1)}; rel="prev"`);
    if (page < last) links.push(`${link(page + 1)}; rel="next"`, `${link(last)}; rel="last"`);
    if (page > 1) links.push(`${link(1)}; rel="first"`);
    return [200, items, links.length ? { link: links.join(', ') } : {}];
  }

  function invalidAssignees(logins: unknown): unknown[] {
    if (!users || !Array.isArray(logins)) return [];
    return logins.filter((name) => !users.some((user) => user.toLowerCase() === String(name).toLowerCase()));
  }

  function assigneeError(invalid: unknown[], documentation: string): Answer {
    return [
      422,
      {
        message: 'Validation Failed',
        errors: invalid.map((value) => ({ value, resource: 'Issue', field: 'assignees', code: 'invalid' })),
        documentation_url: documentation,
        status: '422',
      },
    ];
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;

  return {
    url: base(),
    requests,
    issues: (fullName: string) => repository(fullName).issues as ApiIssue[],
    comments: (fullName: string, number: number) => repository(fullName).comments.get(number) ?? [],
    addIssue: (fullName, fields) => addIssue(fullName, fields) as ApiIssue,
    closeIssue(fullName: string, number: number) {
      const issue = repository(fullName).issues.find((i) => i.number === number)!;
      issue.state = 'closed';
      issue.state_reason = 'completed';
      issue.closed_at = issue.updated_at = now();
      return issue as ApiIssue;
    },
    setPermission(token: string, permission: IssuesPermission) {
      permissions.set(token, permission);
    },
    force(...responses: ForcedResponse[]) {
      forced.push(...responses);
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

function routeOf(method: string, pathname: string): Route | undefined {
  let m = /^\/repos\/([^/]+)\/([^/]+)\/issues\/?$/.exec(pathname);
  if (m && method === 'GET') return { kind: 'list', fullName: `${decode(m[1])}/${decode(m[2])}` };
  if (m && method === 'POST') return { kind: 'create', fullName: `${decode(m[1])}/${decode(m[2])}` };
  m = /^\/repositories\/(\d+)\/issues\/?$/.exec(pathname);
  if (m && method === 'GET') return { kind: 'list', repositoryId: m[1] };
  m = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments\/?$/.exec(pathname);
  if (m && method === 'POST') {
    return { kind: 'comment', fullName: `${decode(m[1])}/${decode(m[2])}`, number: Number(m[3]) };
  }
  m = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/?$/.exec(pathname);
  if (m && method === 'PATCH') {
    return { kind: 'update', fullName: `${decode(m[1])}/${decode(m[2])}`, number: Number(m[3]) };
  }
  return undefined;
}

function matches(match: ForcedResponse['match'], method: string, pathname: string): boolean {
  if (!match) return true;
  if (match.method && match.method.toUpperCase() !== method) return false;
  if (match.path === undefined) return true;
  return typeof match.path === 'string' ? match.path === pathname : match.path.test(pathname);
}

function compare(a: string | number, b: string | number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function decode(part: string): string {
  return decodeURIComponent(part);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
