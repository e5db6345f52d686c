import * as fs from 'node:fs';
import * as path from 'node:path';
import { commitFile, createRichRepository, git, refsOf, tempDir } from '../support/fixtures.js';
import { runCli } from '../support/run-action.js';

// The bundled CLI (dist/cli.js) against the local-folder store: backup, list, restore.
let work: string;
let repository: string;
let store: string;
const env = () => ({ XDG_CACHE_HOME: path.join(work, 'cache') });

beforeAll(() => {
  work = tempDir();
  repository = createRichRepository(path.join(work, 'project'));
  store = path.join(work, 'backups');
});

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

test('backup twice with a change between, list (text and JSON), restore latest, by id and by time', async () => {
  const first = await runCli(['backup', '--to', store, '--repo', repository, '--tags', 'manual'], env());
  expect(first.exitCode).toBe(0);
  expect(first.stdout).toMatch(/project: created \S+ \(3\.0 MiB uploaded\)/);
  const before = refsOf(repository);
  await new Promise((resolve) => setTimeout(resolve, 20)); // a distinct millisecond for --at below
  const between = new Date().toISOString();
  commitFile(repository, 'later.txt', 'later\n');
  expect((await runCli(['backup', '--to', store, '--repo', repository], env())).exitCode).toBe(0);

  const listing = await runCli(['list', '--to', store, '--json'], env());
  const snapshots = JSON.parse(listing.stdout) as Array<{
    id: string;
    repository: string;
    refs: number;
    tags: string[];
    size: number;
  }>;
  expect(snapshots).toHaveLength(2);
  expect(snapshots[0].id > snapshots[1].id).toBe(true); // newest first
  expect(snapshots[1]).toMatchObject({ repository: 'local/project', refs: 5, tags: ['manual'] });

  const text = await runCli(['list', '--to', store, '--repo', 'local/project'], env());
  expect(text.stdout.split('\n')[0]).toBe('local/project');
  expect(text.stdout).toContain(snapshots[0].id);
  expect(text.stdout).toContain('tags: manual');

  const latest = path.join(work, 'latest.git');
  expect(
    (await runCli(['restore', '--to', store, '--repo', 'local/project', '--target', latest], env())).exitCode,
  ).toBe(0);
  expect(refsOf(latest)).toBe(refsOf(repository));

  const byTime = path.join(work, 'by-time.git');
  const restoreAt = await runCli(
    ['restore', '--to', store, '--repo', 'local/project', '--at', between, '--target', byTime],
    env(),
  );
  expect(restoreAt.stdout).toContain(snapshots[1].id);
  expect(refsOf(byTime)).toBe(before);

  const byId = path.join(work, 'by-id.git');
  await runCli(
    ['restore', '--to', store, '--repo', repository, '--snapshot', snapshots[1].id, '--target', byId],
    env(),
  );
  expect(refsOf(byId)).toBe(before);
  git(byId, 'fsck', '--full');
});

test.each([
  [
    ['restore', '--to', 'BACKUPS', '--repo', 'local/project', '--target', 'NONEMPTY'],
    /Input "target": .* is not an empty folder/,
  ],
  [
    ['restore', '--to', 'BACKUPS', '--repo', 'local/nothing', '--target', 'NEW'],
    /Input "snapshot": no snapshot of local\/nothing/,
  ],
  [
    ['restore', '--to', 'BACKUPS', '--repo', 'local/project', '--at', 'yesterday-ish', '--target', 'NEW'],
    /Input "at"/,
  ],
  [['restore', '--to', 'BACKUPS', '--repo', 'local/project'], /Input "target": is required/],
  [['backup', '--to', 'BACKUPS'], /Input "repositories": is empty/],
  [
    ['restore', '--to', 'BACKUPS', '--repo', 'local/project', '--target', 'AFILE'],
    /Input "target": .* is not an empty folder/,
  ],
  [['frobnicate'], /Input "command": unknown command "frobnicate"/],
  [['list', '--to', 'BACKUPS', '--bogus'], /Input "arguments": Unknown option '--bogus'/],
])('%j fails with one clear error', async (args, message) => {
  fs.mkdirSync(path.join(work, 'nonempty'), { recursive: true });
  fs.writeFileSync(path.join(work, 'nonempty', 'file'), 'x');
  fs.writeFileSync(path.join(work, 'a-file'), 'x');
  const places: Record<string, string> = {
    BACKUPS: store,
    NONEMPTY: path.join(work, 'nonempty'),
    AFILE: path.join(work, 'a-file'),
    NEW: path.join(work, 'new'),
  };
  const replaced = args.map((arg) => places[arg] ?? arg);
  const run = await runCli(replaced, env());
  expect(run.exitCode).toBe(1);
  expect(run.errors).toHaveLength(1);
  expect(run.errors[0]).toMatch(message);
  expect(fs.existsSync(path.join(work, 'new'))).toBe(false);
});

test('a destination with placeholders and a one-word repository name: a clear error, no crash', async () => {
  const run = await runCli(['list', '--to', path.join(store, '{owner}-{repo}'), '--repo', 'foo'], env());
  expect(run.exitCode).toBe(1);
  expect(run.errors).toEqual([
    `::error::Input "destination": the folder ${path.join(store, 'foo-foo')} does not exist. Check the path.`,
  ]);
});

test('snapshot, verify, prune and restore of files from the terminal, on the local-folder store', async () => {
  const folder = path.join(work, 'site');
  fs.mkdirSync(path.join(folder, 'public'), { recursive: true });
  fs.writeFileSync(path.join(folder, 'public', 'index.html'), '<h1>hi</h1>\n');
  const files = path.join(work, 'files-store');
  for (let i = 0; i < 3; i++) {
    fs.writeFileSync(path.join(folder, 'public', 'build.txt'), `build ${i}\n`);
    const snap = await runCli(
      ['snapshot', '--to', files, '--name', 'site', '--path', 'public', '--compression', 'gzip'],
      env(),
      folder,
    );
    expect(snap.errors).toEqual([]);
    expect(snap.stdout).toMatch(/snapshot \S+: 3 entries/);
    expect(snap.stdout).not.toContain('::debug::'); // runner commands from libraries are not for a terminal
  }
  const verify = await runCli(['verify', '--to', files, '--level', 'restore', '--snapshot', 'all'], env());
  expect(verify.errors).toEqual([]);
  expect(verify.stdout.match(/^ok +site /gm)).toHaveLength(3);

  const prune = await runCli(['prune', '--to', files, '--keep-last', '1', '--json'], env());
  expect(prune.errors).toEqual([]);
  expect(JSON.parse(prune.stdout)[0].snapshotsRemoved).toBe(2); // stdout is only the JSON

  const target = path.join(work, 'site-restored');
  const restore = await runCli(['restore', '--to', files, '--name', 'site', '--target', target], env());
  expect(restore.errors).toEqual([]);
  expect(fs.readFileSync(path.join(target, 'public', 'build.txt'), 'utf8')).toBe('build 2\n');
});
