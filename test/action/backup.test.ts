import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  createEmptyRepository,
  createRichRepository,
  deterministicBytes,
  git,
  objectsOf,
  readTree,
  refsOf,
  tempDir,
} from '../support/fixtures.js';
import { startGitHttpServer, type GitHttpServer } from '../support/git-http-server.js';
import { runAction, runCli } from '../support/run-action.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';
import { s3Client } from '../support/helpers.js';

// The bundled backup action (dist/), run as the runner runs it, against a real S3-protocol server and
// a real git smart-HTTP server that, like GitHub, wants a token. Nothing is mocked.
const TOKEN = 'ghs_TestToken0123456789abcdef';
const SECRET_KEY = 'Sup3rSecretAccessKey-do-not-leak';
let s3: S3Server;
let gitServer: GitHttpServer;
let work: string;
let client: S3Client;

beforeAll(async () => {
  work = tempDir();
  const served = path.join(work, 'served');
  const rich = createRichRepository(path.join(work, 'rich'));
  git(work, 'clone', '--quiet', '--mirror', rich, path.join(served, 'octo', 'rich.git'));
  git(work, 'clone', '--quiet', '--mirror', rich, path.join(served, 'octo', 'other.git'));
  createEmptyRepository(path.join(served, 'octo', 'empty.git'));
  // Large enough that its bundle goes up in several multipart parts.
  const large = createEmptyRepository(path.join(work, 'large'));
  fs.writeFileSync(path.join(large, 'large.bin'), deterministicBytes(40 * 1024 * 1024, 'large'));
  git(large, 'add', '.');
  git(large, 'commit', '--quiet', '-m', 'large file');
  git(work, 'clone', '--quiet', '--mirror', large, path.join(served, 'octo', 'large.git'));
  s3 = await startS3Server({ secretAccessKey: SECRET_KEY, buckets: ['backups', 'octo-backups'] });
  gitServer = await startGitHttpServer({
    root: served,
    token: TOKEN,
    otherCredentials: ['user:UrlPassw0rd-secret', 'UserOnlyT0ken-secret:'],
  });
  client = s3Client(s3, SECRET_KEY);
});

afterAll(async () => {
  client?.destroy();
  await s3?.stop();
  await gitServer?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

function storageEnv(): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: SECRET_KEY,
    AWS_REGION: 'us-east-1',
    GITHUB_SERVER_URL: gitServer.url,
  };
}

function backup(inputs: Record<string, string>, env: Record<string, string> = {}) {
  return runAction(
    'actions/backup',
    { endpoint: s3.endpoint, ...inputs },
    { env: { ...storageEnv(), ...env }, context: { repository: 'octo/rich', token: TOKEN } },
  );
}

/** How the git server's host appears in stored names (`127.0.0.1_<port>`). */
const storedHost = () => new URL(gitServer.url).host.replace(':', '_');

/** Disaster recovery from the terminal: the bundled CLI restores from the bucket. */
function restoreWithCli(prefix: string, repository: string, target: string) {
  const host = storedHost();
  const args = ['restore', '--to', `s3://backups/${prefix}`, '--endpoint', s3.endpoint, '--target', target];
  return runCli([...args, '--repo', `${host}/${repository}`], storageEnv());
}

async function keys(bucket: string, prefix = ''): Promise<string[]> {
  const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (page.Contents ?? []).map((object) => object.Key!).sort();
}

async function objectText(bucket: string, key: string): Promise<string> {
  const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return response.Body!.transformToString();
}

test('backs up several repositories over HTTP with a token, then restores one from S3 with the CLI', async () => {
  const run = await backup({
    destination: 's3://backups/github',
    repositories: 'octo/rich\nocto/empty\nocto/other',
    concurrency: '2',
  });
  expect(run.errors).toEqual([]);
  expect(run.exitCode).toBe(0);
  expect(run.outputs.updated).toBe('true');
  const ids = JSON.parse(run.outputs['snapshot-ids']) as string[];
  expect(ids).toHaveLength(3);
  const results = JSON.parse(run.outputs.results) as Array<Record<string, unknown>>;
  expect(results.map((r) => [r.repository, r.status, r.refs])).toEqual([
    ['octo/rich', 'created', 5],
    ['octo/empty', 'created', 0],
    ['octo/other', 'created', 5],
  ]);
  expect(Number(run.outputs['bytes-uploaded'])).toBeGreaterThan(2 * 3 * 1024 * 1024);
  expect(run.summary).toContain('| octo/rich | ✅ new snapshot |');

  const host = storedHost();
  const stored = await keys('backups', 'github/');
  const manifest = JSON.parse(
    await objectText('backups', `github/git/${host}/octo/rich/${results[0].snapshotId}/manifest.json`),
  );
  // Format 2: a manifest per snapshot, one pack and its index per repository with refs (an empty
  // repository has no pack), in the repository's pack folder.
  const packs = (manifest.parts as Array<{ name: string }>).map((part) => part.name).sort();
  expect(packs).toEqual([
    expect.stringMatching(/^pack-[0-9a-f]{40}\.idx$/),
    expect.stringMatching(/^pack-[0-9a-f]{40}\.pack$/),
  ]);
  expect(stored).toEqual(
    expect.arrayContaining([
      `github/git/${host}/octo/rich/${results[0].snapshotId}/manifest.json`,
      ...packs.map((name) => `github/packs/git/${host}/octo/rich/${name}`),
      `github/git/${host}/octo/empty/${results[1].snapshotId}/manifest.json`,
    ]),
  );
  expect(stored).toHaveLength(7);
  expect(manifest).toMatchObject({
    formatVersion: 2,
    url: `${gitServer.url}/octo/rich.git`,
    git: { head: 'refs/heads/trunk' },
  });

  // The token went only as a header, never in a URL.
  expect(gitServer.requests.length).toBeGreaterThan(0);
  expect(gitServer.requests.every((request) => !request.url.includes(TOKEN))).toBe(true);

  // Disaster recovery from the terminal: restore from the bucket, compare with the source.
  const target = path.join(work, 'restored-from-s3');
  const restore = await restoreWithCli('github', 'octo/rich', target);
  expect(restore.errors).toEqual([]);
  expect(restore.exitCode).toBe(0);
  const source = path.join(work, 'served', 'octo', 'rich.git');
  expect(refsOf(target)).toBe(refsOf(source));
  expect(objectsOf(target)).toBe(objectsOf(source));
  git(target, 'fsck', '--full');

  // The next run finds nothing new and uploads nothing.
  const again = await backup({
    destination: 's3://backups/github',
    repositories: 'octo/rich\nocto/empty\nocto/other',
  });
  expect(again.exitCode).toBe(0);
  expect(again.outputs).toMatchObject({ updated: 'false', 'bytes-uploaded': '0', 'snapshot-ids': '[]' });
  expect(await keys('backups', 'github/')).toHaveLength(7);
});

test('a bundle of several multipart parts backs up and restores byte for byte', async () => {
  const run = await backup({ destination: 's3://backups/large', repositories: 'octo/large' });
  expect(run.errors).toEqual([]);
  expect(Number(run.outputs['bytes-uploaded'])).toBeGreaterThan(40 * 1024 * 1024);
  const target = path.join(work, 'restored-large');
  const restore = await restoreWithCli('large', 'octo/large', target);
  expect(restore.errors).toEqual([]);
  expect(objectsOf(target)).toBe(objectsOf(path.join(work, 'served', 'octo', 'large.git')));
});

test('placeholders and r2:// addressing: one bucket per owner, region auto', async () => {
  const run = await backup({ destination: 'r2://{owner}-backups/{repo}', repositories: 'octo/other' });
  expect(run.errors).toEqual([]);
  expect(run.exitCode).toBe(0);
  const stored = await keys('octo-backups', 'other/');
  expect(stored.filter((key) => key.endsWith('/manifest.json'))).toHaveLength(1);
});

test('secrets appear nowhere the run writes: logs, outputs, summary, manifests, bundles, mirrors', async () => {
  const run = await backup({
    destination: 's3://backups/leak-check',
    repositories: [
      'octo/rich',
      `${gitServer.url.replace('http://', 'http://user:UrlPassw0rd-secret@')}/octo/other.git`,
      `${gitServer.url.replace('http://', 'http://UserOnlyT0ken-secret@')}/octo/empty.git`,
    ].join('\n'),
    'access-key-id': s3.accessKeyId,
    'secret-access-key': SECRET_KEY,
  });
  expect(run.errors).toEqual([]);
  const secrets = [
    TOKEN,
    SECRET_KEY,
    'UrlPassw0rd-secret',
    'UserOnlyT0ken-secret',
    Buffer.from(`x-access-token:${TOKEN}`).toString('base64'),
  ];
  const statuses = (JSON.parse(run.outputs.results) as Array<{ status: string }>).map((r) => r.status);
  expect(statuses).toEqual(['created', 'created', 'created']);
  // `::add-mask::` lines are commands the runner consumes (never shown): every secret must have one.
  const masked = run.stdout.split('\n').filter((line) => line.startsWith('::add-mask::'));
  for (const secret of secrets) expect(masked).toContain(`::add-mask::${secret}`);
  const log = run.stdout
    .split('\n')
    .filter((line) => !line.startsWith('::add-mask::'))
    .join('\n');
  const written = [
    { file: 'stdout', content: Buffer.from(log) },
    { file: 'stderr', content: Buffer.from(run.stderr) },
    { file: 'outputs', content: Buffer.from(JSON.stringify(run.outputs)) },
    { file: 'summary', content: Buffer.from(run.summary) },
    ...readTree(run.runnerTemp),
  ];
  for (const key of await keys('backups', 'leak-check/')) {
    const response = await client.send(new GetObjectCommand({ Bucket: 'backups', Key: key }));
    written.push({ file: key, content: Buffer.from(await response.Body!.transformToByteArray()) });
  }
  expect(written.some(({ file }) => file.endsWith('config'))).toBe(true); // the mirrors' git config was read
  for (const { file, content } of written) {
    for (const secret of secrets) {
      if (content.includes(secret)) throw new Error(`${file} contains a secret`);
    }
  }
});

describe('bad input: one ::error:: naming the input, exit 1, no manifest written', () => {
  test.each([
    ['unknown scheme', { destination: 'gs://backups/x' }, {}, 'destination', /unknown scheme/],
    [
      'bucket missing',
      { destination: 's3://no-such-bucket/x' },
      {},
      'destination',
      /bucket "no-such-bucket" does not exist/,
    ],
    [
      'wrong credentials',
      {},
      { AWS_SECRET_ACCESS_KEY: 'wrong-secret' },
      'access-key-id',
      /rejected the credentials/,
    ],
    ['unknown access key', {}, { AWS_ACCESS_KEY_ID: 'AKIAUNKNOWN' }, 'access-key-id', /InvalidAccessKeyId/],
    ['unreachable endpoint', { endpoint: 'http://127.0.0.1:1' }, {}, 'endpoint', /cannot reach the storage/],
    ['repository not found', { repositories: 'octo/missing' }, {}, 'repositories', /was not found/],
    [
      'token without access',
      { repositories: 'octo/rich', token: 'ghs_wrong_token_0000' },
      {},
      'repositories',
      /denied.*input "token"/,
    ],
    ['no token', { repositories: 'octo/rich', token: '' }, {}, 'repositories', /denied|not found/],
    ['invalid concurrency', { concurrency: '0' }, {}, 'concurrency', /whole number from 1 to 64/],
    [
      'invalid repository URL',
      { repositories: 'https://exa mple.com/x.git' },
      {},
      'repositories',
      /not a valid URL/,
    ],
    ['endpoint with a space', { endpoint: 'http://127.0.0.1:9 x' }, {}, 'endpoint', /not an http\(s\) URL/],
    [
      'unwritable mirror-dir',
      { 'mirror-dir': '/dev/null/mirrors' },
      {},
      'mirror-dir',
      /cannot be created or written/,
    ],
    ['file URL with a host', { destination: 'file://host/x' }, {}, 'destination', /not a local file URL/],
    [
      'placeholder giving a short bucket',
      { destination: 's3://{repo}/x', repositories: 'octo/ab' },
      {},
      'destination',
      /for octo\/ab, s3:\/\/ab\/x: "ab" is not a valid bucket name/,
    ],
    [
      'invalid r2 account',
      { destination: 'r2://backups/x', endpoint: '', 'r2-account-id': 'nope' },
      {},
      'r2-account-id',
      /32 hexadecimal/,
    ],
  ])('%s', async (_, inputs, env, input, message) => {
    const prefix = `bad-${input}-${Math.random().toString(16).slice(2)}`;
    const run = await backup(
      { destination: `s3://backups/${prefix}`, repositories: 'octo/rich', ...inputs },
      env,
    );
    expect(run.exitCode).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toContain(`Input "${input}"`);
    expect(run.errors[0]).toMatch(message);
    expect(run.stdout + run.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/); // no stack trace
    expect((await keys('backups', `${prefix}/`)).filter((key) => key.endsWith('manifest.json'))).toEqual([]);
  });
});

test('one failing repository: the others are backed up, the step fails naming it', async () => {
  const run = await backup({
    destination: 's3://backups/partial',
    repositories: 'octo/rich\nocto/missing\nocto/other',
  });
  expect(run.exitCode).toBe(1);
  expect(run.errors).toHaveLength(1);
  expect(run.errors[0]).toMatch(/octo\/missing: Input "repositories": cannot read octo\/missing/);
  const results = JSON.parse(run.outputs.results) as Array<{ status: string }>;
  expect(results.map((r) => r.status)).toEqual(['created', 'failed', 'created']);
  expect((await keys('backups', 'partial/')).filter((key) => key.endsWith('manifest.json'))).toHaveLength(2);
  expect(run.summary).toContain('❌ Backup: 1 of 3 repositories failed');
});
