import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRichRepository, objectsOf, tempDir } from '../support/fixtures.js';
import { runAction } from '../support/run-action.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';
import { s3Client } from '../support/helpers.js';

// Client-side encryption end to end through the bundled actions: the backup job holds only the public
// key; restore and the restore level of verify need the identity; read-data does not (hashes cover the
// stored, encrypted bytes).
let s3: S3Server;
let work: string;
let source: string;
let identity: string;
let recipient: string;
let client: S3Client;

beforeAll(async () => {
  work = tempDir();
  source = createRichRepository(path.join(work, 'secret-project'));
  s3 = await startS3Server({ buckets: ['backups'] });
  client = s3Client(s3);
  identity = await generateIdentity();
  recipient = await identityToRecipient(identity);
  const backup = await action('actions/backup', { repositories: source, 'encryption-recipients': recipient });
  expect(backup.errors).toEqual([]);
});

afterAll(async () => {
  client?.destroy();
  await s3?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

function action(dir: string, inputs: Record<string, string>) {
  return runAction(
    dir,
    { destination: 's3://backups/enc', endpoint: s3.endpoint, ...inputs },
    { env: { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey } },
  );
}

test('parts are stored as age files and the manifest says so, with the public key only', async () => {
  const page = await client.send(new ListObjectsV2Command({ Bucket: 'backups', Prefix: 'enc/' }));
  const keys = page.Contents!.map((object) => object.Key!);
  // Format 2: the pack (and its index) in the repository's pack folder, as age files.
  const bundleKey = keys.find((key) => /\/packs\/git\/.*\/pack-[0-9a-f]{40}\.pack\.age$/.test(key))!;
  expect(bundleKey).toBeDefined();
  expect(keys).toContain(bundleKey.replace(/\.pack\.age$/, '.idx.age'));
  const bundle = await (
    await client.send(new GetObjectCommand({ Bucket: 'backups', Key: bundleKey }))
  ).Body!.transformToByteArray();
  expect(Buffer.from(bundle.subarray(0, 21)).toString()).toBe('age-encryption.org/v1');
  expect(Buffer.from(bundle).includes(Buffer.from('refs/heads/trunk'))).toBe(false);
  const manifestKey = keys.find((key) => key.endsWith('/manifest.json'))!;
  const manifest = await (
    await client.send(new GetObjectCommand({ Bucket: 'backups', Key: manifestKey }))
  ).Body!.transformToString();
  for (const part of JSON.parse(manifest).parts) {
    expect(part.encryption).toEqual({
      scheme: 'age',
      version: 'age-encryption.org/v1',
      recipients: [recipient],
    });
  }
  expect(manifest).not.toContain('AGE-SECRET-KEY');
});

test('restore with the identity gives the repository back; without it, one clear error', async () => {
  const target = path.join(work, 'restored.git');
  const missing = await action('actions/restore', { repository: source, target });
  expect(missing.exitCode).toBe(1);
  expect(missing.errors).toHaveLength(1);
  expect(missing.errors[0]).toMatch(/Input "encryption-identity": .* is encrypted \(age\)/);
  expect(fs.existsSync(target)).toBe(false);

  const run = await action('actions/restore', {
    repository: source,
    target,
    'encryption-identity': `# key\n${identity}\n`,
  });
  expect(run.errors).toEqual([]);
  expect(objectsOf(target)).toBe(objectsOf(source));
  // Registered with the runner for masking (a command it consumes), and printed nowhere else.
  const lines = run.stdout.split('\n');
  expect(lines).toContain(`::add-mask::${identity}`);
  expect(lines.filter((line) => !line.startsWith('::add-mask::')).join('\n')).not.toContain(identity);
});

test('verify: read-data without the identity, restore level with it; a wrong identity fails', async () => {
  expect((await action('actions/verify', { level: 'read-data' })).outputs.ok).toBe('true');
  const restoreLevel = await action('actions/verify', { level: 'restore', 'encryption-identity': identity });
  expect(restoreLevel.errors).toEqual([]);
  expect(restoreLevel.outputs.ok).toBe('true');
  const wrong = await action('actions/verify', {
    level: 'restore',
    'encryption-identity': await generateIdentity(),
  });
  expect(wrong.outputs.ok).toBe('false');
  expect(wrong.errors.join('\n')).toMatch(/no identity matched/);
});
