import { generateIdentity, identityToRecipient } from 'age-encryption';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../support/fixtures.js';
import { runAction, runCli } from '../support/run-action.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';

// The bundled snapshot action (files) and the restore action's file path, against a real S3 server.
let s3: S3Server;
let work: string;
let workspace: string;

beforeAll(async () => {
  work = tempDir();
  workspace = path.join(work, 'workspace');
  fs.mkdirSync(path.join(workspace, 'dump', 'empty'), { recursive: true });
  fs.writeFileSync(path.join(workspace, 'dump', 'db.sql'), 'CREATE TABLE t (id int);\n'.repeat(1000));
  fs.writeFileSync(path.join(workspace, 'dump', 'scratch.tmp'), 'not wanted');
  fs.writeFileSync(path.join(workspace, 'dump', 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  fs.symlinkSync('db.sql', path.join(workspace, 'dump', 'latest.sql'));
  s3 = await startS3Server({ buckets: ['backups'] });
});

afterAll(async () => {
  await s3?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

const env = () => ({ AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey });

function action(dir: string, inputs: Record<string, string>) {
  return runAction(
    dir,
    { destination: 's3://backups/f', endpoint: s3.endpoint, ...inputs },
    { env: env(), workspace, context: { repository: 'octo/app' } },
  );
}

test('files round-trip: excludes, symlinks, modes and empty folders; encrypted with age', async () => {
  const identity = await generateIdentity();
  const snap = await action('actions/snapshot', {
    name: 'db-dumps',
    path: 'dump/\n!dump/*.tmp',
    'encryption-recipients': await identityToRecipient(identity),
  });
  expect(snap.errors).toEqual([]);
  expect(snap.exitCode).toBe(0);
  expect(snap.outputs.files).toBe('5'); // dump/, db.sql, empty/, run.sh, latest.sql
  expect(snap.summary).toContain('✅ Snapshot');

  const target = path.join(work, 'restored');
  const run = await action('actions/restore', { name: 'db-dumps', target, 'encryption-identity': identity });
  expect(run.errors).toEqual([]);
  expect(run.outputs.refs).toBe('5');
  const dump = path.join(target, 'dump');
  expect(fs.readFileSync(path.join(dump, 'db.sql'), 'utf8')).toBe(
    fs.readFileSync(path.join(workspace, 'dump', 'db.sql'), 'utf8'),
  );
  expect(fs.existsSync(path.join(dump, 'scratch.tmp'))).toBe(false);
  expect(fs.readlinkSync(path.join(dump, 'latest.sql'))).toBe('db.sql');
  expect(fs.statSync(path.join(dump, 'run.sh')).mode & 0o777).toBe(0o755);
  expect(fs.readdirSync(path.join(dump, 'empty'))).toEqual([]);

  const verify = await action('actions/verify', { level: 'restore', 'encryption-identity': identity });
  expect(verify.errors).toEqual([]);
  expect(verify.outputs.ok).toBe('true');

  const listed = await runCli(['list', '--to', 's3://backups/f', '--endpoint', s3.endpoint], env());
  expect(listed.stdout).toMatch(/^db-dumps \(files\)$/m);
});

test.each([
  [{ name: 'x', path: 'nothing-here/*' }, 'path', /matched no files/],
  [{ name: '../up', path: 'dump' }, 'name', /not a valid name/],
  [{ name: 'x', path: 'dump', compression: 'lzma' }, 'compression', /not one of zstd, gzip, none/],
])('bad input %j names the input', async (inputs, input, message) => {
  const run = await action('actions/snapshot', inputs);
  expect(run.exitCode).toBe(1);
  expect(run.errors).toHaveLength(1);
  expect(run.errors[0]).toContain(`Input "${input}"`);
  expect(run.errors[0]).toMatch(message);
});
