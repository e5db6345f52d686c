import * as fs from 'node:fs';
import * as path from 'node:path';
import { commitFile, createRichRepository, git, objectsOf, refsOf, tempDir } from '../support/fixtures.js';
import { startGitHttpServer, type GitHttpServer } from '../support/git-http-server.js';
import { runAction } from '../support/run-action.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';

// The bundled restore action against a real S3-protocol server and a real git smart-HTTP server
// (which also accepts pushes), after real backups made by the bundled backup action.
const TOKEN = 'ghs_RestoreTestToken0123456789';
let s3: S3Server;
let gitServer: GitHttpServer;
let work: string;
let served: string;
let firstId: string;
let between: string;

beforeAll(async () => {
  work = tempDir();
  served = path.join(work, 'served');
  const source = createRichRepository(path.join(work, 'source'));
  git(work, 'clone', '--quiet', '--mirror', source, path.join(served, 'octo', 'app.git'));
  s3 = await startS3Server({ buckets: ['backups'] });
  gitServer = await startGitHttpServer({ root: served, token: TOKEN });

  const first = await action('actions/backup', { repositories: 'octo/app' });
  expect(first.errors).toEqual([]);
  firstId = JSON.parse(first.outputs['snapshot-ids'])[0];
  await new Promise((resolve) => setTimeout(resolve, 20));
  between = new Date().toISOString();
  commitFile(source, 'second.txt', 'second\n');
  git(source, 'push', '--quiet', '--mirror', path.join(served, 'octo', 'app.git'));
  const second = await action('actions/backup', { repositories: 'octo/app' });
  expect(second.outputs.updated).toBe('true');
});

afterAll(async () => {
  await s3?.stop();
  await gitServer?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

function action(dir: string, inputs: Record<string, string>) {
  return runAction(
    dir,
    { destination: 's3://backups/gh', endpoint: s3.endpoint, ...inputs },
    {
      env: {
        AWS_ACCESS_KEY_ID: s3.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
        GITHUB_SERVER_URL: gitServer.url,
      },
      context: { repository: 'octo/app', token: TOKEN },
    },
  );
}

const servedRepo = (name: string) => path.join(served, 'octo', `${name}.git`);

test('restores the latest snapshot into a folder: same refs and objects as the source', async () => {
  const target = path.join(work, 'latest.git');
  const run = await action('actions/restore', { target });
  expect(run.errors).toEqual([]);
  expect(run.exitCode).toBe(0);
  expect(run.outputs).toMatchObject({ path: target, refs: '5' });
  expect(run.outputs['snapshot-id']).not.toBe(firstId);
  expect(refsOf(target)).toBe(refsOf(servedRepo('app')));
  expect(objectsOf(target)).toBe(objectsOf(servedRepo('app')));
  expect(run.summary).toContain('✅ Restored');
});

test('@time picks the newest snapshot at or before it', async () => {
  const target = path.join(work, 'older.git');
  const run = await action('actions/restore', { target, snapshot: `@${between}` });
  expect(run.errors).toEqual([]);
  expect(run.outputs['snapshot-id']).toBe(firstId);
  expect(refsOf(target)).not.toBe(refsOf(servedRepo('app')));
});

test('pushes to an empty repository; a repository with refs is refused unless force, and nothing is deleted', async () => {
  git(work, 'init', '--quiet', '--bare', servedRepo('restored'));
  const push = await action('actions/restore', { 'to-repository': 'octo/restored' });
  expect(push.errors).toEqual([]);
  expect(push.outputs.path).toBe('');
  expect(refsOf(servedRepo('restored'))).toBe(refsOf(servedRepo('app')));

  const again = await action('actions/restore', { 'to-repository': 'octo/restored', snapshot: firstId });
  expect(again.exitCode).toBe(1);
  expect(again.errors).toHaveLength(1);
  expect(again.errors[0]).toMatch(/Input "to-repository": .* already has \d+ refs/);

  git(
    servedRepo('restored'),
    'update-ref',
    'refs/heads/only-there',
    git(servedRepo('app'), 'rev-parse', 'trunk').trim(),
  );
  const forced = await action('actions/restore', {
    'to-repository': 'octo/restored',
    snapshot: firstId,
    force: 'true',
  });
  expect(forced.errors).toEqual([]);
  expect(git(servedRepo('restored'), 'rev-parse', 'refs/heads/only-there')).toBeTruthy();
});

test('dry run lists the refs and writes nothing', async () => {
  const target = path.join(work, 'dry.git');
  const run = await action('actions/restore', { target, 'dry-run': 'true' });
  expect(run.errors).toEqual([]);
  expect(run.stdout).toMatch(/dry run: would restore 5 refs/);
  expect(run.stdout).toContain('refs/heads/feature/deep/nested-name');
  expect(fs.existsSync(target)).toBe(false);
});

test.each([
  [{ snapshot: '@not-a-time', target: 'x' }, 'snapshot', /not a time/],
  [{ target: '' }, 'target', /is required unless to-repository/],
  [
    { snapshot: '20200101T000000.000Z-00000000', target: 'x' },
    'snapshot',
    /no snapshot of octo\/app matches/,
  ],
  [{ 'to-repository': 'not a repo' }, 'to-repository', /neither owner\/name/],
])('bad input %j: one error naming the input', async (inputs, input, message) => {
  const run = await action('actions/restore', inputs);
  expect(run.exitCode).toBe(1);
  expect(run.errors).toHaveLength(1);
  expect(run.errors[0]).toContain(`Input "${input}"`);
  expect(run.errors[0]).toMatch(message);
});
