import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRichRepository, tempDir } from '../support/fixtures.js';
import { runAction, runCli } from '../support/run-action.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';
import { s3Client } from '../support/helpers.js';

// The bundled verify action (and CLI) against a real S3-protocol server, after real backups.
let s3: S3Server;
let work: string;
let client: S3Client;

beforeAll(async () => {
  work = tempDir();
  for (const name of ['alpha', 'bravo']) createRichRepository(path.join(work, name));
  s3 = await startS3Server({ buckets: ['backups'] });
  client = s3Client(s3);
  const backup = await action('actions/backup', { repositories: `${work}/alpha\n${work}/bravo` });
  expect(backup.errors).toEqual([]);
});

afterAll(async () => {
  client?.destroy();
  await s3?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

const env = () => ({ AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey });

function action(dir: string, inputs: Record<string, string>) {
  return runAction(dir, { destination: 's3://backups/v', endpoint: s3.endpoint, ...inputs }, { env: env() });
}

test('a healthy destination passes at every level', async () => {
  for (const level of ['manifest', 'read-data', 'restore']) {
    const run = await action('actions/verify', { level });
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.outputs).toMatchObject({ ok: 'true', checked: '2', failed: '0' });
    expect(run.summary).toContain(`✅ Verify (${level}): 2 snapshots proven`);
  }
});

test('a flipped byte fails read-data with one error naming repository, snapshot and part', async () => {
  const page = await client.send(
    new ListObjectsV2Command({ Bucket: 'backups', Prefix: 'v/git/local/alpha/' }),
  );
  const manifestKey = page.Contents!.map((object) => object.Key!).find((k) => k.endsWith('manifest.json'))!;
  const manifest = JSON.parse(
    await (
      await client.send(new GetObjectCommand({ Bucket: 'backups', Key: manifestKey }))
    ).Body!.transformToString(),
  );
  // Format 2: the snapshot's pack, in the repository's pack folder.
  const pack = manifest.parts.find((part: { type: string }) => part.type === 'git-pack').name as string;
  const key = `v/packs/git/local/alpha/${pack}`;
  const body = Buffer.from(
    await (
      await client.send(new GetObjectCommand({ Bucket: 'backups', Key: key }))
    ).Body!.transformToByteArray(),
  );
  body[Math.floor(body.length / 2)] ^= 0x01;
  await client.send(new PutObjectCommand({ Bucket: 'backups', Key: key, Body: body }));

  const manifestLevel = await action('actions/verify', { level: 'manifest' });
  expect(manifestLevel.exitCode).toBe(0); // sizes still match: only reading the data can tell

  const run = await action('actions/verify', { level: 'read-data' });
  expect(run.exitCode).toBe(1);
  expect(run.errors).toHaveLength(1);
  const id = manifestKey.split('/').at(-2)!;
  expect(run.errors[0]).toContain(`local/alpha ${id} ${pack}`);
  expect(run.errors[0]).toMatch(/sha256/);
  expect(run.outputs).toMatchObject({ ok: 'false', checked: '2', failed: '1' });

  const cli = await runCli(
    ['verify', '--to', 's3://backups/v', '--endpoint', s3.endpoint, '--repo', 'local/bravo'],
    env(),
  );
  expect(cli.exitCode).toBe(0); // the healthy repository alone passes
  expect(cli.stdout).toMatch(/^ok +local\/bravo /m);
});

test.each([
  [{ level: 'deep' }, 'level'],
  [{ subset: '4/3' }, 'subset'],
  [{ snapshot: 'newest' }, 'snapshot'],
])('bad input %j names the input', async (inputs, input) => {
  const run = await action('actions/verify', inputs);
  expect(run.exitCode).toBe(1);
  expect(run.errors).toHaveLength(1);
  expect(run.errors[0]).toContain(`Input "${input}"`);
});
