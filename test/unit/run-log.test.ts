import { jest } from '@jest/globals';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { closeRunLog, record, runLogPath, startRunLog, type RunLogLine } from '../../src/log/run-log.js';
import { uploadRunLog } from '../../src/log/upload.js';
import { addSecret } from '../../src/util/secrets.js';
import {
  makeRuntimeToken,
  readZip,
  startArtifactService,
  type ArtifactService,
} from '../support/artifact-service.js';

// The run log itself, then its upload with the real @actions/artifact client against a local fake of
// the Actions artifact service (Twirp + Azurite).

const SECRET = 'ghp_s3cretTokenValue0123456789';
const SERVICE_ENV = [
  'ACTIONS_RESULTS_URL',
  'ACTIONS_RUNTIME_TOKEN',
  'GITHUB_SERVER_URL',
  'GITHUB_RETENTION_DAYS',
];

let service: ArtifactService;
let savedEnv: Record<string, string | undefined>;
let tmp: string;

// @actions/core (ours and the artifact client's) writes ::debug::, progress and ::warning:: lines to
// stdout; keep them out of the test output, but look at them.
let stdout: string[] = [];
const realWrite = process.stdout.write;
const problems = () => stdout.filter((line) => /^::(warning|error)/m.test(line));

function inActions(): void {
  Object.assign(process.env, service.env);
}

function outsideActions(): void {
  for (const name of SERVICE_ENV) delete process.env[name];
}

/** A closed run log with a few typical lines. */
async function writeLog(action: string): Promise<string> {
  startRunLog(action, path.join(tmp, 'logs'));
  record({ step: 'start', outcome: 'ok', message: `backup-action ${action}` });
  record({ repository: 'octo/hello', step: 'clone', bytes: 12345, durationMs: 812.4, outcome: 'ok' });
  record({ repository: 'octo/private', step: 'clone', outcome: 'failed', message: `fatal: bad ${SECRET}` });
  return closeRunLog();
}

beforeAll(async () => {
  addSecret(SECRET);
  savedEnv = Object.fromEntries(SERVICE_ENV.map((name) => [name, process.env[name]]));
  service = await startArtifactService();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'run-log-test-'));
});

afterAll(async () => {
  await service?.stop();
  for (const [name, value] of Object.entries(savedEnv ?? {})) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

beforeEach(() => {
  outsideActions();
  stdout = [];
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout.push(chunk.toString());
    return true;
  }) as typeof process.stdout.write;
});

afterEach(() => {
  process.stdout.write = realWrite;
});

describe('run log', () => {
  test('one valid JSON object per line, with time, action and the fields given', async () => {
    const before = Date.now();
    const file = startRunLog('backup', path.join(tmp, 'fields'));
    expect(runLogPath()).toBe(file);
    expect(path.basename(file)).toMatch(/^backup-action-backup-\d{8}T\d{9}Z\.jsonl$/);
    record({ step: 'start', outcome: 'ok' });
    record({ repository: 'octo/hello', step: 'clone', bytes: 2048, durationMs: 15.6, outcome: 'ok' });
    record({ repository: 'octo/gone', step: 'clone', outcome: 'skipped', message: 'line one\nline two' });
    record({ step: 'upload', outcome: 'failed', message: 'S3: "AccessDenied"', bytes: Number.NaN });
    expect(await closeRunLog()).toBe(file);
    expect(runLogPath()).toBeUndefined();

    const text = fs.readFileSync(file, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    const entries = lines.map((line) => JSON.parse(line) as RunLogLine);
    for (const entry of entries) {
      expect(entry.action).toBe('backup');
      expect(new Date(entry.time).toISOString()).toBe(entry.time);
      expect(Date.parse(entry.time)).toBeGreaterThanOrEqual(before - 1);
    }
    expect(entries.map((entry) => ({ ...entry, time: undefined }))).toEqual([
      { action: 'backup', step: 'start', outcome: 'ok' },
      {
        action: 'backup',
        repository: 'octo/hello',
        step: 'clone',
        bytes: 2048,
        durationMs: 16,
        outcome: 'ok',
      },
      {
        action: 'backup',
        repository: 'octo/gone',
        step: 'clone',
        outcome: 'skipped',
        message: 'line one\nline two',
      },
      { action: 'backup', step: 'upload', outcome: 'failed', message: 'S3: "AccessDenied"' },
    ]);
  });

  test('a secret registered with addSecret never reaches the file', async () => {
    const file = startRunLog('verify', path.join(tmp, 'secret'));
    record({
      repository: `https://x-access-token:${SECRET}@github.com/octo/hello`,
      step: `auth ${SECRET}`,
      outcome: `failed ${SECRET}`,
      message: `remote: invalid credentials ${SECRET}\n${SECRET}`,
    });
    await closeRunLog();
    const text = fs.readFileSync(file, 'utf8');
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(SECRET.slice(4)); // not even partly
    const entry = JSON.parse(text) as RunLogLine;
    expect(entry).toMatchObject({
      repository: 'https://x-access-token:***@github.com/octo/hello',
      step: 'auth ***',
      outcome: 'failed ***',
      message: 'remote: invalid credentials ***\n***',
    });
  });

  test('record without an open log does nothing; closing twice rejects', async () => {
    expect(() => record({ step: 'orphan', outcome: 'ok' })).not.toThrow();
    await expect(closeRunLog()).rejects.toThrow('No run log is open');
  });

  test('two logs started in the same millisecond get distinct files', async () => {
    const dir = path.join(tmp, 'same-ms');
    const fixed = new Date('2024-05-01T02:03:04.567Z');
    jest.useFakeTimers({
      now: fixed,
      doNotFake: ['setTimeout', 'setImmediate', 'nextTick', 'queueMicrotask'],
    });
    try {
      const first = startRunLog('prune', dir);
      const second = startRunLog('prune', dir); // closes the first
      await closeRunLog();
      expect(path.basename(first)).toBe('backup-action-prune-20240501T020304567Z.jsonl');
      expect(path.basename(second)).toBe('backup-action-prune-20240501T020304567Z-1.jsonl');
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('upload', () => {
  test('outside Actions nothing is uploaded and the file stays', async () => {
    const file = await writeLog('backup');
    const result = await uploadRunLog(file, { name: 'backup-log', retentionDays: 7 });
    expect(result).toEqual({ uploaded: false, path: file });
    expect(fs.existsSync(file)).toBe(true);
    expect(service.artifacts()).toEqual([]);
    expect(problems()).toEqual([]);
  });

  test('in Actions the real client uploads it; the stored zip holds the identical file', async () => {
    const file = await writeLog('backup');
    inActions();
    const started = Date.now();
    const result = await uploadRunLog(file, { name: 'backup-log', retentionDays: 7 });
    expect(problems()).toEqual([]);
    expect(result).toMatchObject({ uploaded: true, path: file });

    const [stored] = service.artifacts();
    expect(service.artifacts()).toHaveLength(1);
    expect(stored).toMatchObject({
      id: result.id,
      name: 'backup-log',
      mimeType: 'application/zip',
      size: result.size,
    });
    const days = (Date.parse(stored.expiresAt!) - started) / 86_400_000;
    expect(days).toBeGreaterThan(6.99);
    expect(days).toBeLessThan(7.01);

    const zip = await service.download(result.id!);
    expect(zip.length).toBe(result.size);
    const entries = readZip(zip);
    expect(entries.map((e) => e.name)).toEqual([path.basename(file)]);
    expect(entries[0].data.equals(fs.readFileSync(file))).toBe(true);
    expect(entries[0].data.toString('utf8')).not.toContain(SECRET);
    expect(fs.existsSync(file)).toBe(true); // uploading does not move it
  });

  test('a failed upload (name taken in this run) is a warning, not a failure', async () => {
    const file = await writeLog('backup');
    inActions();
    const result = await uploadRunLog(file, { name: 'backup-log', retentionDays: 7 }); // taken above
    expect(result).toEqual({ uploaded: false, path: file });
    expect(fs.existsSync(file)).toBe(true);
    const warnings = problems().join('');
    expect(warnings).toContain('Run log not uploaded as artifact "backup-log"');
    expect(warnings).toContain('already exists');
    expect(warnings).toContain(file);
    expect(service.artifacts()).toHaveLength(1);
  });

  test('a rejected runtime token is a warning, not a failure', async () => {
    const file = await writeLog('restore');
    inActions();
    process.env.ACTIONS_RUNTIME_TOKEN = makeRuntimeToken('other-run', 'other-job');
    const result = await uploadRunLog(file, { name: 'restore-log', retentionDays: 1 });
    expect(result).toEqual({ uploaded: false, path: file });
    expect(problems().join('')).toContain('(401) Unauthorized: missing or wrong runtime token');
    expect(service.artifacts()).toHaveLength(1);
  });

  test('on GitHub Enterprise Server it warns once and does not try', async () => {
    const file = await writeLog('verify');
    inActions();
    process.env.GITHUB_SERVER_URL = 'https://github.example.com';
    const result = await uploadRunLog(file, { name: 'verify-log', retentionDays: 1 });
    expect(result).toEqual({ uploaded: false, path: file });
    expect(problems()).toHaveLength(1);
    expect(problems()[0]).toContain('GitHub Enterprise Server');
    expect(service.artifacts()).toHaveLength(1);
  });
});
