import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// A fake GitHub speaking the repository-listing REST API on 127.0.0.1: /orgs/{org}/repos,
// /users/{user}/repos, /user, /user/repos (and the /organizations/{id}/repos, /user/{id}/repos pages
// their Link headers point to), with tokens, pagination, forced faults and a request log.
//
// The same server as the one inside test/unit/plan.test.ts, taken out so that other tests (the reusable
// workflow's) list an organization the way the plan action does; plan.test.ts can import it from here
// unchanged.

export type Visibility = 'public' | 'private' | 'internal';
export interface RepoSpec {
  name: string;
  archived?: boolean;
  fork?: boolean;
  disabled?: boolean;
  visibility?: Visibility;
}
export interface Owner {
  login: string;
  id: number;
  type: 'Organization' | 'User';
  repos: RepoSpec[];
}
/** What a token is: its user (null for a GitHub App installation), and the organizations it can read. */
export interface TokenInfo {
  login: string | null;
  member?: string[];
  /** Organizations that answer 403 (SAML single sign-on not authorized). */
  sso?: string[];
}
export interface Fault {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
  path?: RegExp;
}
export interface RecordedRequest {
  method: string;
  path: string;
  url: string;
  status: number;
  authorization?: string;
}

const DOCS = 'https://docs.github.com/rest';

export async function startReposApi(tokens: Record<string, TokenInfo>) {
  const owners = new Map<string, Owner>();
  const requests: RecordedRequest[] = [];
  const faults: Fault[] = [];
  let nextId = 5000;
  let base = '';

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', base);
    const authorization = req.headers.authorization;
    const [status, body, headers = {}] = answer(req.method ?? 'GET', url, authorization);
    requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      url: req.url ?? '',
      status,
      authorization,
    });
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'x-github-media-type': 'github.v3; format=json',
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '4999',
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
      ...headers,
    });
    res.end(text);
  });

  type Answer = [number, unknown, Record<string, string>?];

  function answer(method: string, url: URL, authorization: string | undefined): Answer {
    const fault = faults.findIndex((f) => !f.path || f.path.test(url.pathname));
    if (fault >= 0) {
      const [forced] = faults.splice(fault, 1);
      return [forced.status, forced.body, forced.headers];
    }
    const token = /^(?:token|bearer) (.+)$/i.exec(authorization ?? '')?.[1];
    const who = token === undefined ? undefined : tokens[token];
    if (!who) {
      return [
        401,
        {
          message: token ? 'Bad credentials' : 'Requires authentication',
          documentation_url: DOCS,
          status: '401',
        },
      ];
    }
    if (method !== 'GET') return [404, { message: 'Not Found', documentation_url: DOCS, status: '404' }];
    const p = url.pathname;
    let m: RegExpExecArray | null;
    if (p === '/user') {
      if (who.login === null) return forbidden('users/users#get-the-authenticated-user');
      const user = owner(who.login);
      return [200, { login: user?.login ?? who.login, id: user?.id ?? 1, type: 'User' }];
    }
    if (p === '/user/repos') {
      if (who.login === null) return forbidden('repos/repos#list-repositories-for-the-authenticated-user');
      const user = owner(who.login);
      const affiliation = url.searchParams.get('affiliation') ?? 'owner,collaborator,organization_member';
      const repos = user && affiliation.includes('owner') ? user.repos : [];
      return page(url, user!, repos, '/user/repos');
    }
    if ((m = /^\/orgs\/([^/]+)\/repos$/.exec(p)) || (m = /^\/organizations\/(\d+)\/repos$/.exec(p))) {
      const org = owner(decodeURIComponent(m[1]));
      if (!org || org.type !== 'Organization') {
        return [
          404,
          {
            message: 'Not Found',
            documentation_url: `${DOCS}/repos/repos#list-organization-repositories`,
            status: '404',
          },
        ];
      }
      if (who.sso?.includes(org.login)) {
        return [
          403,
          {
            message: `Resource protected by organization SAML enforcement. You must grant your Personal Access token access to this organization.`,
            documentation_url:
              'https://docs.github.com/articles/authenticating-to-a-github-organization-with-saml-single-sign-on/',
            status: '403',
          },
        ];
      }
      const member = who.member?.includes(org.login) ?? false;
      const type = url.searchParams.get('type') ?? 'all';
      const repos = org.repos
        .filter((r) => member || (r.visibility ?? 'public') === 'public')
        .filter((r) => type !== 'forks' || r.fork);
      return page(url, org, repos, `/organizations/${org.id}/repos`);
    }
    if ((m = /^\/users\/([^/]+)\/repos$/.exec(p)) || (m = /^\/user\/(\d+)\/repos$/.exec(p))) {
      const user = owner(decodeURIComponent(m[1]));
      if (!user)
        return [
          404,
          {
            message: 'Not Found',
            documentation_url: `${DOCS}/repos/repos#list-repositories-for-a-user`,
            status: '404',
          },
        ];
      // Public repositories only, whoever asks.
      return page(
        url,
        user,
        user.repos.filter((r) => (r.visibility ?? 'public') === 'public'),
        `/user/${user.id}/repos`,
      );
    }
    return [404, { message: 'Not Found', documentation_url: DOCS, status: '404' }];
  }

  function forbidden(doc: string): Answer {
    return [
      403,
      {
        message: 'Resource not accessible by integration',
        documentation_url: `${DOCS}/${doc}`,
        status: '403',
      },
      { 'x-accepted-github-permissions': 'allows_permissionless_access=true' },
    ];
  }

  /** One page, with GitHub's Link header: prev, next, last, first, pointing where GitHub points. */
  function page(url: URL, who: Owner, repos: RepoSpec[], linkPath: string): Answer {
    const query = url.searchParams;
    const perPage = Math.min(Math.max(Number(query.get('per_page') ?? 30) || 30, 1), 100);
    const number = Math.max(Number(query.get('page') ?? 1) || 1, 1);
    const last = Math.max(Math.ceil(repos.length / perPage), 1);
    const items = repos.slice((number - 1) * perPage, number * perPage).map((r) => repository(who, r));
    const link = (n: number) => {
      const target = new URL(`${base}${linkPath}`);
      for (const [name, value] of query) if (name !== 'page') target.searchParams.set(name, value);
      target.searchParams.set('page', String(n));
      return `<${target.href}>`;
    };
    const links: string[] = [];
    if (number > 1) links.push(`${link(number - 1)}; rel="prev"`);
    if (number < last) links.push(`${link(number + 1)}; rel="next"`, `${link(last)}; rel="last"`);
    if (number > 1) links.push(`${link(1)}; rel="first"`);
    return [200, items, links.length ? { link: links.join(', ') } : {}];
  }

  function repository(who: Owner, r: RepoSpec) {
    const visibility = r.visibility ?? 'public';
    const fullName = `${who.login}/${r.name}`;
    return {
      id: stableId(fullName),
      node_id: `R_${stableId(fullName)}`,
      name: r.name,
      full_name: fullName,
      private: visibility !== 'public',
      owner: {
        login: who.login,
        id: who.id,
        node_id: `O_${who.id}`,
        url: `${base}/users/${who.login}`,
        html_url: `https://github.com/${who.login}`,
        type: who.type,
        site_admin: false,
      },
      html_url: `https://github.com/${fullName}`,
      description: null,
      fork: r.fork ?? false,
      url: `${base}/repos/${fullName}`,
      clone_url: `https://github.com/${fullName}.git`,
      default_branch: 'main',
      archived: r.archived ?? false,
      disabled: r.disabled ?? false,
      visibility,
      size: 108,
      created_at: '2020-01-01T00:00:00Z',
      updated_at: '2024-01-01T00:00:00Z',
      pushed_at: '2024-01-01T00:00:00Z',
    };
  }

  function stableId(text: string): number {
    let hash = 0;
    for (const char of text) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
    return hash % 1_000_000_000;
  }

  function owner(login: string): Owner | undefined {
    return owners.get(login.toLowerCase()) ?? [...owners.values()].find((o) => String(o.id) === login);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    requests,
    addOwner(type: Owner['type'], login: string, repos: RepoSpec[]) {
      owners.set(login.toLowerCase(), { login, id: nextId++, type, repos });
    },
    force(...forced: Fault[]) {
      faults.push(...forced);
    },
    pendingFaults: () => faults.length,
    stop() {
      faults.length = 0;
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

export type ReposApi = Awaited<ReturnType<typeof startReposApi>>;

export const serverError = (status: number, path?: RegExp): Fault =>
  status === 500
    ? { status, path, body: { message: 'Server Error', status: '500' } }
    : {
        status,
        path,
        headers: { 'content-type': 'text/html; charset=utf-8' },
        body: '<!DOCTYPE html><html><head><title>Unicorn! &middot; GitHub</title></head><body><p>We had issues producing the response to your request.</p></body></html>',
      };

export const secondaryRateLimit = (path?: RegExp): Fault => ({
  status: 403,
  path,
  headers: { 'retry-after': '1' },
  body: {
    message:
      'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0000:1111:2222:3333:44444444.',
    documentation_url:
      'https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
    status: '403',
  },
});
