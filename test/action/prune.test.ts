import * as fs from 'node:fs';
import * as path from 'node:path';
import { commitFile, createRichRepository, tempDir } from '../support/fixtures.js';
import { runAction, runCli } from '../support/run-action.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';

// The bundled prune action against a real S3-protocol server, after real backups. The retention rules
// themselves are tested in unit/retention.test.ts and unit/prune.test.ts.
let s3: S3Server;
let work: string;
let repository: string;

beforeAll(async () => {
  work = tempDir();
  repository = createRichRepository(path.join(work, 'app'));
  s3 = await startS3Server({ buckets: ['backups'] });
  for (let i = 0; i < 4; i++) {
    commitFile(repository, `change-${i}.txt`, `${i}\n`);
    const run = await action('actions/backup', { repositories: repository });
    expect(run.outputs.updated).toBe('true');
  }
});

afterAll(async () => {
  await s3?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

const env = () => ({ AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey });

function action(dir: string, inputs: Record<string, string>) {
  return runAction(dir, { destination: 's3://backups/p', endpoint: s3.endpoint, ...inputs }, { env: env() });
}

const listed = async () =>
  JSON.parse(
    (await runCli(['list', '--to', 's3://backups/p', '--endpoint', s3.endpoint, '--json'], env())).stdout,
  ) as Array<{
    id: string;
  }>;

test('an empty policy removes nothing', async () => {
  const run = await action('actions/prune', {});
  expect(run.errors).toEqual([]);
  expect(run.outputs.removed).toBe('0');
  expect(await listed()).toHaveLength(4);
});

test('dry run explains, deletes nothing; the real run keeps exactly the policy', async () => {
  const before = await listed();
  const dry = await action('actions/prune', { 'keep-last': '2', 'dry-run': 'true' });
  expect(dry.errors).toEqual([]);
  expect(dry.outputs).toMatchObject({ removed: '2', kept: '2' });
  expect(dry.stdout).toContain(`local/app ${before[3].id} would remove: no rule matched`);
  expect(dry.stdout).toContain(`local/app ${before[0].id} keep  : last snapshot`);
  expect(dry.summary).toContain('🧹 Prune (dry run): would remove 2 snapshots');
  expect(await listed()).toHaveLength(4);

  const run = await action('actions/prune', { 'keep-last': '2' });
  expect(run.outputs.removed).toBe('2');
  expect((await listed()).map((s) => s.id)).toEqual(before.slice(0, 2).map((s) => s.id));
  const decisions = JSON.parse(run.outputs.decisions);
  expect(decisions[0].snapshots.map((s: { keep: boolean }) => s.keep)).toEqual([true, true, false, false]);
});

test.each([
  [{ 'keep-daily': 'seven' }, 'keep-daily'],
  [{ 'keep-within': '30' }, 'keep-within'],
  [{ 'orphan-age': 'soon' }, 'orphan-age'],
  [{ 'dry-run': 'maybe' }, 'dry-run'],
])('bad input %j names the input', async (inputs, input) => {
  const run = await action('actions/prune', inputs);
  expect(run.exitCode).toBe(1);
  expect(run.errors).toHaveLength(1);
  expect(run.errors[0]).toContain(`Input "${input}"`);
});
