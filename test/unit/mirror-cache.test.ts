import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { restoreMirror, saveMirror } from '../../src/git/mirror-cache.js';
import { mirrorPath, readRefs, updateMirror } from '../../src/git/mirror.js';
import { resolveSource, type Source } from '../../src/git/source.js';
import { startCacheService, type CacheService } from '../support/cache-service.js';

// The real @actions/cache client against a local fake of the Actions cache service (Twirp + Azurite).

const gitEnv = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
};

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: gitEnv, encoding: 'utf8' });
}

function commit(repo: string, file: string, text: string): void {
  fs.writeFileSync(path.join(repo, file), text);
  git(repo, 'add', file);
  git(repo, 'commit', '--quiet', '-m', `${file}: ${text}`);
}

/** Everything a restored mirror must reproduce: every ref, its object and type, and HEAD. */
function refListing(dir: string): string {
  return git(dir, 'for-each-ref') + 'HEAD -> ' + git(dir, 'symbolic-ref', 'HEAD');
}

function fsck(dir: string): { status: number | null; output: string } {
  const result = spawnSync('git', ['fsck', '--full', '--strict', '--no-progress'], {
    cwd: dir,
    env: gitEnv,
    encoding: 'utf8',
  });
  return { status: result.status, output: result.stdout + result.stderr };
}

let service: CacheService;
let savedEnv: Record<string, string | undefined>;
let tmp: string;
let work: string;
let source: Source;
let mirror: string;
let firstListing: string;

// @actions/core writes ::debug::, ::add-mask:: and progress lines to stdout; keep them out of the
// test output, but look at them: a clean save or restore must not raise a warning or an error.
let stdout: string[] = [];
const realWrite = process.stdout.write;
const problems = () => stdout.filter((line) => /^::(warning|error)/m.test(line));

/** What backup.ts does for one repository, cache-wise. */
async function backupOnce(): Promise<boolean> {
  const restoredKey = await restoreMirror(source, mirror);
  await updateMirror(source, mirror, { serverUrl: 'https://github.com' });
  await saveMirror(source, mirror, await readRefs(mirror), restoredKey);
  return restoredKey !== undefined;
}

beforeAll(async () => {
  service = await startCacheService();
  // The cache client reads these at call time, so setting them here is enough.
  savedEnv = Object.fromEntries(Object.keys(service.env).map((name) => [name, process.env[name]]));
  Object.assign(process.env, service.env);

  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mirror-cache-test-'));
  work = path.join(tmp, 'work');
  fs.mkdirSync(work);
  git(work, 'init', '--quiet', '--initial-branch=trunk');
  commit(work, 'README.md', 'one');
  git(work, 'tag', '-a', 'v1', '-m', 'release one');
  git(work, 'branch', 'feature/nested');
  commit(work, 'README.md', 'two');
  git(work, 'tag', 'light');

  source = resolveSource(work, 'https://github.com');
  mirror = mirrorPath(path.join(tmp, 'mirrors'), source);
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
  stdout = [];
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout.push(chunk.toString());
    return true;
  }) as typeof process.stdout.write;
});

afterEach(() => {
  process.stdout.write = realWrite;
});

test('without the cache service (CLI) nothing is restored or saved', async () => {
  const url = process.env.ACTIONS_RESULTS_URL;
  delete process.env.ACTIONS_RESULTS_URL;
  try {
    expect(await restoreMirror(source, mirror)).toBeUndefined();
  } finally {
    process.env.ACTIONS_RESULTS_URL = url;
  }
  expect(service.entries()).toEqual([]);
});

test('a saved mirror comes back identical after the folder is gone', async () => {
  expect(await backupOnce()).toBe(false); // empty cache: a full clone
  expect(service.entries()).toHaveLength(1);
  expect(service.entries()[0].key).toMatch(/^backup-action-mirror-v1-[0-9a-f]{16}-[0-9a-f]{16}$/);
  firstListing = refListing(mirror);
  expect(firstListing).toContain('refs/tags/v1');

  fs.rmSync(mirror, { recursive: true, force: true });
  expect(await restoreMirror(source, mirror)).toMatch(/^backup-action-mirror-v1-/);
  expect(refListing(mirror)).toBe(firstListing);
  expect(fsck(mirror)).toEqual({ status: 0, output: '' });
  expect(problems()).toEqual([]);
});

test('saving an unchanged mirror again adds no entry and warns nothing', async () => {
  const restoredKey = service.entries()[0].key;
  stdout = [];
  await saveMirror(source, mirror, await readRefs(mirror), restoredKey);
  expect(stdout.join('')).not.toContain('Unable to reserve cache'); // not even tried
  await saveMirror(source, mirror, await readRefs(mirror));
  expect(service.entries()).toHaveLength(1);
  // The service answered 409 already_exists; the client reports that at info level only.
  expect(stdout.join('')).toContain('Failed to save: Unable to reserve cache');
  expect(problems()).toEqual([]);
});

test('another source does not get this mirror', async () => {
  const other = resolveSource('octo/other', 'https://github.com');
  const dir = mirrorPath(path.join(tmp, 'mirrors'), other);
  expect(await restoreMirror(other, dir)).toBeUndefined();
  expect(fs.existsSync(dir)).toBe(false);
});

test('the same source restored into another folder misses (the cache version hashes the path)', async () => {
  const dir = path.join(tmp, 'elsewhere', 'mirror.git');
  expect(await restoreMirror(source, dir)).toBeUndefined();
  expect(fs.existsSync(dir)).toBe(false);
});

test('after a second, changed save the newest mirror is restored', async () => {
  commit(work, 'README.md', 'three');
  git(work, 'branch', '-D', 'feature/nested');
  git(work, 'branch', 'next');

  fs.rmSync(mirror, { recursive: true, force: true }); // a fresh runner
  expect(await backupOnce()).toBe(true); // restored the first entry, then fetched what is new
  const secondListing = refListing(mirror);
  expect(secondListing).not.toBe(firstListing);
  expect(secondListing).toContain('refs/heads/next');
  expect(secondListing).not.toContain('refs/heads/feature/nested');
  expect(service.entries()).toHaveLength(2);

  fs.rmSync(mirror, { recursive: true, force: true });
  expect(await restoreMirror(source, mirror)).toMatch(/^backup-action-mirror-v1-/);
  expect(refListing(mirror)).toBe(secondListing);
  expect(fsck(mirror)).toEqual({ status: 0, output: '' });
  expect(problems()).toEqual([]);
});
