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

export function startGitHubApi(options?: {
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
}): Promise<GitHubApi>;

/** GitHub's secondary rate limit answer: 403 (or 429) with retry-after (seconds, default 1). */
export function secondaryRateLimit(options?: {
  retryAfter?: number;
  status?: 403 | 429;
  match?: ForcedResponse['match'];
}): ForcedResponse;

/** A 5xx answer: 500 as JSON, 502/503/504 as GitHub's HTML error page. */
export function serverError(
  status?: number,
  options?: { match?: ForcedResponse['match']; afterEffect?: boolean },
): ForcedResponse;
