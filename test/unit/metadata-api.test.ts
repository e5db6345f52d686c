import Bottleneck from 'bottleneck';
import { createHash } from 'node:crypto';
import { getOctokit } from '@actions/github';
import { createClient } from '../../src/github/client.js';
import { captureStdout } from '../support/helpers.js';
import {
  type FakeRepo,
  type MetadataApi,
  rateLimitExceeded,
  secondaryRateLimit,
  startMetadataApi,
} from '../support/metadata-api.js';

// The GitHub metadata fake (test/support/metadata-api.ts) through Octokit, as the backup and restore
// of issues, pull requests, labels, milestones and releases will use it.

const WRITE = 'ghs_metaWriteToken0123456789abcdefghijKLMN';
const READ = 'ghs_metaReadToken0123456789abcdefghijKLMNO';
const NONE = 'ghs_metaNoneToken0123456789abcdefghijKLMNO';
const PULLS = 'ghs_metaPullsToken0123456789abcdefghijKLMN';
const TOKENS = [WRITE, READ, NONE, PULLS];

let api: MetadataApi;
let count = 0;

beforeAll(async () => {
  api = await startMetadataApi({
    tokens: {
      [WRITE]: { issues: 'write', pull_requests: 'write', contents: 'write' },
      [READ]: { issues: 'read', pull_requests: 'read', contents: 'read' },
      [NONE]: {},
      [PULLS]: { pull_requests: 'write' },
    },
  });
});

afterAll(() => api?.stop());

const printed = captureStdout(TOKENS);

/** A repository of its own for each test. */
function newRepo(): { repo: FakeRepo; owner: string; name: string } {
  const name = `meta-${++count}`;
  return { repo: api.repo(`octo-org/${name}`), owner: 'octo-org', name };
}

const octokit = (token = WRITE) => getOctokit(token, { baseUrl: api.url });

interface Failure {
  status: number;
  message: string;
  response: {
    headers: Record<string, string>;
    data: { message?: string; errors?: unknown[]; status?: string };
  };
}

async function failure(promise: Promise<unknown>): Promise<Failure> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error as Failure,
  );
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const HOUR = 3600_000;

test('the repository, and what a missing, unknown or absent token gets', async () => {
  const { owner, name } = newRepo();
  const { data, headers } = await octokit(NONE).rest.repos.get({ owner, repo: name });
  expect(data).toMatchObject({
    full_name: `${owner}/${name}`,
    private: true,
    has_issues: true,
    has_wiki: true,
    default_branch: 'main',
  });
  expect(headers.date).toBe(new Date(api.now).toUTCString());

  expect((await failure(octokit().rest.repos.get({ owner, repo: 'never-seeded' }))).status).toBe(404);
  const bad = await failure(octokit('ghp_unknown').rest.repos.get({ owner, repo: name }));
  expect([bad.status, bad.response.data.message]).toEqual([401, 'Bad credentials']);

  // Every repository is private: anonymous reads are 404, anonymous writes 401.
  const anonymous = await fetch(`${api.url}/repos/${owner}/${name}/issues`);
  expect(anonymous.status).toBe(404);
  const write = await fetch(`${api.url}/repos/${owner}/${name}/labels`, {
    method: 'POST',
    body: JSON.stringify({ name: 'bug' }),
  });
  expect(write.status).toBe(401);
  expect(await write.json()).toMatchObject({ message: 'Requires authentication' });
});

test('issues and pull requests share one number sequence; paginate follows the Link pages', async () => {
  const { repo, owner, name } = newRepo();
  for (let i = 1; i <= 65; i++) {
    if (i % 3 === 0) repo.addPull({ title: `pull ${i}`, state: i % 2 ? 'closed' : 'open' });
    else repo.addIssue({ title: `issue ${i}`, state: i % 2 ? 'closed' : 'open' });
    api.advance(1000);
  }
  const all = await octokit(READ).paginate(octokit(READ).rest.issues.listForRepo, {
    owner,
    repo: name,
    state: 'all',
    per_page: 30,
  });
  expect(all.map((i) => i.number)).toEqual(Array.from({ length: 65 }, (_, i) => 65 - i)); // created, desc
  expect(all.filter((i) => i.pull_request).map((i) => i.number)).toEqual(
    repo.pulls.map((p) => p.number).reverse(),
  );
  expect(all.find((i) => i.number === 3)).toMatchObject({
    title: 'pull 3',
    html_url: `https://github.com/${owner}/${name}/pull/3`,
    pull_request: { url: `${api.url}/repos/${owner}/${name}/pulls/3`, merged_at: null },
  });

  const first = await octokit(READ).rest.issues.listForRepo({
    owner,
    repo: name,
    state: 'all',
    per_page: 30,
  });
  const pages = `${api.url}/repositories/${repo.id}/issues?state=all&per_page=30&page=`;
  expect(first.headers.link).toBe(`<${pages}2>; rel="next", <${pages}3>; rel="last"`);
  const last = await octokit(READ).request(`GET ${pages}3`);
  expect(last.data).toHaveLength(5);
  expect(last.headers.link).toBe(`<${pages}2>; rel="prev", <${pages}1>; rel="first"`);

  // Default: open ones only; per_page is at most 100.
  const open = await octokit(READ).rest.issues.listForRepo({ owner, repo: name, per_page: 500 });
  expect(open.data.map((i) => i.state)).toEqual(Array(32).fill('open'));
  expect(open.headers.link).toBeUndefined();
});

test('since keeps what was updated at or after it; comments bump their issue', async () => {
  const { repo, owner, name } = newRepo();
  const t0 = api.now;
  repo.addIssue({ title: 'one' });
  api.advance(HOUR);
  repo.addIssue({ title: 'two' });
  api.advance(HOUR);
  repo.addIssue({ title: 'three' });
  api.advance(HOUR);
  const t3 = api.now;
  const comment = repo.addComment(1, { body: 'first', user: 'hubot' });
  api.advance(HOUR);
  repo.editIssue(2, { title: 'two, edited' });
  api.advance(HOUR);
  repo.editComment(comment.id, 'first, edited');
  const t5 = api.now;

  expect(repo.issues.map((i) => i.updated_at)).toEqual([iso(t5), iso(t3 + HOUR), iso(t0 + 2 * HOUR)]);
  expect(repo.issues[0]).toMatchObject({ created_at: iso(t0), comments: 1 });

  const list = (query: Record<string, string>) =>
    octokit(READ).request('GET /repos/{owner}/{repo}/issues', { owner, repo: name, state: 'all', ...query });
  const since = await list({ since: iso(t3), sort: 'updated', direction: 'asc' });
  expect(since.data.map((i: { title: string }) => i.title)).toEqual(['two, edited', 'one']);
  expect((await list({ since: iso(t5) })).data.map((i: { number: number }) => i.number)).toEqual([1]);
  expect((await list({ since: iso(t5 + 1000) })).data).toEqual([]);
  const invalid = await failure(list({ since: 'yesterday' }));
  expect([invalid.status, invalid.response.data.message]).toEqual([422, 'Validation Failed']);

  const comments = await octokit(READ).rest.issues.listCommentsForRepo({ owner, repo: name, since: iso(t3) });
  expect(comments.data).toEqual([
    expect.objectContaining({
      id: comment.id,
      body: 'first, edited',
      issue_url: `${api.url}/repos/${owner}/${name}/issues/1`,
      user: expect.objectContaining({ login: 'hubot', type: 'User' }),
      created_at: iso(t3),
      updated_at: iso(t5),
    }),
  ]);
  expect(
    (await octokit(READ).rest.issues.listCommentsForRepo({ owner, repo: name, since: iso(t5 + 1000) })).data,
  ).toEqual([]);
  const onOne = await octokit(READ).rest.issues.listComments({ owner, repo: name, issue_number: 1 });
  expect(onOne.data.map((c) => c.body)).toEqual(['first, edited']);
  expect((await octokit(READ).rest.issues.listComments({ owner, repo: name, issue_number: 2 })).data).toEqual(
    [],
  );
});

test('If-None-Match with the ETag answers 304, which does not count against the rate limit', async () => {
  const { repo, owner, name } = newRepo();
  repo.addIssue({ title: 'cached' });
  const first = await octokit(READ).rest.issues.listForRepo({ owner, repo: name });
  const etag = first.headers.etag!;
  expect(etag).toMatch(/^"[0-9a-f]{64}"$/);
  const used = api.rateLimitUsed();
  expect(Number(first.headers['x-ratelimit-used']) + Number(first.headers['x-ratelimit-remaining'])).toBe(
    5000,
  );
  expect(first.headers['x-ratelimit-resource']).toBe('core');
  expect(Number(first.headers['x-ratelimit-reset'])).toBeGreaterThan(api.now / 1000);

  const again = await failure(
    octokit(READ).rest.issues.listForRepo({ owner, repo: name, headers: { 'if-none-match': etag } }),
  );
  expect(again.status).toBe(304);
  expect(again.response.headers.etag).toBe(etag);
  expect(again.response.headers['x-ratelimit-used']).toBe(first.headers['x-ratelimit-used']);
  expect(api.rateLimitUsed()).toBe(used);
  expect(api.requests.at(-1)).toMatchObject({ method: 'GET', status: 304 });

  api.advance(1000);
  repo.editIssue(1, { body: 'changed' });
  const changed = await octokit(READ).rest.issues.listForRepo({
    owner,
    repo: name,
    headers: { 'if-none-match': etag },
  });
  expect(changed.status).toBe(200);
  expect(changed.headers.etag).not.toBe(etag);
  expect(api.rateLimitUsed()).toBe(used + 1);

  // Last-Modified / If-Modified-Since on single objects.
  const one = await octokit(READ).rest.issues.get({ owner, repo: name, issue_number: 1 });
  expect(one.headers['last-modified']).toBe(new Date(api.now).toUTCString());
  const unchanged = await failure(
    octokit(READ).rest.issues.get({
      owner,
      repo: name,
      issue_number: 1,
      headers: { 'if-modified-since': one.headers['last-modified']! },
    }),
  );
  expect(unchanged.status).toBe(304);
});

test('pull requests, their reviews and review comments', async () => {
  const { repo, owner, name } = newRepo();
  repo.addLabel({ name: 'ready', color: '00ff00' });
  const merged = repo.addPull({ title: 'merged one', head: 'topic', merged: true, labels: ['ready'] });
  api.advance(HOUR);
  const open = repo.addPull({ title: 'open one', body: 'please', user: 'hubot', draft: true });
  api.advance(HOUR);
  const review = repo.addReview(merged.number, { state: 'APPROVED', body: 'ship it', user: 'hubot' });
  api.advance(HOUR);
  const note = repo.addReviewComment(open.number, {
    body: 'typo',
    path: 'README.md',
    line: 3,
    review: review.id,
  });
  repo.addComment(open.number, { body: 'conversation' });
  const o = octokit(READ);

  const list = await o.rest.pulls.list({ owner, repo: name, state: 'all', sort: 'updated' });
  expect(list.data.map((p) => p.number)).toEqual([1, 2]); // sort=updated: ascending by default
  expect(list.data[0]).toMatchObject({
    state: 'closed',
    merged_at: iso(api.now - 3 * HOUR),
    head: { ref: 'topic', label: `${owner}:topic` },
    base: { ref: 'main', repo: { full_name: `${owner}/${name}` } },
    labels: [expect.objectContaining({ name: 'ready', color: '00ff00' })],
  });
  expect(list.data[0]).not.toHaveProperty('merged');
  expect((await o.rest.pulls.list({ owner, repo: name })).data.map((p) => p.number)).toEqual([2]);

  const one = await o.rest.pulls.get({ owner, repo: name, pull_number: 2 });
  expect(one.data).toMatchObject({
    draft: true,
    merged: false,
    user: { login: 'hubot' },
    body: 'please',
    comments: 1,
    review_comments: 1,
    updated_at: iso(api.now),
  });
  const asIssue = await o.rest.issues.get({ owner, repo: name, issue_number: 1 });
  expect(asIssue.data.pull_request).toMatchObject({ merged_at: list.data[0].merged_at });

  const reviews = await o.rest.pulls.listReviews({ owner, repo: name, pull_number: 1 });
  expect(reviews.data).toEqual([
    expect.objectContaining({
      id: review.id,
      state: 'APPROVED',
      body: 'ship it',
      pull_request_url: merged.url,
      submitted_at: iso(api.now - HOUR),
    }),
  ]);
  const all = await o.request('GET /repos/{owner}/{repo}/pulls/comments', {
    owner,
    repo: name,
    since: iso(api.now),
  });
  expect(all.data).toEqual([
    expect.objectContaining({
      id: note.id,
      path: 'README.md',
      line: 3,
      pull_request_review_id: review.id,
      pull_request_url: `${api.url}/repos/${owner}/${name}/pulls/2`,
    }),
  ]);
  expect((await o.rest.pulls.listReviewComments({ owner, repo: name, pull_number: 1 })).data).toEqual([]);
  expect((await failure(o.rest.pulls.get({ owner, repo: name, pull_number: 9 }))).status).toBe(404);
});

test('labels, milestones (with their counts) and releases (drafts only for contents: write)', async () => {
  const { repo, owner, name } = newRepo();
  repo.addLabel({ name: 'bug', color: 'd73a4a', description: 'Something is wrong' });
  const m1 = repo.addMilestone({ title: 'v1', due_on: '2030-01-01T00:00:00Z' });
  const m2 = repo.addMilestone({ title: 'v0', state: 'closed' });
  repo.addIssue({ title: 'a', milestone: m1.number, labels: ['bug', 'new-one'] });
  repo.addIssue({ title: 'b', milestone: m1.number, state: 'closed', state_reason: 'not_planned' });
  repo.addRelease({ tag_name: 'v1.0.0', name: 'One' }, [{ name: 'a.txt', bytes: Buffer.from('a') }]);
  api.advance(1000);
  repo.addRelease({ tag_name: 'v2.0.0', draft: true });
  const o = octokit(READ);

  const labels = await o.rest.issues.listLabelsForRepo({ owner, repo: name });
  expect(labels.data.map((l) => [l.name, l.color, l.description])).toEqual([
    ['bug', 'd73a4a', 'Something is wrong'],
    ['new-one', 'ededed', null],
  ]);
  const milestones = await o.rest.issues.listMilestones({ owner, repo: name, state: 'all' });
  expect(milestones.data.map((m) => [m.number, m.title, m.state, m.open_issues, m.closed_issues])).toEqual([
    [m1.number, 'v1', 'open', 1, 1],
    [m2.number, 'v0', 'closed', 0, 0],
  ]);
  expect((await o.rest.issues.listMilestones({ owner, repo: name })).data.map((m) => m.title)).toEqual([
    'v1',
  ]);
  const issue = await o.rest.issues.get({ owner, repo: name, issue_number: 2 });
  expect(issue.data).toMatchObject({
    state: 'closed',
    state_reason: 'not_planned',
    milestone: { title: 'v1' },
  });

  const published = await o.rest.repos.listReleases({ owner, repo: name });
  expect(published.data.map((r) => r.tag_name)).toEqual(['v1.0.0']);
  expect(published.data[0]).toMatchObject({
    draft: false,
    upload_url: `${api.url}/uploads/repos/${owner}/${name}/releases/${published.data[0].id}/assets{?name,label}`,
    assets: [
      expect.objectContaining({
        name: 'a.txt',
        size: 1,
        state: 'uploaded',
        content_type: 'application/octet-stream',
        digest: `sha256:${createHash('sha256').update('a').digest('hex')}`,
      }),
    ],
  });
  expect(published.data[0].assets[0]).not.toHaveProperty('bytes');
  const everything = await octokit(WRITE).rest.repos.listReleases({ owner, repo: name });
  expect(everything.data.map((r) => [r.tag_name, r.draft, r.published_at])).toEqual([
    ['v2.0.0', true, null],
    ['v1.0.0', false, iso(api.now - 1000)],
  ]);
  // A draft has no tag to be found by.
  expect((await o.rest.repos.getReleaseByTag({ owner, repo: name, tag: 'v1.0.0' })).data.name).toBe('One');
  expect(
    (await failure(octokit(WRITE).rest.repos.getReleaseByTag({ owner, repo: name, tag: 'v2.0.0' }))).status,
  ).toBe(404);
});

test('an asset downloads through a redirect to a signed URL that needs no token', async () => {
  const { repo, owner, name } = newRepo();
  const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) % 256));
  const release = repo.addRelease({ tag_name: 'v1' }, [
    { name: 'backup.tar.gz', bytes, content_type: 'application/gzip' },
  ]);
  const asset = release.assets[0];
  const used = api.rateLimitUsed();

  const download = await octokit(READ).rest.repos.getReleaseAsset({
    owner,
    repo: name,
    asset_id: asset.id,
    headers: { accept: 'application/octet-stream' },
  });
  expect(Buffer.from(download.data as unknown as ArrayBuffer).equals(bytes)).toBe(true);
  expect(download.url).toMatch(new RegExp(`^${api.url}/downloads/[\\w-]+$`));
  expect(download.headers['content-length']).toBe(String(bytes.length));
  const [redirect, served] = api.requests.slice(-2);
  expect(redirect).toMatchObject({ method: 'GET', status: 302 });
  expect(served).toMatchObject({ method: 'GET', status: 200, url: new URL(download.url).pathname });
  expect(api.rateLimitUsed()).toBe(used + 1); // the download host is not the API

  // The signed URL works without a token, for about five minutes.
  const plain = await fetch(download.url);
  expect(Buffer.from(await plain.arrayBuffer()).equals(bytes)).toBe(true);
  expect(asset.download_count).toBe(2);
  api.advance(6 * 60_000);
  expect((await fetch(download.url)).status).toBe(403);

  const json = await octokit(READ).rest.repos.getReleaseAsset({ owner, repo: name, asset_id: asset.id });
  expect(json.data).toMatchObject({
    id: asset.id,
    name: 'backup.tar.gz',
    size: bytes.length,
    download_count: 2,
  });
  expect(json.data).not.toHaveProperty('bytes');
  expect(
    (await failure(octokit(READ).rest.repos.getReleaseAsset({ owner, repo: name, asset_id: 1 }))).status,
  ).toBe(404);
});

test('a token without the permission gets 403 naming the one GitHub wants', async () => {
  const { repo, owner, name } = newRepo();
  repo.addIssue({ title: 'x' });
  const denied = async (promise: Promise<unknown>) => {
    const error = await failure(promise);
    expect(error.status).toBe(403);
    expect(error.response.data).toMatchObject({
      message: 'Resource not accessible by integration',
      documentation_url: expect.stringMatching(/^https:\/\/docs\.github\.com\/rest\//),
      status: '403',
    });
    return error.response.headers['x-accepted-github-permissions'];
  };

  expect(await denied(octokit(NONE).rest.issues.listForRepo({ owner, repo: name }))).toBe('issues=read');
  expect(await denied(octokit(NONE).rest.pulls.list({ owner, repo: name }))).toBe('pull_requests=read');
  expect(await denied(octokit(NONE).rest.repos.listReleases({ owner, repo: name }))).toBe('contents=read');
  expect(await denied(octokit(READ).rest.issues.createLabel({ owner, repo: name, name: 'l' }))).toBe(
    'issues=write; pull_requests=write',
  );
  expect(await denied(octokit(READ).rest.repos.createRelease({ owner, repo: name, tag_name: 'v1' }))).toBe(
    'contents=write',
  );
  expect(await denied(octokit(PULLS).rest.issues.create({ owner, repo: name, title: 't' }))).toBe(
    'issues=write',
  );
  // Labels, milestones and comments take either permission.
  await octokit(PULLS).rest.issues.createLabel({ owner, repo: name, name: 'by-pulls' });
  await octokit(PULLS).rest.issues.createComment({ owner, repo: name, issue_number: 1, body: 'hi' });
  // Metadata is always readable.
  await octokit(NONE).rest.repos.get({ owner, repo: name });
});

test('issues disabled: 410 on the issue endpoints, pull requests still reachable', async () => {
  const { repo, owner, name } = newRepo();
  repo.addIssue({ title: 'old issue' });
  repo.addPull({ title: 'a pull' });
  repo.setHasIssues(false);
  const o = octokit(WRITE);
  const gone = async (promise: Promise<unknown>) => {
    const error = await failure(promise);
    expect([error.status, error.response.data.message]).toEqual([410, 'Issues are disabled for this repo']);
  };
  expect((await o.rest.repos.get({ owner, repo: name })).data.has_issues).toBe(false);
  await gone(o.rest.issues.listForRepo({ owner, repo: name }));
  await gone(o.rest.issues.get({ owner, repo: name, issue_number: 1 }));
  await gone(o.rest.issues.listComments({ owner, repo: name, issue_number: 1 }));
  await gone(o.rest.issues.listCommentsForRepo({ owner, repo: name }));
  await gone(o.rest.issues.create({ owner, repo: name, title: 'new' }));
  expect((await o.rest.issues.get({ owner, repo: name, issue_number: 2 })).data.title).toBe('a pull');
  await o.rest.issues.createComment({ owner, repo: name, issue_number: 2, body: 'still works' });
  expect((await o.rest.pulls.list({ owner, repo: name })).data).toHaveLength(1);
  expect((await o.rest.issues.listLabelsForRepo({ owner, repo: name })).status).toBe(200);
});

test('writes: labels, milestones, issues and comments, and their 422s', async () => {
  const { repo, owner, name } = newRepo();
  const o = octokit(WRITE);
  const invalid = async (promise: Promise<unknown>) => {
    const error = await failure(promise);
    expect(error.status).toBe(422);
    return error.response.data;
  };

  const bug = await o.rest.issues.createLabel({ owner, repo: name, name: 'bug', color: 'D73A4A' });
  expect(bug.status).toBe(201);
  expect(bug.data).toMatchObject({ name: 'bug', color: 'd73a4a', default: false, description: null });
  expect(await invalid(o.rest.issues.createLabel({ owner, repo: name, name: 'BUG' }))).toMatchObject({
    message: 'Validation Failed',
    errors: [{ resource: 'Label', code: 'already_exists', field: 'name' }],
  });
  expect(
    (await invalid(o.rest.issues.createLabel({ owner, repo: name, name: 'x', color: 'red' }))).errors,
  ).toEqual([{ resource: 'Label', code: 'invalid', field: 'color' }]);
  const renamed = await o.rest.issues.updateLabel({ owner, repo: name, name: 'bug', new_name: 'kind: bug' });
  expect(renamed.data).toMatchObject({
    name: 'kind: bug',
    url: `${api.url}/repos/${owner}/${name}/labels/kind%3A%20bug`,
  });
  await o.rest.issues.updateLabel({ owner, repo: name, name: 'kind: bug', description: 'broken' });
  expect(
    (await failure(o.rest.issues.updateLabel({ owner, repo: name, name: 'bug', color: '000000' }))).status,
  ).toBe(404);

  const milestone = await o.rest.issues.createMilestone({
    owner,
    repo: name,
    title: 'v1',
    due_on: '2030-05-01',
  });
  expect(milestone.data).toMatchObject({ number: 1, state: 'open', due_on: '2030-05-01T00:00:00Z' });
  expect((await invalid(o.rest.issues.createMilestone({ owner, repo: name, title: 'v1' }))).errors).toEqual([
    { resource: 'Milestone', code: 'already_exists', field: 'title' },
  ]);
  await o.rest.issues.updateMilestone({ owner, repo: name, milestone_number: 1, state: 'closed' });
  expect(repo.milestones[0]).toMatchObject({ state: 'closed', closed_at: iso(api.now) });

  const created = await o.rest.issues.create({
    owner,
    repo: name,
    title: 'restored',
    body: 'from a backup',
    labels: ['kind: bug', 'restored'],
    milestone: 1,
    assignees: ['octocat'],
  });
  expect(created.status).toBe(201);
  expect(created.headers.location).toBe(created.data.url);
  expect(created.data).toMatchObject({
    number: 1,
    state: 'open',
    user: { login: 'github-actions[bot]', type: 'Bot' },
    labels: [{ name: 'kind: bug' }, { name: 'restored' }],
    milestone: { number: 1, open_issues: 1 },
    assignees: [{ login: 'octocat' }],
  });
  expect(repo.labels.map((l) => l.name)).toEqual(['kind: bug', 'restored']);
  expect(await invalid(o.rest.issues.create({ owner, repo: name, title: 'x', milestone: 7 }))).toMatchObject({
    errors: [{ resource: 'Issue', field: 'milestone', code: 'invalid', value: 7 }],
  });
  expect(
    (await invalid(o.request('POST /repos/{owner}/{repo}/issues', { owner, repo: name } as never))).message,
  ).toBe('Invalid request.\n\n"title" wasn\'t supplied.');

  api.advance(1000);
  const closed = await o.rest.issues.update({
    owner,
    repo: name,
    issue_number: 1,
    state: 'closed',
    state_reason: 'not_planned',
    labels: [],
  });
  expect(closed.data).toMatchObject({
    state: 'closed',
    state_reason: 'not_planned',
    closed_at: iso(api.now),
    updated_at: iso(api.now),
    labels: [],
  });
  expect(
    (await invalid(o.rest.issues.update({ owner, repo: name, issue_number: 1, state: 'shut' as 'closed' })))
      .errors,
  ).toEqual([{ resource: 'Issue', field: 'state', code: 'invalid', value: 'shut' }]);
  expect(
    (await failure(o.rest.issues.update({ owner, repo: name, issue_number: 5, title: 'x' }))).status,
  ).toBe(404);

  api.advance(1000);
  const comment = await o.rest.issues.createComment({
    owner,
    repo: name,
    issue_number: 1,
    body: 'restored comment',
  });
  expect(comment.status).toBe(201);
  expect(comment.data).toMatchObject({ body: 'restored comment', issue_url: created.data.url });
  expect(repo.issues[0]).toMatchObject({ comments: 1, updated_at: iso(api.now) });
  expect(
    (await invalid(o.request('POST /repos/{owner}/{repo}/issues/1/comments', { owner, repo: name }))).message,
  ).toBe('Invalid request.\n\n"body" wasn\'t supplied.');

  const parse = await fetch(`${api.url}/repos/${owner}/${name}/labels`, {
    method: 'POST',
    headers: { authorization: `token ${WRITE}` },
    body: '{not json',
  });
  expect([parse.status, ((await parse.json()) as { message: string }).message]).toEqual([
    400,
    'Problems parsing JSON',
  ]);
});

test('releases: create, find by tag, upload assets through upload_url, and their 422s', async () => {
  const { repo, owner, name } = newRepo();
  const o = octokit(WRITE);
  const release = await o.rest.repos.createRelease({
    owner,
    repo: name,
    tag_name: 'v1',
    name: 'First',
    body: 'notes',
  });
  expect(release.status).toBe(201);
  expect(release.data).toMatchObject({
    tag_name: 'v1',
    draft: false,
    published_at: iso(api.now),
    assets: [],
  });
  const duplicate = await failure(o.rest.repos.createRelease({ owner, repo: name, tag_name: 'v1' }));
  expect([duplicate.status, duplicate.response.data.errors]).toEqual([
    422,
    [{ resource: 'Release', code: 'already_exists', field: 'tag_name' }],
  ]);

  const bytes = Buffer.from('restored asset bytes');
  const upload = await o.request({
    method: 'POST',
    url: release.data.upload_url,
    name: 'my file.txt',
    label: 'The file',
    data: bytes,
    headers: { 'content-type': 'text/plain' },
  });
  expect(upload.status).toBe(201);
  expect(upload.data).toMatchObject({
    name: 'my.file.txt',
    label: 'The file',
    size: bytes.length,
    content_type: 'text/plain',
    state: 'uploaded',
  });
  expect(repo.releases[0].assets[0].bytes.equals(bytes)).toBe(true);
  // Octokit's own method, with the upload host as its baseUrl.
  const second = await o.rest.repos.uploadReleaseAsset({
    owner,
    repo: name,
    release_id: release.data.id,
    name: 'two.bin',
    data: 'two' as unknown as string,
    baseUrl: `${api.url}/uploads`,
  });
  expect(second.data.name).toBe('two.bin');
  const again = await failure(
    o.request({ method: 'POST', url: release.data.upload_url, name: 'my.file.txt', data: bytes }),
  );
  expect([again.status, again.response.data.errors]).toEqual([
    422,
    [{ resource: 'ReleaseAsset', code: 'already_exists', field: 'name' }],
  ]);

  const byTag = await o.rest.repos.getReleaseByTag({ owner, repo: name, tag: 'v1' });
  expect(byTag.data.assets.map((a) => a.name)).toEqual(['my.file.txt', 'two.bin']);
  expect((await failure(o.rest.repos.getReleaseByTag({ owner, repo: name, tag: 'v9' }))).status).toBe(404);

  const draft = await o.rest.repos.createRelease({ owner, repo: name, tag_name: 'v2', draft: true });
  expect(draft.data).toMatchObject({ draft: true, published_at: null });
  api.advance(1000);
  const published = await o.rest.repos.updateRelease({
    owner,
    repo: name,
    release_id: draft.data.id,
    draft: false,
  });
  expect(published.data).toMatchObject({ draft: false, published_at: iso(api.now) });
  expect((await o.rest.repos.getReleaseByTag({ owner, repo: name, tag: 'v2' })).data.id).toBe(draft.data.id);
  await o.rest.repos.deleteReleaseAsset({ owner, repo: name, asset_id: second.data.id });
  expect(repo.releases[0].assets.map((a) => a.name)).toEqual(['my.file.txt']);
});

test('forced faults: rate limits and server errors, to the requests they match', async () => {
  const { repo, owner, name } = newRepo();
  repo.addLabel({ name: 'bug' });
  const o = octokit(READ);

  api.force({ ...rateLimitExceeded(), match: (_method, url) => url.includes('/labels') });
  await o.rest.repos.get({ owner, repo: name }); // not matched
  const limited = await failure(o.rest.issues.listLabelsForRepo({ owner, repo: name }));
  expect(limited.status).toBe(403);
  expect(limited.response.headers['x-ratelimit-remaining']).toBe('0');
  expect(limited.response.data.message).toMatch(/^API rate limit exceeded/);
  expect(api.pendingFaults()).toBe(0);

  api.force({
    status: 502,
    body: '<html>Unicorn!</html>',
    headers: { 'content-type': 'text/html' },
    times: 2,
  });
  expect((await failure(o.rest.issues.listLabelsForRepo({ owner, repo: name }))).status).toBe(502);
  expect((await failure(o.rest.issues.listLabelsForRepo({ owner, repo: name }))).status).toBe(502);
  expect((await o.rest.issues.listLabelsForRepo({ owner, repo: name })).data).toHaveLength(1);

  // The project's own client waits out a secondary rate limit and tries again.
  api.force(secondaryRateLimit({ status: 429, retryAfter: 1 }));
  const group = () => new Bottleneck.Group({ maxConcurrent: 1, minTime: 0 });
  const client = createClient(
    READ,
    api.url,
    {
      retries: 0,
      rateLimitRetries: 1,
      maxRateLimitWaitSeconds: 5,
      retryBaseMs: 1,
      throttle: { retryAfterBaseValue: 10, write: group(), notifications: group() },
    },
    'meta',
  );
  const labels = await client.rest.issues.listLabelsForRepo({ owner, repo: name });
  expect(labels.data.map((l) => l.name)).toEqual(['bug']);
  expect(api.requests.slice(-2).map((r) => r.status)).toEqual([429, 200]);
  expect(printed()).toContain('secondary rate limit');
});
