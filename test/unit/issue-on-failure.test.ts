import Bottleneck from 'bottleneck';
import { inspect } from 'node:util';
import { InputError } from '../../src/util/errors.js';
import { fingerprintMarker, issueFingerprint } from '../../src/github/issue-texts.js';
import { type ApiOptions, type IssueSettings, runIssueOnFailure } from '../../src/github/issues.js';
import { readIssueSettings } from '../../src/settings/open-issue.js';
import { inputErrorOf, reader, failureWithout, captureStdout } from '../support/helpers.js';
import { type GitHubApi, secondaryRateLimit, serverError, startGitHubApi } from '../support/github-api.js';

// The open-issue-on-failure engine against a real HTTP server speaking GitHub's issue REST API.
const TOKEN = 'ghs_issueTestToken0123456789abcdefghijKLMN';
const READ_ONLY_TOKEN = 'ghs_readOnlyToken0123456789abcdefghijKLM';
const NO_ISSUES_TOKEN = 'ghs_noIssuesToken0123456789abcdefghijKLM';
const WORKFLOW = 'Nightly backup';
const TOKENS = [TOKEN, READ_ONLY_TOKEN, NO_ISSUES_TOKEN];

let api: GitHubApi;
let repoCount = 0;

beforeAll(async () => {
  api = await startGitHubApi({
    tokens: { [TOKEN]: 'write', [READ_ONLY_TOKEN]: 'read', [NO_ISSUES_TOKEN]: 'none' },
    users: ['octocat', 'hubot'],
  });
});

afterAll(() => api?.stop());

const printed = captureStdout(TOKENS);

/** Each test has its own repository on the shared server. */
const newRepository = () => `octo-org/repo-${++repoCount}`;

function context(repository: string, extra: Record<string, string> = {}, server = api) {
  return {
    GITHUB_REPOSITORY: repository,
    GITHUB_WORKFLOW: WORKFLOW,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_RUN_ID: '1001',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_API_URL: server.url,
    ...extra,
  };
}

/**
 * Short waits: retries after 5/20/45 ms, and write groups without the throttling plugin's 1 s / 3 s
 * spacing between writes. Secondary rate limits still wait the retry-after GitHub sends.
 */
function fast(options: ApiOptions = {}): ApiOptions {
  const group = () => new Bottleneck.Group({ maxConcurrent: 1, minTime: 0 });
  return {
    retryBaseMs: 5,
    ...options,
    throttle: { write: group(), notifications: group(), ...options.throttle },
  };
}

function settingsFor(
  repository: string,
  inputs: Record<string, string> = {},
  extra: Record<string, string> = {},
  server = api,
): IssueSettings {
  return readIssueSettings(reader({ token: TOKEN, ...inputs }), context(repository, extra, server));
}

function run(
  repository: string,
  inputs: Record<string, string> = {},
  options: { env?: Record<string, string>; api?: ApiOptions; server?: GitHubApi } = {},
) {
  const settings = settingsFor(repository, inputs, options.env, options.server);
  return runIssueOnFailure({ ...settings, api: fast(options.api) });
}

/** The requests made for one repository, as "METHOD path status". */
function calls(repository: string, server = api): string[] {
  return server.requests
    .filter((r) => r.path.startsWith(`/repos/${repository}/`) || r.path.startsWith('/repositories/'))
    .map((r) => `${r.method} ${r.path.replace(`/repos/${repository}`, '')} ${r.status}`);
}

/** The error a run rejects with, checked for every token. */
const failureOf = (promise: Promise<unknown>) => failureWithout(TOKENS, promise);

describe('readIssueSettings', () => {
  test('defaults: failure, "Backup failed: <workflow>", backup-failure label, close on success', () => {
    const settings = settingsFor('octo-org/data');
    expect(settings).toMatchObject({
      token: TOKEN,
      status: 'failure',
      title: `Backup failed: ${WORKFLOW}`,
      body: '',
      labels: ['backup-failure'],
      assignees: [],
      closeOnSuccess: true,
      owner: 'octo-org',
      repo: 'data',
      workflow: WORKFLOW,
      runUrl: 'https://github.com/octo-org/data/actions/runs/1001',
      apiUrl: api.url,
      fingerprint: issueFingerprint('octo-org/data', WORKFLOW),
    });
    expect(settings.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  test('inputs, a re-run attempt, and the fingerprint: per repository and workflow only', () => {
    const settings = settingsFor(
      'octo-org/data',
      {
        status: 'Success',
        title: 'Backups are broken',
        body: 'alpha: timeout\n',
        labels: 'backup-failure, ops\n# comment',
        assignees: '@octocat\nhubot',
        'close-on-success': 'false',
      },
      {
        GITHUB_RUN_ATTEMPT: '3',
        GITHUB_SERVER_URL: 'https://ghe.example.com/',
        GITHUB_API_URL: 'https://x/api/v3/',
      },
    );
    expect(settings).toMatchObject({
      status: 'success',
      title: 'Backups are broken',
      body: 'alpha: timeout',
      labels: ['backup-failure', 'ops'],
      assignees: ['octocat', 'hubot'],
      closeOnSuccess: false,
      runUrl: 'https://ghe.example.com/octo-org/data/actions/runs/1001/attempts/3',
      apiUrl: 'https://x/api/v3',
    });
    expect(settings.fingerprint).toBe(settingsFor('Octo-Org/Data').fingerprint);
    expect(settings.fingerprint).not.toBe(
      settingsFor('octo-org/data', {}, { GITHUB_WORKFLOW: 'Other' }).fingerprint,
    );
    expect(settings.fingerprint).not.toBe(settingsFor('octo-org/other').fingerprint);
  });

  test.each([
    [{ token: '' }, 'token', /is required.*permissions: issues: write/],
    [{ status: 'skipped' }, 'status', /not one of success, failure, cancelled/],
    [{ assignees: 'not a login' }, 'assignees', /not a GitHub login/],
    [{ 'close-on-success': 'yes' }, 'close-on-success', /not a boolean/],
    [{ labels: 'x'.repeat(51) }, 'labels', /50 characters/],
  ])('rejects %j naming the input', (inputs, input, message) => {
    const error = inputErrorOf(() => readIssueSettings(reader({ token: TOKEN, ...inputs }), context('o/r')));
    expect(error.input).toBe(input);
    expect(error.message).toMatch(message);
  });

  test('outside a workflow: says which variable is missing', () => {
    expect(() => readIssueSettings(reader({ token: TOKEN }), { GITHUB_WORKFLOW: WORKFLOW })).toThrow(
      /GITHUB_REPOSITORY is not set/,
    );
    expect(() => readIssueSettings(reader({ token: TOKEN }), { GITHUB_REPOSITORY: 'o/r' })).toThrow(
      /GITHUB_WORKFLOW is not set/,
    );
  });
});

describe('runIssueOnFailure', () => {
  test('a failure opens an issue: title, labels, assignees, fingerprint, run link, failing repositories', async () => {
    const repository = newRepository();
    const result = await run(repository, {
      body: '- octo-org/alpha: fetch failed\n- octo-org/bravo: upload failed',
      labels: 'backup-failure\nops',
      assignees: 'octocat',
    });
    expect(result).toEqual({
      action: 'created',
      issueNumber: 1,
      issueUrl: `https://github.com/${repository}/issues/1`,
    });
    const [issue] = api.issues(repository);
    expect(issue).toMatchObject({ state: 'open', title: `Backup failed: ${WORKFLOW}` });
    expect(issue.labels.map((l) => l.name)).toEqual(['backup-failure', 'ops']);
    expect(issue.assignees.map((a) => a.login)).toEqual(['octocat']);
    expect(issue.body).toContain(fingerprintMarker(issueFingerprint(repository, WORKFLOW)));
    expect(issue.body).toContain(`[run 1001](https://github.com/${repository}/actions/runs/1001)`);
    expect(issue.body).toContain('- octo-org/alpha: fetch failed\n- octo-org/bravo: upload failed');
    expect(calls(repository)).toEqual(['GET /issues 200', 'POST /issues 201']);
    const list = api.requests.find((r) => r.path === `/repos/${repository}/issues`)!;
    expect(new URL(list.url, api.url).searchParams.get('labels')).toBe('backup-failure');
    expect(list.headers.authorization).toBe(`token ${TOKEN}`);
  });

  test('a repeated failure comments on the open issue and never opens a second', async () => {
    const repository = newRepository();
    await run(repository);
    const again = await run(repository, { body: 'alpha: timeout' }, { env: { GITHUB_RUN_ID: '1002' } });
    const third = await run(
      repository,
      { title: 'A different title' },
      { env: { GITHUB_RUN_ID: '1003', GITHUB_RUN_ATTEMPT: '2' } },
    );
    expect(again).toMatchObject({ action: 'commented', issueNumber: 1 });
    expect(third).toMatchObject({ action: 'commented', issueNumber: 1 });
    expect(api.issues(repository)).toHaveLength(1);
    const comments = api.comments(repository, 1).map((c) => c.body);
    expect(comments).toHaveLength(2);
    expect(comments[0]).toContain(
      `failed again in [run 1002](https://github.com/${repository}/actions/runs/1002)`,
    );
    expect(comments[0]).toContain('alpha: timeout');
    expect(comments[1]).toContain(
      `[run 1003, attempt 2](https://github.com/${repository}/actions/runs/1003/attempts/2)`,
    );
  });

  test('success after a failure: comments "Recovered in <run link>" and closes; then nothing to do', async () => {
    const repository = newRepository();
    await run(repository);
    const recovered = await run(repository, { status: 'success' }, { env: { GITHUB_RUN_ID: '1005' } });
    expect(recovered).toEqual({
      action: 'closed',
      issueNumber: 1,
      issueUrl: `https://github.com/${repository}/issues/1`,
    });
    const [issue] = api.issues(repository);
    expect(issue).toMatchObject({ state: 'closed', state_reason: 'completed' });
    expect(api.comments(repository, 1).map((c) => c.body)).toEqual([
      expect.stringContaining(`Recovered in [run 1005](https://github.com/${repository}/actions/runs/1005)`),
    ]);
    expect(calls(repository).slice(2)).toEqual([
      'GET /issues 200',
      'POST /issues/1/comments 201',
      'PATCH /issues/1 200',
    ]);

    const before = calls(repository).length;
    expect(await run(repository, { status: 'success' })).toEqual({ action: 'none' });
    expect(calls(repository).slice(before)).toEqual(['GET /issues 200']);
  });

  test('close-on-success false leaves the issue open; cancelled does nothing at all', async () => {
    const repository = newRepository();
    await run(repository);
    expect(await run(repository, { status: 'success', 'close-on-success': 'false' })).toEqual({
      action: 'none',
    });
    expect(await run(repository, { status: 'cancelled' })).toEqual({ action: 'none' });
    expect(api.issues(repository)[0].state).toBe('open');
    expect(calls(repository)).toEqual(['GET /issues 200', 'POST /issues 201']);
  });

  test('an issue closed by hand: the next failure opens a new one', async () => {
    const repository = newRepository();
    await run(repository);
    api.closeIssue(repository, 1);
    expect(await run(repository)).toMatchObject({ action: 'created', issueNumber: 2 });
    expect(await run(repository)).toMatchObject({ action: 'commented', issueNumber: 2 });
    expect(api.comments(repository, 1)).toEqual([]);
  });

  test('found by fingerprint, not title: a same-title issue without it is ignored, a renamed one is found', async () => {
    const repository = newRepository();
    const marker = fingerprintMarker(issueFingerprint(repository, WORKFLOW));
    api.addIssue(repository, {
      title: `Backup failed: ${WORKFLOW}`,
      body: 'Opened by hand, same title and label.',
      labels: ['backup-failure'],
    });
    api.addIssue(repository, {
      title: 'A pull request',
      body: marker,
      labels: ['backup-failure'],
      pullRequest: true,
    });
    api.addIssue(repository, {
      title: 'Other workflow',
      body: fingerprintMarker(issueFingerprint(repository, 'Weekly backup')),
      labels: ['backup-failure'],
    });
    expect(await run(repository)).toMatchObject({ action: 'created', issueNumber: 4 });
    expect(api.comments(repository, 1)).toEqual([]);

    api.issues(repository)[3].title = 'Renamed by someone';
    expect(await run(repository)).toMatchObject({ action: 'commented', issueNumber: 4 });
    expect(api.issues(repository).filter((i) => i.state === 'open')).toHaveLength(4);
  });

  test('several open issues for the workflow: comments on the oldest and names the others; success closes all', async () => {
    const repository = newRepository();
    const body = `${fingerprintMarker(issueFingerprint(repository, WORKFLOW))}\nold`;
    api.addIssue(repository, {
      title: 'newer',
      body,
      labels: ['backup-failure'],
      createdAt: '2024-03-02T00:00:00Z',
    });
    api.addIssue(repository, {
      title: 'oldest',
      body,
      labels: ['backup-failure'],
      createdAt: '2024-03-01T00:00:00Z',
    });

    expect(await run(repository)).toMatchObject({ action: 'commented', issueNumber: 2 });
    expect(api.comments(repository, 1)).toEqual([]);
    expect(api.comments(repository, 2)[0].body).toMatch(
      /#1 is also open for this workflow.*oldest.*close the others/,
    );
    expect(printed()).toMatch(/::warning::2 open issues .* #2, #1\. Using the oldest, #2/);

    expect(await run(repository, { status: 'success' })).toMatchObject({ action: 'closed', issueNumber: 2 });
    expect(api.issues(repository).map((i) => i.state)).toEqual(['closed', 'closed']);
  });

  test('follows GitHub pagination (Link to /repositories/{id}/issues) to the issue on page 3', async () => {
    const paged = await startGitHubApi({ tokens: { [TOKEN]: 'write' }, maxPerPage: 2 });
    try {
      const repository = 'octo-org/busy';
      for (let i = 0; i < 5; i++) {
        paged.addIssue(repository, { title: `other ${i}`, body: 'not ours', labels: ['backup-failure'] });
      }
      paged.addIssue(repository, {
        title: 'ours',
        body: fingerprintMarker(issueFingerprint(repository, WORKFLOW)),
        labels: ['backup-failure'],
      });
      expect(await run(repository, {}, { server: paged })).toMatchObject({
        action: 'commented',
        issueNumber: 6,
      });
      const lists = paged.requests.filter((r) => r.method === 'GET').map((r) => r.url);
      expect(lists).toHaveLength(3);
      expect(lists[1]).toMatch(/^\/repositories\/\d+\/issues\?.*page=2/);
      expect(lists[2]).toMatch(/page=3/);
    } finally {
      await paged.stop();
    }
  });

  test('an API 500 is retried with backoff', async () => {
    const repository = newRepository();
    api.force(serverError(500));
    expect(await run(repository)).toMatchObject({ action: 'created', issueNumber: 1 });
    expect(calls(repository)).toEqual(['GET /issues 500', 'GET /issues 200', 'POST /issues 201']);
  });

  test('a 502 when creating: looks for the issue before trying again, so never two', async () => {
    const repository = newRepository();
    // The issue was created although the answer was 502: found, not created twice.
    api.force(serverError(502, { match: { method: 'POST' }, afterEffect: true }));
    expect(await run(repository)).toMatchObject({ action: 'created', issueNumber: 1 });
    expect(calls(repository)).toEqual(['GET /issues 200', 'POST /issues 502', 'GET /issues 200']);
    expect(api.issues(repository)).toHaveLength(1);

    // Not created: created on the next attempt.
    const other = newRepository();
    api.force(serverError(502, { match: { method: 'POST' } }));
    expect(await run(other)).toMatchObject({ action: 'created', issueNumber: 1 });
    expect(calls(other)).toEqual([
      'GET /issues 200',
      'POST /issues 502',
      'GET /issues 200',
      'POST /issues 201',
    ]);
    expect(api.issues(other)).toHaveLength(1);
  });

  test('5xx that never ends: bounded retries, then a clear error', async () => {
    const repository = newRepository();
    api.force(...Array.from({ length: 4 }, () => serverError(503)));
    const error = await failureOf(run(repository, {}, { api: { retries: 3 } }));
    expect(error.message).toMatch(
      new RegExp(
        `failed to list the open issues in ${repository}: 503 ".*We had issues producing the response.*", also after 3 retries`,
      ),
    );
    expect(error.message).not.toMatch(/<html|<p>/);
    expect(calls(repository)).toEqual(Array(4).fill('GET /issues 503'));
    expect(api.pendingFaults()).toBe(0);
  });

  test('a secondary rate limit is retried after the retry-after delay', async () => {
    const repository = newRepository();
    api.force(secondaryRateLimit({ retryAfter: 1, match: { method: 'POST' } }));
    expect(await run(repository)).toMatchObject({ action: 'created', issueNumber: 1 });
    const posts = api.requests.filter((r) => r.method === 'POST' && r.path === `/repos/${repository}/issues`);
    expect(posts.map((r) => r.status)).toEqual([403, 201]);
    expect(posts[1].at - posts[0].at).toBeGreaterThanOrEqual(950);
    expect(printed()).toMatch(/::warning::GitHub's secondary rate limit answered POST .*trying again in 1 s/);
  });

  test('a rate limit that asks for too long a wait fails at once (403 or 429), not retried by both plugins', async () => {
    for (const status of [403, 429] as const) {
      const repository = newRepository();
      api.force(secondaryRateLimit({ retryAfter: 3600, status }));
      const started = Date.now();
      const error = await failureOf(run(repository));
      expect(Date.now() - started).toBeLessThan(2000);
      expect(error).not.toBeInstanceOf(InputError);
      expect(error.message).toMatch(
        new RegExp(
          `secondary rate limit stopped the attempt to list the open issues in ${repository} \\(${status}`,
        ),
      );
      expect(calls(repository)).toEqual([`GET /issues ${status}`]);
    }
  });

  test('a token without issues: write: a clear error naming the permission and the input, not retried', async () => {
    const repository = newRepository();
    const error = await failureOf(
      runIssueOnFailure({
        ...readIssueSettings(reader({ token: READ_ONLY_TOKEN }), context(repository)),
        api: fast(),
      }),
    );
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).input).toBe('token');
    expect(error.message).toMatch(/^Input "token": may not create an issue in octo-org\/repo-\d+/);
    expect(error.message).toContain('403 "Resource not accessible by integration"');
    expect(error.message).toContain('`permissions: issues: write`');
    expect(error.message).toContain('GitHub asks for: issues=write');
    expect(calls(repository)).toEqual(['GET /issues 200', 'POST /issues 403']);

    // No issues permission at all: fails when listing, same advice.
    const none = await failureOf(
      runIssueOnFailure({
        ...readIssueSettings(reader({ token: NO_ISSUES_TOKEN, status: 'success' }), context(repository)),
        api: fast(),
      }),
    );
    expect(none.message).toMatch(
      /^Input "token": may not list the open issues .* `permissions: issues: write`/,
    );
  });

  test('a token GitHub does not know: 401 names the input; the token appears in no error or log', async () => {
    const repository = newRepository();
    const wrong = 'ghp_wrongToken0123456789abcdefghijklmnopq';
    const settings = readIssueSettings(reader({ token: wrong }), context(repository));
    const error = await failureOf(runIssueOnFailure({ ...settings, api: fast() }));
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toMatch(/^Input "token": GitHub refused it \(401 "Bad credentials"\)/);
    for (const text of [error.message, inspect(error, { depth: 8 }), printed()]) {
      expect(text).not.toContain(wrong);
    }
  });

  test('an assignee GitHub refuses: the issue is still opened, without assignees, with a warning', async () => {
    const repository = newRepository();
    expect(await run(repository, { assignees: 'octocat\nnobody-here' })).toMatchObject({ action: 'created' });
    expect(api.issues(repository)[0].assignees).toEqual([]);
    expect(calls(repository)).toEqual(['GET /issues 200', 'POST /issues 422', 'POST /issues 201']);
    expect(printed()).toMatch(/::warning::assignees: GitHub refused octocat, nobody-here/);
  });
});
