import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRichRepository, tempDir } from '../support/fixtures.js';
import { type GitHubApi, startGitHubApi } from '../support/github-api.js';
import { runAction } from '../support/run-action.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';

// The bundled report and open-issue-on-failure actions, against a real S3 server and a local server
// speaking the GitHub REST API (the engine's own tests cover the cases in depth).
let s3: S3Server;
let api: GitHubApi;
let work: string;
let repository: string;

beforeAll(async () => {
  work = tempDir();
  repository = createRichRepository(path.join(work, 'app'));
  s3 = await startS3Server({ buckets: ['backups'] });
  api = await startGitHubApi({ tokens: { ghs_issues_write_token: 'write' } });
  const backup = await storage('actions/backup', { repositories: repository });
  expect(backup.errors).toEqual([]);
});

afterAll(async () => {
  await s3?.stop();
  await api?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

function storage(dir: string, inputs: Record<string, string>) {
  return runAction(
    dir,
    { destination: 's3://backups/r', endpoint: s3.endpoint, ...inputs },
    { env: { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey } },
  );
}

test('report: fresh backups pass; an expected repository never backed up fails, named', async () => {
  const fresh = await storage('actions/report', {});
  expect(fresh.errors).toEqual([]);
  expect(fresh.exitCode).toBe(0);
  expect(fresh.outputs.stale).toBe('0');
  expect(JSON.parse(fs.readFileSync(fresh.outputs.json, 'utf8')).counts).toMatchObject({
    units: 1,
    fresh: 1,
  });
  expect(fresh.summary).toMatch(/^## ✅/m);

  const missing = await storage('actions/report', { repositories: `${repository}\nocto/never-backed-up` });
  expect(missing.exitCode).toBe(1);
  expect(missing.outputs.stale).toBe('1');
  expect(missing.errors).toHaveLength(1);
  expect(missing.errors[0]).toContain('github.com/octo/never-backed-up');
  expect(missing.summary).toContain('1 never backed up');
});

test('open-issue-on-failure: create, comment on a repeat failure, close on recovery', async () => {
  const run = (status: string) =>
    runAction(
      'actions/open-issue-on-failure',
      { status },
      {
        env: {
          GITHUB_API_URL: api.url,
          GITHUB_WORKFLOW: 'Nightly backup',
          GITHUB_RUN_ID: '42',
          GITHUB_SERVER_URL: 'https://github.com',
        },
        context: { repository: 'octo/app', token: 'ghs_issues_write_token' },
      },
    );
  const created = await run('failure');
  expect(created.errors).toEqual([]);
  expect(created.outputs.action).toBe('created');
  const again = await run('failure');
  expect(again.outputs).toMatchObject({
    action: 'commented',
    'issue-number': created.outputs['issue-number'],
  });
  expect(api.issues('octo/app').filter((issue) => issue.state === 'open')).toHaveLength(1);
  const recovered = await run('success');
  expect(recovered.outputs.action).toBe('closed');
  expect(api.issues('octo/app').every((issue) => issue.state === 'closed')).toBe(true);
});
