import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRichRepository, tempDir } from '../support/fixtures.js';
import { readZip, startArtifactService, type ArtifactService } from '../support/artifact-service.js';
import { runAction } from '../support/run-action.js';

// Every bundled action writes a structured run log; in Actions it is uploaded with the real
// @actions/artifact client (here to a local results service + Azurite), elsewhere it stays on disk.
let service: ArtifactService;
let work: string;
let repository: string;

beforeAll(async () => {
  work = tempDir();
  repository = createRichRepository(path.join(work, 'app'));
  service = await startArtifactService();
});

afterAll(async () => {
  await service?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

test('the backup run log is uploaded as an artifact: JSON lines with the repository record, no secret', async () => {
  const token = 'ghs_NeverInTheRunLog123456';
  const run = await runAction(
    'actions/backup',
    { destination: path.join(work, 'store'), repositories: repository, token },
    { env: service.env },
  );
  expect(run.errors).toEqual([]);
  const uploaded = /run log uploaded as artifact (\S+)/.exec(run.stdout)?.[1];
  expect(uploaded).toBeDefined();
  const [entry] = readZip(await service.download(uploaded!));
  const lines = entry.data
    .toString('utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  const backup = lines.find((line) => line.step === 'backup');
  expect(backup).toMatchObject({ repository, outcome: 'created', action: 'backup' });
  expect(backup.bytes).toBeGreaterThan(0);
  expect(typeof backup.durationMs).toBe('number');
  expect(lines.at(-1)).toMatchObject({ step: 'backup', outcome: 'ok' });
  expect(entry.data.toString('utf8')).not.toContain(token);
});

test('outside Actions (no results service) the log stays on disk and the step says where', async () => {
  const run = await runAction('actions/verify', { destination: path.join(work, 'store') });
  expect(run.errors).toEqual([]);
  const file = /run log: (\S+\.jsonl)/.exec(run.stdout)?.[1];
  expect(file && fs.existsSync(file)).toBe(true);
  const lines = fs
    .readFileSync(file!, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  expect(lines.some((line) => line.step === 'verify read-data' && line.outcome === 'ok')).toBe(true);
});

test('bad log inputs name the input', async () => {
  const run = await runAction('actions/verify', {
    destination: path.join(work, 'store'),
    'log-retention-days': '365',
  });
  expect(run.exitCode).toBe(1);
  expect(run.errors).toHaveLength(1);
  expect(run.errors[0]).toContain('Input "log-retention-days"');
});
