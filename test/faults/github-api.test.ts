import Bottleneck from 'bottleneck';
import { type ApiOptions, runIssueOnFailure } from '../../src/github/issues.js';
import { readIssueSettings } from '../../src/settings/open-issue.js';
import { reader, captureStdout } from '../support/helpers.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { type GitHubApi, startGitHubApi } from '../support/github-api.js';

// The issue lifecycle of open-issue-on-failure against the local GitHub API behind the fault proxy
// (test/support/fault-proxy.ts): 500 and 503 answers, connections reset while the request is sent,
// answers cut off halfway after the server acted (a created issue whose answer never arrives), and
// latency. Transient faults must never leave two open issues or a missed close; persistent ones fail
// in bounded time.
const TOKEN = 'ghs_faultTestToken0123456789abcdefghijKLMN';
let api: GitHubApi;
let proxy: FaultProxy;
let repoCount = 0;

beforeAll(async () => {
  api = await startGitHubApi({ tokens: { [TOKEN]: 'write' } });
  proxy = await startFaultProxy({ target: api.url });
});

afterAll(async () => {
  console.log(
    `GitHub API fault injection: ${proxy?.injectedTotal()} faults over ${proxy?.stats.requests} requests`,
  );
  await proxy?.stop();
  await api?.stop();
});

captureStdout([TOKEN]);

afterEach(() => {
  proxy.configure({ rate: 0, latencyMs: 0, kinds: ['503', '500', 'reset', 'cut'], match: () => true });
});

/** Short retry waits, and no spacing between writes, as in unit/issue-on-failure.test.ts. */
function fast(): ApiOptions {
  const group = () => new Bottleneck.Group({ maxConcurrent: 1, minTime: 0 });
  return { retryBaseMs: 5, retries: 4, throttle: { write: group(), notifications: group() } };
}

function run(repository: string, status: 'failure' | 'success') {
  const settings = readIssueSettings(reader({ token: TOKEN, status }), {
    GITHUB_REPOSITORY: repository,
    GITHUB_WORKFLOW: 'Nightly backup',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_RUN_ID: '7',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_API_URL: proxy.endpoint,
  });
  return runIssueOnFailure({ ...settings, api: fast() });
}

test.each([1, 2, 3, 4, 5])(
  'seed %i, 20%% faults: fail, fail again, recover, three times — one issue each time, commented, then closed',
  async (seed) => {
    const repository = `octo-org/faulty-${++repoCount}`;
    proxy.configure({ rate: 0.2, seed, latencyMs: 1 });
    const before = proxy.injectedTotal();
    for (let round = 1; round <= 3; round++) {
      const outcomes: string[] = [];
      for (const status of ['failure', 'failure', 'success', 'success'] as const) {
        outcomes.push((await run(repository, status)).action);
      }
      expect(outcomes).toEqual(['created', 'commented', 'closed', 'none']);
      const issues = api.issues(repository);
      expect(issues).toHaveLength(round);
      expect(issues.every((issue) => issue.state === 'closed')).toBe(true);
    }
    expect(proxy.injectedTotal() - before).toBeGreaterThan(0);
  },
);

test('a created issue whose answer is cut off is found again, not created twice', async () => {
  const repository = `octo-org/faulty-${++repoCount}`;
  proxy.configure({ rate: 1, kinds: ['cut'], match: (method) => method === 'POST' });
  // Every POST is applied by the server, and its answer lost: the run must not make a second issue.
  await run(repository, 'failure').catch(() => undefined);
  proxy.configure({ rate: 0 });
  await run(repository, 'failure');
  expect(api.issues(repository).filter((issue) => issue.state === 'open')).toHaveLength(1);
});

test.each([
  ['503', /503|GitHub API failed/],
  ['reset', /reset|socket|ECONNRESET|terminated|fetch failed|other side closed/i],
] as const)('persistent %s: fails with a clear error in bounded time', async (kind, message) => {
  const repository = `octo-org/faulty-${++repoCount}`;
  proxy.configure({ rate: 1, kinds: [kind] });
  const started = Date.now();
  const error = await run(repository, 'failure').then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(error?.message).toMatch(message);
  expect(error?.message).not.toContain(TOKEN);
  expect(Date.now() - started).toBeLessThan(20_000);
  expect(api.issues(repository)).toHaveLength(0);
});
