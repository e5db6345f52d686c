import Bottleneck from 'bottleneck';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ApiOptions } from '../../src/github/client.js';
import { fetchMetadata, type MetadataCursor, type MetadataKind } from '../../src/github/metadata.js';
import { restoreMetadata } from '../../src/github/metadata-restore.js';
import { writeMetadataFolder } from '../../src/github/threads.js';
import { RecordState, type SnapshotRecord } from '../../src/snapshot/records.js';
import { captureStdout } from '../support/helpers.js';
import { type FakeRepo, type MetadataApi, startMetadataApi } from '../support/metadata-api.js';

// Backup of issues, pull requests, labels, milestones and releases, restore into a repository and into
// a folder, against a real HTTP server speaking GitHub's REST API (test/support/metadata-api.ts).

const FULL = 'ghs_metaFullToken0123456789abcdefghijKLMNO';
const NO_ISSUES = 'ghs_metaNoIssuesToken0123456789abcdefghij';
const TOKENS = [FULL, NO_ISSUES];
const MINUTE = 60_000;

let api: MetadataApi;
let count = 0;

beforeAll(async () => {
  api = await startMetadataApi({
    tokens: {
      [FULL]: { issues: 'write', pull_requests: 'write', contents: 'write' },
      [NO_ISSUES]: { pull_requests: 'read', contents: 'none' },
    },
  });
});

afterAll(() => api?.stop());

captureStdout(TOKENS);

/** Short waits, and writes without the throttling plugin's 1 s / 3 s spacing. */
function fast(): ApiOptions {
  const group = () => new Bottleneck.Group({ maxConcurrent: 1, minTime: 0 });
  return { retries: 1, retryBaseMs: 10, throttle: { write: group(), notifications: group() } };
}

function newRepo(): { repo: FakeRepo; owner: string; name: string; full: string } {
  const name = `meta-${++count}`;
  return { repo: api.repo(`octo-org/${name}`), owner: 'octo-org', name, full: `octo-org/${name}` };
}

/** Content-addressed blobs, as the snapshot stores them. */
class Blobs {
  readonly bytes = new Map<string, Buffer>();
  stored = 0;

  store = async (_asset: unknown, body: Readable) => {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    const data = Buffer.concat(chunks);
    const sha256 = createHash('sha256').update(data).digest('hex');
    this.bytes.set(sha256, data);
    this.stored++;
    return { sha256, size: data.length };
  };

  read = async (sha256: string) => {
    const data = this.bytes.get(sha256);
    if (!data) throw new Error(`no blob ${sha256}`);
    return Readable.from([data]);
  };
}

async function backup(
  repo: { owner: string; name: string },
  options: { previous?: MetadataCursor; token?: string; kinds?: MetadataKind[]; blobs?: Blobs } = {},
) {
  const records: SnapshotRecord[] = [];
  const blobs = options.blobs ?? new Blobs();
  const used = api.rateLimitUsed();
  const result = await fetchMetadata({
    owner: repo.owner,
    repo: repo.name,
    token: options.token ?? FULL,
    apiUrl: api.url,
    api: fast(),
    kinds: options.kinds ?? ['issues', 'pulls', 'releases'],
    previous: options.previous,
    emit: async (record) => {
      records.push(JSON.parse(JSON.stringify(record)) as SnapshotRecord);
    },
    storeAsset: blobs.store,
  });
  return { result, records, blobs, rateLimitUsed: api.rateLimitUsed() - used };
}

function replay(...packs: SnapshotRecord[][]): RecordState {
  const state = new RecordState();
  for (const pack of packs) for (const record of pack) state.add(record);
  return state;
}

/** A repository with a bit of everything, its clock then moved on (as a backup would run later). */
function seed(repo: FakeRepo) {
  repo.addLabel({ name: 'bug', color: 'd73a4a', description: 'Something is broken' });
  repo.addLabel({ name: 'docs', color: '0075ca', description: null });
  const v1 = repo.addMilestone({ title: 'v1', description: 'First', due_on: '2030-01-02T08:00:00Z' });
  repo.addMilestone({ title: 'v0', state: 'closed' });
  for (let i = 1; i <= 12; i++) {
    const issue = repo.addIssue({
      title: `Issue ${i}`,
      body: i === 3 ? null : `Body of issue ${i}\n\nwith **markdown**`,
      user: i % 2 ? 'octocat' : 'hubot',
      labels: i % 3 === 0 ? ['bug'] : i % 4 === 0 ? ['bug', 'docs'] : [],
      ...(i % 5 === 0 ? { milestone: v1.number } : {}),
      ...(i % 6 === 0 ? { state: 'closed' as const, state_reason: 'not_planned' as const } : {}),
    });
    if (i % 2 === 0) repo.addComment(issue.number, { body: `First comment on ${i}`, user: 'hubot' });
    if (i % 4 === 0) repo.addComment(issue.number, { body: `Second comment on ${i}` });
    api.advance(1000);
  }
  const merged = repo.addPull({
    title: 'Add a feature',
    body: 'It adds a feature.',
    merged: true,
    labels: ['docs'],
  });
  repo.addComment(merged.number, { body: 'Looks useful', user: 'hubot' });
  repo.addReview(merged.number, { state: 'CHANGES_REQUESTED', body: 'Please add tests', user: 'hubot' });
  repo.addReviewComment(merged.number, { body: 'Off by one here', path: 'src/a.ts', line: 3, user: 'hubot' });
  repo.addReview(merged.number, { state: 'APPROVED', body: 'Good now', user: 'hubot' });
  const open = repo.addPull({ title: 'Work in progress', body: null, head: 'wip' });
  repo.addReview(open.number, { state: 'COMMENTED', body: 'Early thoughts', user: 'hubot' });
  repo.addPull({ title: 'Abandoned', body: 'Never mind', state: 'closed' });
  repo.addRelease({ tag_name: 'v0.9', name: 'Beta', body: 'Try it', prerelease: true }, [
    {
      name: 'tool-linux.tar.gz',
      bytes: Buffer.from('linux bytes '.repeat(500)),
      content_type: 'application/gzip',
    },
  ]);
  api.advance(1000);
  repo.addRelease({ tag_name: 'v1.0', name: 'One', body: 'Stable' }, [
    {
      name: 'tool-linux.tar.gz',
      bytes: Buffer.from('linux bytes, v1 '.repeat(500)),
      content_type: 'application/gzip',
    },
    { name: 'notes.txt', bytes: Buffer.from('release notes\n'), content_type: 'text/plain' },
  ]);
  api.advance(MINUTE);
}

const numbers = (state: RecordState, type: 'issue' | 'pull') => state.all(type).map((r) => Number(r.key));

/** The snapshot's state against the repository as the fake holds it. */
function expectStateOf(state: RecordState, repo: FakeRepo) {
  const issues = repo.issues.filter((i) => !i.pull_request);
  expect(numbers(state, 'issue').sort((a, b) => a - b)).toEqual(issues.map((i) => i.number));
  for (const issue of issues) {
    const data = state.all('issue').find((r) => r.key === String(issue.number))!.data;
    expect(data).toMatchObject({
      title: issue.title,
      body: issue.body,
      state: issue.state,
      updated_at: issue.updated_at,
    });
  }
  expect(numbers(state, 'pull').sort((a, b) => a - b)).toEqual(repo.pulls.map((p) => p.number));
  const comments = state.all('issue-comment').map((r) => [r.issue, r.data.body]);
  expect(comments.sort()).toEqual(repo.comments.map((c) => [numberAtEnd(c.issue_url), c.body]).sort());
  expect(
    state
      .all('review')
      .map((r) => r.data.body)
      .sort(),
  ).toEqual(repo.reviews.map((r) => r.body).sort());
  expect(state.all('review-comment').map((r) => [r.pull, r.data.body])).toEqual(
    repo.reviewComments.map((c) => [numberAtEnd(c.pull_request_url), c.body]),
  );
  expect(state.set('labels').map((l) => l.name)).toEqual(repo.labels.map((l) => l.name));
  expect(
    state
      .set('milestones')
      .map((m) => m.title)
      .sort(),
  ).toEqual(repo.milestones.map((m) => m.title).sort());
  expect(
    state
      .set('releases')
      .map((r) => r.tag_name)
      .sort(),
  ).toEqual(repo.releases.map((r) => r.tag_name).sort());
}

const numberAtEnd = (url: string) => Number(/(\d+)$/.exec(url)![1]);

test('a full backup, then an incremental one after five issues changed asks little and emits only the changes', async () => {
  const source = newRepo();
  seed(source.repo);
  const first = await backup(source);
  expect(first.result.included).toEqual(['issues', 'pulls', 'releases']);
  expect(first.result.skipped).toEqual([]);
  expect(first.result.emitted).toEqual({
    labels: 1,
    milestones: 1,
    issue: 12,
    'issue-comment': 10,
    pull: 3,
    review: 3,
    'review-comment': 1,
    releases: 1,
  });
  expect(first.result.counted).toBe(first.rateLimitUsed);
  expect(first.result.cursor.since).toBe(new Date(api.now).toISOString());
  expectStateOf(replay(first.records), source.repo);

  api.advance(MINUTE);
  source.repo.editIssue(2, { title: 'Issue 2, renamed' });
  source.repo.editIssue(1, { state: 'closed', state_reason: 'completed' });
  source.repo.editIssue(7, { labels: ['docs'] });
  source.repo.addComment(9, { body: 'A new comment on 9' });
  source.repo.editComment(source.repo.comments.find((c) => c.body === 'First comment on 4')!.id, 'Edited');
  api.advance(MINUTE);

  const second = await backup(source, { previous: first.result.cursor });
  // The releases changed too: the first run's downloads raised their assets' download_count.
  expect(second.result.emitted).toEqual({ issue: 5, 'issue-comment': 2, releases: 1 });
  // Changed in the same second: in number order.
  expect(second.records.filter((r) => r.type === 'issue').map((r) => r.key)).toEqual([
    '1',
    '2',
    '4',
    '7',
    '9',
  ]);
  // labels (304), milestones (304), issues, issue comments, pulls, review comments, releases.
  expect(second.result.requests).toBe(7);
  expect(second.result.counted).toBe(5);
  expect(second.rateLimitUsed).toBe(5);
  expect(second.result.assetBytes).toBe(0);
  expectStateOf(replay(first.records, second.records), source.repo);

  // Nothing changed since: the three whole sets answer 304.
  api.advance(MINUTE);
  const third = await backup(source, { previous: second.result.cursor });
  expect(third.result).toMatchObject({ emitted: {}, requests: 7, counted: 4 });
  expect(third.result.cursor.etags).toEqual(second.result.cursor.etags);
  // Full: labels, milestones, issues, issue comments, pulls, 3 × reviews, review comments, releases, 3 × assets.
  expect(first.result.requests).toBe(13);
});

test('an issue updated while the listing runs cannot push another past a page boundary unseen', async () => {
  const source = newRepo();
  for (let i = 1; i <= 250; i++) {
    source.repo.addIssue({ title: `Issue ${i}` });
    // 120 in one second: a whole page at the same updated_at.
    if (i > 120) api.advance(1000);
  }
  api.advance(MINUTE);
  const seen = new Set<string>();
  const records: SnapshotRecord[] = [];
  const result = await fetchMetadata({
    owner: source.owner,
    repo: source.name,
    token: FULL,
    apiUrl: api.url,
    api: fast(),
    kinds: ['issues'],
    emit: async (record) => {
      records.push(record);
      if (record.type !== 'issue') return;
      // Read on the first page, then updated: it moves to the end of the listing.
      if (record.key === '50' && !seen.has('50')) {
        api.advance(1000);
        source.repo.editIssue(3, { title: 'Issue 3, edited during the backup' });
      }
      seen.add(record.key);
    },
    storeAsset: () => Promise.reject(new Error('no assets here')),
  });
  expect(seen.size).toBe(250);
  expect(
    replay(records)
      .all('issue')
      .find((r) => r.key === '3')!.data.title,
  ).toBe('Issue 3, edited during the backup');
  expect(result.emitted.issue).toBe(251);
});

test('a whole set of more than one page is read again only when a page changed', async () => {
  const source = newRepo();
  for (let i = 0; i < 150; i++) source.repo.addLabel({ name: `label-${String(i).padStart(3, '0')}` });
  api.advance(MINUTE);
  const first = await backup(source, { kinds: ['issues'] });
  expect(replay(first.records).set('labels')).toHaveLength(150);
  expect(Object.keys(first.result.cursor.etags).sort()).toEqual(['labels', 'labels:2', 'milestones']);

  api.advance(MINUTE);
  const unchanged = await backup(source, { kinds: ['issues'], previous: first.result.cursor });
  expect(unchanged.result.emitted.labels).toBeUndefined();

  // A label on the second page: both pages are read again, and the record is the whole set.
  source.repo.addLabel({ name: 'label-zzz' });
  api.advance(MINUTE);
  const changed = await backup(source, { kinds: ['issues'], previous: unchanged.result.cursor });
  expect(replay(first.records, changed.records).set('labels')).toHaveLength(151);
});

test('release assets are downloaded once, without the token at the signed URL, and reused after', async () => {
  const source = newRepo();
  seed(source.repo);
  const blobs = new Blobs();
  const before = api.requests.length;
  const first = await backup(source, { blobs, kinds: ['releases'] });
  expect(blobs.stored).toBe(3);
  expect(first.result.assetBytes).toBe(6000 + 8000 + 14);
  const downloads = api.requests.slice(before).filter((r) => r.url.startsWith('/downloads/'));
  expect(downloads).toHaveLength(3);
  for (const request of downloads) expect(request.headers.authorization).toBeUndefined();
  const [release] = replay(first.records)
    .set('releases')
    .filter((r) => r.tag_name === 'v1.0');
  for (const asset of release.assets) {
    const bytes = source.repo.releases
      .find((r) => r.tag_name === 'v1.0')!
      .assets.find((a) => a.name === asset.name)!.bytes;
    expect(blobs.bytes.get(asset.sha256!)).toEqual(bytes);
  }

  // A release edited: the set is read again, but no asset is downloaded again.
  api.advance(MINUTE);
  source.repo.releases[0].body = 'Try it, edited';
  const second = await backup(source, { blobs, kinds: ['releases'], previous: first.result.cursor });
  expect(second.result.emitted).toEqual({ releases: 1 });
  expect(blobs.stored).toBe(3);
  expect(second.result.assetBytes).toBe(0);
  expect(second.result.cursor.assets).toEqual(first.result.cursor.assets);

  // Nothing changed: one 304.
  const third = await backup(source, { blobs, kinds: ['releases'], previous: second.result.cursor });
  expect(third.result).toMatchObject({ emitted: {}, requests: 1, counted: 0 });
});

test("an asset whose bytes differ from GitHub's digest fails the backup", async () => {
  const source = newRepo();
  seed(source.repo);
  source.repo.releases[1].assets[1].digest = `sha256:${'0'.repeat(64)}`;
  await expect(backup(source, { kinds: ['releases'] })).rejects.toThrow(
    /asset "notes.txt" of release v1.0 has the digest sha256:0{64} on GitHub, but the bytes downloaded have sha256:[0-9a-f]{64}/,
  );
});

test('issues turned off are skipped as nothing to back up; a token without a permission is named', async () => {
  const disabled = newRepo();
  seed(disabled.repo);
  disabled.repo.setHasIssues(false);
  const off = await backup(disabled);
  expect(off.result.included).toEqual(['pulls', 'releases']);
  expect(off.result.skipped).toEqual([
    { kind: 'issues', reason: expect.stringContaining('issues are turned off') as string, error: false },
  ]);
  // A pull request's conversation is then read from the pull request itself.
  expect(off.result.emitted).toMatchObject({ pull: 3, 'issue-comment': 1 });
  expect(off.result.cursor.kinds).toEqual(['pulls', 'releases']);

  const limited = newRepo();
  seed(limited.repo);
  const refused = await backup(limited, { token: NO_ISSUES });
  expect(refused.result.included).toEqual(['pulls']);
  expect(refused.result.skipped).toEqual([
    {
      kind: 'issues',
      reason: expect.stringContaining('the token lacks issues: read') as string,
      error: true,
    },
    {
      kind: 'releases',
      reason: expect.stringContaining('the token lacks contents: read') as string,
      error: true,
    },
  ]);
  // The comment listing allows pull_requests: read; only the comments of pull requests are kept.
  expect(refused.result.emitted).toMatchObject({
    'issue-comment': 1,
    pull: 3,
    review: 3,
    'review-comment': 1,
  });
  expect(refused.result.emitted.issue).toBeUndefined();
});

test('a 5xx answer is tried again and counted; one that persists names the request', async () => {
  const source = newRepo();
  seed(source.repo);
  const plain = await backup(source, { kinds: ['pulls'] });
  api.force({ status: 502, body: { message: 'Server Error' }, match: (_m, url) => url.includes('/pulls?') });
  const retried = await backup(source, { kinds: ['pulls'] });
  expect(retried.result.requests).toBe(plain.result.requests + 1);
  expect(retried.records).toEqual(plain.records);

  api.force({
    status: 502,
    body: { message: 'Server Error' },
    match: (_m, url) => url.includes('/pulls/comments'),
    times: 2,
  });
  await expect(backup(source, { kinds: ['pulls'] })).rejects.toThrow(
    /Backing up the pulls of octo-org\/meta-\d+ failed: GET \/repos\/octo-org\/meta-\d+\/pulls\/comments\?.* answered 502 "Server Error", also after 1 retries/,
  );
});

/** A restored body without its header line and marker: the original text. */
const original = (body: string | null) =>
  (body ?? '').replace(/^_[^\n]*_\n\n/, '').replace(/\n\n<!-- backup-action:[^>]* -->$/, '');

test('restore into an empty repository gives the same threads, labels, milestones and releases; twice creates nothing', async () => {
  const source = newRepo();
  seed(source.repo);
  const { records, blobs } = await backup(source);
  const state = replay(records);
  const target = newRepo();
  const restore = () =>
    restoreMetadata({
      owner: target.owner,
      repo: target.name,
      token: FULL,
      apiUrl: api.url,
      api: fast(),
      state,
      source: source.full,
      readBlob: blobs.read,
    });

  const first = await restore();
  expect(first.created).toEqual({
    labels: 2,
    milestones: 2,
    releases: 2,
    assets: 3,
    issues: 12,
    pulls: 3,
    comments: 10,
    reviews: 3,
    'review-comments': 1,
  });

  const t = target.repo;
  expect(t.labels.map((l) => [l.name, l.color, l.description])).toEqual(
    source.repo.labels.map((l) => [l.name, l.color, l.description]),
  );
  const milestone = (m: {
    title: string;
    state: string;
    description: string | null;
    due_on: string | null;
  }) => [m.title, m.state, m.description ?? '', m.due_on];
  expect(t.milestones.map(milestone).sort()).toEqual(source.repo.milestones.map(milestone).sort());
  for (const release of source.repo.releases) {
    const restored = t.releases.find((r) => r.tag_name === release.tag_name)!;
    expect(restored).toMatchObject({
      name: release.name,
      body: release.body,
      prerelease: release.prerelease,
    });
    expect(restored.assets.map((a) => [a.name, a.content_type, a.bytes])).toEqual(
      release.assets.map((a) => [a.name, a.content_type, a.bytes]),
    );
  }

  // Issues keep their order, so here their numbers too.
  for (const issue of source.repo.issues.filter((i) => !i.pull_request)) {
    const restored = t.issues.find((i) =>
      i.body?.includes(`<!-- backup-action:${source.full}#${issue.number} -->`),
    )!;
    expect(restored.number).toBe(issue.number);
    expect(restored.title).toBe(issue.title);
    expect(restored.body!.split('\n')[0]).toMatch(
      new RegExp(
        `^_Originally \\[#${issue.number}\\]\\(.*\\) by \\[@${issue.user.login}\\]\\(.*\\) on \\d{4}-\\d\\d-\\d\\d — restored by backup-action from ${source.full}\\._$`,
      ),
    );
    expect(original(restored.body)).toBe(issue.body ?? '');
    expect([restored.state, restored.state_reason]).toEqual([
      issue.state,
      issue.state === 'closed' ? issue.state_reason : null,
    ]);
    expect(restored.labels.map((l) => l.name)).toEqual(issue.labels.map((l) => l.name));
    expect(restored.milestone?.title).toBe(issue.milestone?.title);
    const comments = (n: number, repo: FakeRepo) =>
      repo.comments.filter((c) => numberAtEnd(c.issue_url) === n).map((c) => c.body);
    expect(comments(restored.number, t).map(original)).toEqual(comments(issue.number, source.repo));
  }

  const merged = t.issues.find((i) => i.title === '[PR #13] Add a feature')!;
  expect(merged).toMatchObject({ state: 'closed', state_reason: 'completed' });
  expect(merged.body).toContain('→ main, merged');
  expect(original(merged.body).split('\n\n').slice(-1)[0]).toBe('It adds a feature.');
  const thread = t.comments.filter((c) => c.issue_url.endsWith(`/${merged.number}`)).map((c) => c.body);
  expect(thread.map((b) => b.split('\n')[0])).toEqual([
    expect.stringMatching(/^_\[Comment\]/),
    expect.stringMatching(/^_\[Review\].*\*\*requested changes\*\*/),
    expect.stringMatching(/^_\[Review comment\]\(.*\) on `src\/a.ts` line 3/),
    expect.stringMatching(/^_\[Review\].*\*\*approved\*\*/),
  ]);
  expect(thread.map((b) => original(b).split('\n\n').slice(-1)[0])).toEqual([
    'Looks useful',
    'Please add tests',
    'Off by one here',
    'Good now',
  ]);
  expect(t.issues.find((i) => i.title === '[PR #15] Abandoned')).toMatchObject({
    state: 'closed',
    state_reason: 'not_planned',
  });

  const second = await restore();
  expect(second.created).toEqual({});
  expect(second.updated).toEqual({});
  expect(second.unchanged).toMatchObject({ issues: 12, pulls: 3, comments: 10, reviews: 3, assets: 3 });
});

test('restore into a folder: readable threads, JSON, release assets; a hostile name stays inside', async () => {
  const source = newRepo();
  seed(source.repo);
  const { records, blobs } = await backup(source);
  const state = replay(records);
  const parent = await mkdtemp(join(tmpdir(), 'metadata-folder-'));
  const folder = join(parent, 'out');
  try {
    const written = await writeMetadataFolder(folder, state, blobs.read, source.full);
    const read = (path: string) => readFile(join(folder, path), 'utf8');
    expect(written.files).toBe(2 + 12 * 2 + 3 * 2 + 2 + 3 + 1);

    const issue4 = await read('issues/4.md');
    expect(issue4).toContain('# Issue #4: Issue 4');
    expect(issue4).toContain('Labels: bug, docs');
    expect(issue4).toContain('First comment on 4');
    expect(issue4).toContain('Second comment on 4');
    expect(JSON.parse(await read('issues/4.json'))).toMatchObject({ number: 4, comments: [{}, {}] });
    const pull = await read('pulls/13.md');
    expect(pull).toMatch(/\*\*merged\*\*/);
    expect(pull).toContain('@hubot requested changes');
    expect(pull).toContain('Off by one here');
    expect(JSON.parse(await read('pulls/13.json'))).toMatchObject({
      reviews: [{}, {}],
      review_comments: [{}],
    });
    expect(await readFile(join(folder, 'releases/v1.0/notes.txt'))).toEqual(Buffer.from('release notes\n'));
    const index = await read('index.md');
    expect(index).toContain('[#4 Issue 4](issues/4.md)');
    expect(index).toContain('[#13 Add a feature](pulls/13.md)');
    expect(JSON.parse(await read('labels.json'))).toHaveLength(2);

    // Names GitHub would not give, in a snapshot someone could have tampered with.
    const hostile = replay(structuredClone(records));
    const releases = hostile.set('releases');
    releases[0].tag_name = '../../escape';
    releases[0].assets[0].name = '../../../evil.sh';
    hostile.add({ type: 'releases', key: '', data: releases });
    const again = join(parent, 'again');
    await writeMetadataFolder(again, hostile, blobs.read, source.full);
    expect((await readdir(parent)).sort()).toEqual(['again', 'out']);
    const dirs = await readdir(join(again, 'releases'));
    expect(dirs).toContain('.._.._escape');
    expect(existsSync(join(again, 'releases', '.._.._escape', '.._.._.._evil.sh'))).toBe(true);

    // The same state, the same files.
    const twice = join(parent, 'twice');
    await writeMetadataFolder(twice, state, blobs.read, source.full);
    expect(await readFile(join(twice, 'index.md'), 'utf8')).toBe(index);
    expect(await readFile(join(twice, 'pulls/13.md'), 'utf8')).toBe(pull);
    await rm(twice, { recursive: true });
  } finally {
    await rm(parent, { recursive: true, force: true });
  }
});
