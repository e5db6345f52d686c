import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { planAction } from '../../src/actions/plan.js';
import { InputError } from '../../src/util/errors.js';
import type { ApiOptions } from '../../src/github/repositories.js';
import { runPlan } from '../../src/commands/plan.js';
import { globToRegExp } from '../../src/plan/filter.js';
import { buildPlan, MAX_SHARDS, shardRepositories, sortRepositories } from '../../src/plan/shards.js';
import { planSummary } from '../../src/report/step-summaries.js';
import { readPlanSettings } from '../../src/settings/plan.js';
import { tempDir } from '../support/fixtures.js';
import { reader, failureWithout, captureStdout } from '../support/helpers.js';
import {
  type RepoSpec,
  type ReposApi,
  secondaryRateLimit,
  serverError,
  startReposApi,
} from '../support/repos-api.js';

// The plan step against a real HTTP server speaking GitHub's repository-listing REST API.

const TOKEN = 'ghp_planTestToken0123456789abcdefghijKLMNOP';
const OCTOCAT_TOKEN = 'ghp_octocatToken0123456789abcdefghijKLMNOP';
const APP_TOKEN = 'ghs_appInstallToken0123456789abcdefghijKLM';
const BAD_TOKEN = 'ghp_revokedToken0123456789abcdefghijKLMNOP';
const TOKENS = [TOKEN, OCTOCAT_TOKEN, APP_TOKEN, BAD_TOKEN];

// --- Fixtures -----------------------------------------------------------------------------------

/** 250 names, added in a scrambled order: the plan must sort them itself. */
const BIG = Array.from({ length: 250 }, (_, i) => `repo-${String((i * 7919) % 250).padStart(3, '0')}`);

const MIXED: RepoSpec[] = [
  { name: 'web-app' },
  { name: 'Web-API', visibility: 'private' },
  { name: 'infra', visibility: 'internal' },
  { name: 'old-site', archived: true },
  { name: 'linux', fork: true },
  { name: 'docs' },
  { name: 'app-1' },
  { name: 'app-22', visibility: 'private' },
  { name: 'blocked', disabled: true },
];

let api: ReposApi;

beforeAll(async () => {
  api = await startReposApi({
    [TOKEN]: { login: 'backup-bot', member: ['big-org', 'mixed-org', 'empty-org'], sso: ['sso-org'] },
    [OCTOCAT_TOKEN]: { login: 'octocat' },
    [APP_TOKEN]: { login: null, member: ['mixed-org'] },
  });
  api.addOwner(
    'Organization',
    'big-org',
    BIG.map((name) => ({ name })),
  );
  api.addOwner('Organization', 'mixed-org', MIXED);
  api.addOwner('Organization', 'empty-org', []);
  api.addOwner('Organization', 'sso-org', [{ name: 'secret' }]);
  api.addOwner('User', 'octocat', [
    { name: 'Hello-World' },
    { name: 'dotfiles', visibility: 'private' },
    { name: 'spoon-knife', fork: true },
  ]);
});

afterAll(() => api?.stop());

const printed = captureStdout(TOKENS);

/** Retries after 5/20/45 ms, and a secondary rate limit's "retry-after: 1" waits 10 ms. */
const FAST: ApiOptions = { retryBaseMs: 5, throttle: { retryAfterBaseValue: 10 } };

async function plan(inputs: Record<string, string>, options: ApiOptions = FAST) {
  return runPlan(readPlanSettings(reader({ token: TOKEN, ...inputs }), { GITHUB_API_URL: api.url }), options);
}

/** The requests made since `from`, as "path?query status". */
function calls(from: number): string[] {
  return api.requests.slice(from).map((r) => `${r.url} ${r.status}`);
}

/** The error a run rejects with, checked for every token. */
const failureOf = (promise: Promise<unknown>) => failureWithout(TOKENS, promise);

async function inputErrorOf(promise: Promise<unknown>): Promise<InputError> {
  const error = await failureOf(promise);
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

const names = (from: number, to: number, prefix = 'r') =>
  Array.from({ length: to - from }, (_, i) => `${prefix}${String(from + i).padStart(5, '0')}`);

// --- Tests --------------------------------------------------------------------------------------

describe('inputs', () => {
  test.each([
    [
      'both organization and repositories',
      { organization: 'big-org', repositories: 'a/b' },
      'repositories',
      /both given/,
    ],
    [
      'neither',
      { repositories: '\n# nothing\n' },
      'repositories',
      /is empty and "organization" is not given/,
    ],
    [
      'shard-size 0',
      { organization: 'big-org', 'shard-size': '0' },
      'shard-size',
      /whole number from 1 to 1000/,
    ],
    ['shard-size 1001', { repositories: 'a/b', 'shard-size': '1001' }, 'shard-size', /from 1 to 1000/],
    [
      'visibility secret',
      { organization: 'big-org', visibility: 'secret' },
      'visibility',
      /not one of all, public, private, internal/,
    ],
    [
      'include with an explicit list',
      { repositories: 'a/b', include: 'a*' },
      'include',
      /only applies with "organization"/,
    ],
    ['exclude with an explicit list', { repositories: 'a/b', exclude: 'x' }, 'exclude', /only applies/],
    ['archived with an explicit list', { repositories: 'a/b', archived: 'TRUE' }, 'archived', /only applies/],
    ['forks with an explicit list', { repositories: 'a/b', forks: 'true' }, 'forks', /only applies/],
    [
      'visibility with an explicit list',
      { repositories: 'a/b', visibility: 'private' },
      'visibility',
      /only applies/,
    ],
    ['a bad filter with a list', { repositories: 'a/b', forks: 'maybe' }, 'forks', /not a boolean/],
    ['archived not a boolean', { organization: 'big-org', archived: 'yes' }, 'archived', /not a boolean/],
    ['an organization URL', { organization: 'https://github.com/big-org' }, 'organization', /just the name/],
    ['a pattern with two slashes', { organization: 'big-org', exclude: 'a/b/c' }, 'exclude', /not a pattern/],
    [
      'a URL with credentials',
      { repositories: `a/b\nhttps://x:${BAD_TOKEN}@github.com/o/r` },
      'repositories',
      /entry 2 has credentials/,
    ],
    ['no token for an organization', { organization: 'big-org', token: '' }, 'token', /is required/],
  ])('%s: InputError naming the input, before any request', async (_, inputs, input, message) => {
    const before = api.requests.length;
    const error = await inputErrorOf(plan(inputs));
    expect(error.input).toBe(input);
    expect(error.message).toMatch(message);
    expect(error.message).toContain(`Input "${input}"`);
    expect(api.requests.length).toBe(before);
  });
});

describe('explicit repositories', () => {
  test('taken as given: each once, sorted, without any request', async () => {
    const before = api.requests.length;
    const lines = [
      'octo/zeta',
      'https://gitlab.com/group/sub/Alpha.git',
      'octo/Beta',
      'octo/zeta',
      'git@host:x/y.git',
    ];
    const result = await plan({ repositories: `${lines.join('\n')}\n# a comment\n`, 'shard-size': '2' });
    expect(result.repositories).toEqual([
      'git@host:x/y.git',
      'https://gitlab.com/group/sub/Alpha.git',
      'octo/Beta',
      'octo/zeta',
    ]);
    expect(result.shards).toEqual([
      { shard: 1, count: 2, repositories: 'git@host:x/y.git\nhttps://gitlab.com/group/sub/Alpha.git' },
      { shard: 2, count: 2, repositories: 'octo/Beta\nocto/zeta' },
    ]);
    expect(result.matrix).toEqual({ include: result.shards });
    expect(api.requests.length).toBe(before);
  });

  test('the filters at their defaults, as a reusable workflow passes them through, are allowed', async () => {
    const result = await plan({
      repositories: 'octo/b\nocto/a',
      include: '',
      exclude: '',
      archived: 'false',
      forks: 'false',
      visibility: 'all',
    });
    expect(result.repositories).toEqual(['octo/a', 'octo/b']);
  });

  test('order-independent: any order (and comma separation) gives the same plan', async () => {
    const list = names(0, 57).map((name, i) => (i % 3 === 0 ? `Octo/${name}` : `octo/${name}`));
    const reversed = await plan({ repositories: [...list].reverse().join('\n'), 'shard-size': '10' });
    const commas = await plan({ repositories: [...list.slice(30), ...list.slice(0, 30)].join(', ') });
    expect(reversed.repositories).toEqual(sortRepositories(list));
    expect((await plan({ repositories: list.join('\n'), 'shard-size': '10' })).matrix).toEqual(
      reversed.matrix,
    );
    expect(commas.repositories).toEqual(reversed.repositories);
  });
});

describe('an organization', () => {
  test('250 repositories: three pages of 100, followed through the Link headers', async () => {
    const before = api.requests.length;
    const result = await plan({ organization: 'big-org' });
    const id = /organizations\/(\d+)\//.exec(api.requests[before + 1].url ?? '')?.[1];
    expect(calls(before)).toEqual([
      '/orgs/big-org/repos?type=all&per_page=100 200',
      `/organizations/${id}/repos?type=all&per_page=100&page=2 200`,
      `/organizations/${id}/repos?type=all&per_page=100&page=3 200`,
    ]);
    expect(api.requests[before].authorization).toBe(`token ${TOKEN}`);
    expect(result.repositories).toEqual([...BIG].sort().map((name) => `big-org/${name}`));
    // 250 / 20 → 13 shards: 3 of 20 and 10 of 19.
    expect(result.shards.map((s) => s.count)).toEqual([20, 20, 20, ...Array(10).fill(19)]);
    expect(result.shards[0].repositories.split('\n')[0]).toBe('big-org/repo-000');
    expect(result.shards[12].repositories.split('\n').at(-1)).toBe('big-org/repo-249');
    expect(printed()).toContain('big-org: 250 repositories listed, 250 planned.');
  });

  test('by default: archived, forks and disabled repositories are left out', async () => {
    const result = await plan({ organization: 'mixed-org' });
    expect(result.repositories).toEqual([
      'mixed-org/app-1',
      'mixed-org/app-22',
      'mixed-org/docs',
      'mixed-org/infra',
      'mixed-org/Web-API',
      'mixed-org/web-app',
    ]);
    const text = printed();
    expect(text).toContain(
      '9 repositories listed, 6 planned (left out: 1 archived (archived: false), 1 forks (forks: false), 1 disabled)',
    );
    expect(text).toContain(
      '::warning::Disabled on GitHub, so they cannot be cloned and are left out: mixed-org/blocked.',
    );
  });

  test.each([
    [{ archived: 'true' }, ['app-1', 'app-22', 'docs', 'infra', 'old-site', 'Web-API', 'web-app']],
    [
      { forks: 'TRUE', archived: 'false' },
      ['app-1', 'app-22', 'docs', 'infra', 'linux', 'Web-API', 'web-app'],
    ],
    [{ visibility: 'private' }, ['app-22', 'Web-API']],
    [{ visibility: 'Internal' }, ['infra']],
    [{ visibility: 'public' }, ['app-1', 'docs', 'web-app']],
    // A name pattern: case-insensitive; `?` is one character.
    [{ include: 'WEB-*' }, ['Web-API', 'web-app']],
    [{ include: 'app-?' }, ['app-1']],
    [{ include: 'app-??, docs' }, ['app-22', 'docs']],
    // An owner/name pattern; `*` never matches across the `/`.
    [{ include: 'MIXED-*/app-*' }, ['app-1', 'app-22']],
    [{ include: '*/docs\n*-org' }, ['docs']],
    [{ include: 'mixed' }, []],
    // Exclude wins over include.
    [{ include: 'web-*\napp-*', exclude: 'web-api\nmixed-org/app-2*' }, ['app-1', 'web-app']],
    [{ exclude: '*' }, []],
  ])('filters %j', async (inputs, expected) => {
    const run = plan({ organization: 'mixed-org', ...inputs });
    if (expected.length === 0) {
      const error = await inputErrorOf(run);
      expect(error.input).toBe('organization');
      expect(error.message).toMatch(/none of the 9 repositories of "mixed-org" is left after the filters/);
      expect(error.message).toMatch(/Loosen include, exclude, archived, forks or visibility/);
      return;
    }
    expect((await run).repositories).toEqual(expected.map((name) => `mixed-org/${name}`));
  });

  test('an organization without repositories is an error, not an empty green run', async () => {
    const error = await inputErrorOf(plan({ organization: 'empty-org' }));
    expect(error.input).toBe('organization');
    expect(error.message).toMatch(/"empty-org" has no repository the token can see/);
  });

  test('a token that is not a member sees only the public repositories', async () => {
    const result = await plan({ organization: 'mixed-org', token: OCTOCAT_TOKEN });
    expect(result.repositories).toEqual(['mixed-org/app-1', 'mixed-org/docs', 'mixed-org/web-app']);
  });
});

describe('a user', () => {
  test('no such organization: the user’s public repositories, through /users/{user}/repos', async () => {
    const before = api.requests.length;
    const result = await plan({ organization: 'octocat', forks: 'true', 'shard-size': '1' });
    expect(calls(before)).toEqual([
      '/orgs/octocat/repos?type=all&per_page=100 404',
      '/user 200',
      '/users/octocat/repos?type=owner&per_page=100 200',
    ]);
    expect(result.repositories).toEqual(['octocat/Hello-World', 'octocat/spoon-knife']);
    expect(result.shards).toEqual([
      { shard: 1, count: 1, repositories: 'octocat/Hello-World' },
      { shard: 2, count: 1, repositories: 'octocat/spoon-knife' },
    ]);
    expect(printed()).toContain("only public ones, as the token is not octocat's");
  });

  test('the token’s own user (any case): /user/repos, private repositories included', async () => {
    const before = api.requests.length;
    const result = await plan({ organization: 'OctoCat', token: OCTOCAT_TOKEN });
    expect(calls(before)).toEqual([
      '/orgs/OctoCat/repos?type=all&per_page=100 404',
      '/user 200',
      '/user/repos?affiliation=owner&visibility=all&per_page=100 200',
    ]);
    expect(result.repositories).toEqual(['octocat/dotfiles', 'octocat/Hello-World']);
  });

  test('a GitHub App token (/user answers 403): the public listing', async () => {
    const before = api.requests.length;
    const result = await plan({ organization: 'octocat', token: APP_TOKEN });
    expect(calls(before).map((call) => call.replace(/\?.*? /, ' '))).toEqual([
      '/orgs/octocat/repos 404',
      '/user 403',
      '/users/octocat/repos 200',
    ]);
    expect(result.repositories).toEqual(['octocat/Hello-World']);
  });

  test('the user’s pages are followed too', async () => {
    api.addOwner(
      'User',
      'many',
      names(0, 130, 'p').map((name) => ({ name })),
    );
    const before = api.requests.length;
    const result = await plan({ organization: 'many' });
    expect(calls(before).at(-1)).toMatch(/^\/user\/\d+\/repos\?type=owner&per_page=100&page=2 200$/);
    expect(result.repositories).toHaveLength(130);
  });

  test('neither an organization nor a user: InputError naming organization and the token needed', async () => {
    const error = await inputErrorOf(plan({ organization: 'no-such-owner' }));
    expect(error.input).toBe('organization');
    expect(error.message).toMatch(/no organization or user "no-such-owner" is visible to the token/);
    expect(error.message).toMatch(
      /fine-grained personal access token or a GitHub App token with the metadata: read/,
    );
  });
});

describe('API failures', () => {
  test('a transient 502, 500 and 503 are retried and the listing completes', async () => {
    api.force(serverError(502, /\/organizations\//), serverError(500, /\/organizations\//), serverError(503));
    const before = api.requests.length;
    const result = await plan({ organization: 'big-org' });
    expect(result.repositories).toHaveLength(250);
    expect(
      calls(before).map((call) =>
        call.replace(/^.*page=(\d).* (\d+)$/, '$1 $2').replace(/^\/orgs.* (\d+)$/, '1 $1'),
      ),
    ).toEqual(['1 503', '1 200', '2 502', '2 500', '2 200', '3 200']);
    expect(api.pendingFaults()).toBe(0);
  });

  test('a secondary rate limit waits retry-after and continues', async () => {
    api.force(secondaryRateLimit(/\/organizations\//));
    const result = await plan({ organization: 'big-org' });
    expect(result.repositories).toHaveLength(250);
    expect(printed()).toMatch(
      /::warning::GitHub's secondary rate limit answered GET .*; trying again in 1 s/,
    );
  });

  test('a 5xx that persists fails after the bounded retries', async () => {
    api.force(...Array.from({ length: 4 }, () => serverError(502)));
    const before = api.requests.length;
    const error = await failureOf(plan({ organization: 'big-org' }));
    expect(error).not.toBeInstanceOf(InputError);
    expect(error.message).toMatch(
      /GitHub answered 502 "We had issues producing the response to your request\." when listing the repositories of organization "big-org", also after 3 retries/,
    );
    expect(calls(before)).toHaveLength(4);
  });

  test('a bad token: InputError naming token, and the token appears nowhere', async () => {
    const before = api.requests.length;
    const error = await inputErrorOf(plan({ organization: 'big-org', token: BAD_TOKEN }));
    expect(error.input).toBe('token');
    expect(error.message).toMatch(
      /is not valid \(expired, revoked or mistyped\): GitHub answered 401 "Bad credentials"/,
    );
    expect(calls(before)).toEqual(['/orgs/big-org/repos?type=all&per_page=100 401']);
  });

  test('403 from the organization (SAML): says which token is needed', async () => {
    const error = await inputErrorOf(plan({ organization: 'sso-org' }));
    expect(error.input).toBe('token');
    expect(error.message).toMatch(
      /may not read the repositories of sso-org: GitHub answered 403 "Resource protected by organization SAML enforcement/,
    );
    expect(error.message).toMatch(/metadata: read permission on them, authorized for SAML single sign-on\./);
  });
});

describe('shards', () => {
  const sizes = (repositories: string[], shardSize: number) =>
    shardRepositories(repositories, shardSize).map((shard) => shard.count);

  test('none and one', () => {
    expect(shardRepositories([], 20)).toEqual([]);
    expect(buildPlan([], 20)).toEqual({ repositories: [], shards: [], matrix: { include: [] } });
    expect(shardRepositories(['a/b'], 20)).toEqual([{ shard: 1, count: 1, repositories: 'a/b' }]);
    expect(shardRepositories(['a/b'], 1)).toEqual([{ shard: 1, count: 1, repositories: 'a/b' }]);
  });

  test('as equal as possible: 45 by 20 → 3 of 15; 40 → 2 of 20; 41 → 14, 14, 13', () => {
    expect(sizes(names(0, 45), 20)).toEqual([15, 15, 15]);
    expect(sizes(names(0, 40), 20)).toEqual([20, 20]);
    expect(sizes(names(0, 41), 20)).toEqual([14, 14, 13]);
    expect(sizes(names(0, 1000), 1000)).toEqual([1000]);
  });

  test('10,000 by 20: 256 shards (GitHub’s matrix limit), every repository exactly once, in order', () => {
    const all = names(0, 10_000);
    const shards = shardRepositories(all, 20);
    expect(shards).toHaveLength(MAX_SHARDS);
    expect(shards.map((s) => s.shard)).toEqual(Array.from({ length: 256 }, (_, i) => i + 1));
    expect(new Set(shards.map((s) => s.count))).toEqual(new Set([39, 40]));
    const flat = shards.flatMap((s) => s.repositories.split('\n'));
    expect(flat).toEqual(all);
    expect(shards.every((s) => s.count === s.repositories.split('\n').length)).toBe(true);
    expect(sizes(names(0, 5120), 20)).toEqual(Array(256).fill(20));
    expect(sizes(names(0, 5121), 20)).toHaveLength(256);
  });

  test('sorting is case-insensitive, with a deterministic tie-break, whatever the input order', () => {
    const input = ['b/x', 'A/y', 'a/Z', 'B/a', 'a/y', 'a/z', 'c'];
    const expected = ['A/y', 'a/y', 'a/Z', 'a/z', 'B/a', 'b/x', 'c'];
    expect(sortRepositories(input)).toEqual(expected);
    expect(sortRepositories([...input].reverse())).toEqual(expected);
    expect(input[0]).toBe('b/x');
    expect(buildPlan([...input, 'c', 'b/x'], 3).repositories).toEqual(expected);
  });

  test('globs: * and ? stay within a segment; other characters are literal', () => {
    expect(globToRegExp('a*').test('a/b')).toBe(false);
    expect(globToRegExp('*/*').test('Octo/App')).toBe(true);
    expect(globToRegExp('a.b+c').test('a.b+c')).toBe(true);
    expect(globToRegExp('a.b+c').test('axbbc')).toBe(false);
    expect(globToRegExp('re?o').test('repo')).toBe(true);
    expect(globToRegExp('re?o').test('reo')).toBe(false);
  });

  test('globs: any case, * matches a name starting with a dot, other characters are literal', () => {
    expect(globToRegExp('api-*').test('API-gateway')).toBe(true);
    expect(globToRegExp('*').test('.github')).toBe(true);
    // Only * and ? are operators: !, brackets and parentheses stay literal, as they always were.
    expect(globToRegExp('!foo').test('bar')).toBe(false);
    expect(globToRegExp('[ab]').test('a')).toBe(false);
    expect(globToRegExp('(a|b)').test('a')).toBe(false);
    expect(globToRegExp('octo-org/.git*').test('Octo-Org/.github')).toBe(true);
  });
});

describe('the plan action', () => {
  const work = tempDir('backup-action-plan-');
  const files = { GITHUB_OUTPUT: path.join(work, 'output'), GITHUB_STEP_SUMMARY: path.join(work, 'summary') };
  const saved = { ...process.env };

  /** INPUT_* from action.yml's defaults (github.token evaluated) and the given inputs, as the runner sets them. */
  function setInputs(inputs: Record<string, string>) {
    const action = parse(fs.readFileSync('actions/plan/action.yml', 'utf8')) as {
      inputs: Record<string, { default?: string }>;
    };
    for (const [name, input] of Object.entries(action.inputs)) {
      const value = inputs[name] ?? String(input.default ?? '').replace('${{ github.token }}', TOKEN);
      process.env[`INPUT_${name.toUpperCase()}`] = value;
    }
    Object.values(files).forEach((file) => fs.writeFileSync(file, ''));
    Object.assign(process.env, files, { GITHUB_API_URL: api.url });
  }

  function outputs(): Record<string, string> {
    const result: Record<string, string> = {};
    const lines = fs.readFileSync(files.GITHUB_OUTPUT, 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const match = /^([^<]+)<<(.+)$/.exec(lines[i]);
      if (!match) continue;
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== match[2]; i++) value.push(lines[i]);
      result[match[1]] = value.join('\n');
    }
    return result;
  }

  afterEach(() => {
    process.env = { ...saved };
  });

  test('action.yml: node24 from dist/plan.js, the filter inputs default to empty, token to github.token', () => {
    const action = parse(fs.readFileSync('actions/plan/action.yml', 'utf8'));
    expect(action.runs).toEqual({ using: 'node24', main: '../../dist/plan.js' });
    expect(action.inputs.token.default).toBe('${{ github.token }}');
    expect(action.inputs['shard-size'].default).toBe('20');
    for (const name of [
      'repositories',
      'organization',
      'include',
      'exclude',
      'archived',
      'forks',
      'visibility',
    ]) {
      expect(action.inputs[name].default).toBe('');
    }
    expect(Object.keys(action.outputs)).toEqual(['matrix', 'count', 'shards', 'repositories']);
  });

  test('an explicit list with the defaults: outputs, one log line per shard, and the summary', async () => {
    setInputs({ repositories: names(0, 45).join('\n') });
    await planAction();
    const out = outputs();
    expect(JSON.parse(out.matrix)).toEqual(buildPlan(names(0, 45), 20).matrix);
    expect(out).toMatchObject({ count: '45', shards: '3', repositories: names(0, 45).join('\n') });
    const text = printed();
    expect(text).toContain('shard 1: 15 (r00000 … r00014)');
    expect(text).toContain('shard 3: 15 (r00030 … r00044)');
    const summary = fs.readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8');
    expect(summary).toContain('## 🗂️ Plan: 45 repositories in 3 shards');
    expect(summary).toContain('| 2 | 15 | `r00015` | `r00029` |');
  });

  test('an organization', async () => {
    setInputs({ organization: 'mixed-org', include: 'app-*', 'shard-size': '5' });
    await planAction();
    expect(outputs()).toMatchObject({
      count: '2',
      shards: '1',
      repositories: 'mixed-org/app-1\nmixed-org/app-22',
    });
    expect(JSON.parse(outputs().matrix)).toEqual({
      include: [{ shard: 1, count: 2, repositories: 'mixed-org/app-1\nmixed-org/app-22' }],
    });
  });

  test('summary: one shard, one repository, a | in a name', () => {
    expect(planSummary(buildPlan(['a|b'], 20))).toContain('## 🗂️ Plan: 1 repository in 1 shard\n');
    expect(planSummary(buildPlan(['a|b'], 20))).toContain('| 1 | 1 | `a\\|b` | `a\\|b` |');
  });
});
