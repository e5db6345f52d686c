import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { commitFile, createRichRepository, tempDir } from '../support/fixtures.js';
import { s3Client } from '../support/helpers.js';
import { runAction, runCli } from '../support/run-action.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';

// The root action (backup → verify → prune → report in one step), bundled, against a real
// S3-protocol server and real git repositories.
let s3: S3Server;
let work: string;
let repository: string;

beforeAll(async () => {
  work = tempDir();
  repository = createRichRepository(path.join(work, 'app'));
  s3 = await startS3Server({ buckets: ['backups'] });
});

afterAll(async () => {
  await s3?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

const env = () => ({ AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey });

function oneStep(inputs: Record<string, string> = {}) {
  return runAction(
    '.',
    { destination: 's3://backups/one', endpoint: s3.endpoint, repositories: repository, ...inputs },
    { env: env() },
  );
}

const listed = async () =>
  JSON.parse(
    (await runCli(['list', '--to', 's3://backups/one', '--endpoint', s3.endpoint, '--json'], env())).stdout,
  ) as Array<{ id: string }>;

test('one step backs up, proves the new snapshot by reading it back, and reports it fresh', async () => {
  const run = await oneStep();
  expect(run.errors).toEqual([]);
  expect(run.exitCode).toBe(0);
  const [id] = JSON.parse(run.outputs['snapshot-ids']) as string[];
  expect(run.outputs).toMatchObject({
    updated: 'true',
    'verify-ok': 'true',
    'verify-failed': '0',
    stale: '0',
  });
  expect(run.outputs.removed).toBeUndefined(); // no keep-* rule: retention does not run
  expect(JSON.parse(run.outputs['verify-results'])).toMatchObject([{ id, level: 'read-data', ok: true }]);
  expect(run.summary).toMatch(/Backup[\s\S]*Verify \(read-data\): 1 snapshots proven[\s\S]*fresh/);
  expect(fs.existsSync(run.outputs.json)).toBe(true);
});

test('keep-* rules prune after a good run; the newest snapshots stay', async () => {
  for (let i = 0; i < 2; i++) {
    commitFile(repository, `one-step-${i}.txt`, `${i}\n`);
    expect((await oneStep({ 'verify-level': 'restore' })).outputs['verify-ok']).toBe('true');
  }
  const before = await listed();
  expect(before).toHaveLength(3);
  commitFile(repository, 'one-step-last.txt', 'last\n');
  const run = await oneStep({ 'keep-last': '2' });
  expect(run.errors).toEqual([]);
  expect(run.outputs).toMatchObject({ updated: 'true', removed: '2', 'verify-ok': 'true', stale: '0' });
  const after = await listed();
  expect(after.map((s) => s.id)).toEqual([JSON.parse(run.outputs['snapshot-ids'])[0], before[0].id]);
});

test('an unchanged run still proves the newest snapshot; a damaged one fails the step and nothing is pruned', async () => {
  const [newest] = await listed();
  const client = s3Client(s3);
  // The pack the newest snapshot added (format 2: in the repository's pack folder).
  const manifestKey = `one/git/local/app/${newest.id}/manifest.json`;
  const manifestObject = await client.send(new GetObjectCommand({ Bucket: 'backups', Key: manifestKey }));
  const parts = JSON.parse(await manifestObject.Body!.transformToString()).parts as Array<{
    name: string;
    type: string;
    added?: boolean;
  }>;
  const pack = parts.find((part) => part.type === 'git-pack' && part.added)!.name;
  const key = `one/packs/git/local/app/${pack}`;
  const stored = await client.send(new GetObjectCommand({ Bucket: 'backups', Key: key }));
  const bytes = Buffer.from(await stored.Body!.transformToByteArray());
  bytes[bytes.length >> 1] ^= 0xff;
  await client.send(new PutObjectCommand({ Bucket: 'backups', Key: key, Body: bytes }));

  const run = await oneStep({ 'keep-last': '1' });
  expect(run.exitCode).toBe(1);
  expect(run.outputs).toMatchObject({ updated: 'false', 'verify-ok': 'false', 'verify-failed': '1' });
  expect(run.errors.join('\n')).toContain(`local/app ${newest.id} ${pack}`);
  expect(run.stdout).toContain('prune skipped');
  expect(run.outputs.removed).toBeUndefined();
  expect(await listed()).toHaveLength(2);
  // The damaged snapshot is the newest: the next run that changes a ref writes a good one on top.
  const listing = await client.send(new ListObjectsV2Command({ Bucket: 'backups', Prefix: 'one/' }));
  expect(listing.Contents?.some((object) => object.Key === key)).toBe(true);
});

test('a repository that cannot be backed up fails the step by name; the others are still backed up and reported', async () => {
  const unreachable = 'http://127.0.0.1:9/gone/missing.git';
  commitFile(repository, 'one-step-mixed.txt', 'mixed\n');
  const run = await oneStep({ repositories: `${repository}\n${unreachable}`, 'keep-last': '1' });
  expect(run.exitCode).toBe(1);
  expect(run.outputs).toMatchObject({ updated: 'true', 'verify-ok': 'true', stale: '1' });
  expect(run.errors.join('\n')).toContain(unreachable);
  expect(run.errors.join('\n')).toMatch(/gone\/missing: never backed up/);
  expect(run.stdout).toContain('prune skipped');
  expect(await listed()).toHaveLength(3);
});

test.each([
  [{ 'verify-level': 'deep' }, 'verify-level', 'or none'],
  [{ 'verify-subset': '9/3' }, 'verify-subset', 'n/t'],
  [{ 'keep-last': 'some' }, 'keep-last', ''],
  [{ 'max-age': '0h' }, 'max-age', 'zero'],
  [{ 'encryption-identity': 'not-a-key' }, 'encryption-identity', ''],
  [{ concurrency: '0' }, 'concurrency', ''],
  // A real age public key (of no identity anyone holds): restore-level proof needs the identity.
  [
    {
      'verify-level': 'restore',
      'encryption-recipients': 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p',
    },
    'encryption-identity',
    'verify-level read-data',
  ],
])('bad input %j fails before anything is written, naming the input', async (inputs, input, hint) => {
  const before = await listed();
  const run = await oneStep({ force: 'true', ...inputs });
  expect(run.exitCode).toBe(1);
  expect(run.errors).toHaveLength(1);
  expect(run.errors[0]).toContain(`Input "${input}"`);
  expect(run.errors[0]).toContain(hint);
  expect(run.stderr + run.stdout).not.toMatch(/\n\s+at /);
  expect(await listed()).toEqual(before);
});
