import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { commitFile, createRichRepository, git, objectsOf, refsOf, tempDir } from '../support/fixtures.js';
import { runCli } from '../support/run-action.js';

// docs/RESTORE.md tells readers how to restore a version 2 snapshot with nothing but git, python3 and
// sha256sum. This runs its local-folder block as written (only the variables the reader is told to set
// are filled in) against a real snapshot of two packs, made by the bundled CLI.
const RESTORE_DOC = 'docs/RESTORE.md';
/** The variables the block starts with, in this order: what a reader sets, and all the test changes. */
const VARIABLES = ['STORE', 'SOURCE', 'ID', 'TARGET'];

/** The ```sh block right after `<!-- test: <name> -->` in docs/RESTORE.md. */
function docBlock(name: string): string[] {
  const text = fs.readFileSync(RESTORE_DOC, 'utf8');
  const marker = `<!-- test: ${name} -->`;
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`${RESTORE_DOC} has no ${marker}`);
  const block = /^```sh\n([\s\S]*?)^```$/m.exec(text.slice(at + marker.length));
  if (!block || text.slice(at + marker.length, at + marker.length + block.index).trim() !== '') {
    throw new Error(`${marker} in ${RESTORE_DOC} is not followed by a sh block`);
  }
  return block[1].trimEnd().split('\n');
}

/** Single-quoted for the shell. */
function shellQuoted(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The block with its leading assignments set to `values` (every other line as written). */
function withVariables(lines: string[], values: Record<string, string>): string {
  const names = lines.slice(0, VARIABLES.length).map((line) => /^([A-Z]+)=/.exec(line)?.[1]);
  expect(names).toEqual(VARIABLES);
  const assignments = VARIABLES.map((name) => `${name}=${shellQuoted(values[name])}`);
  return [...assignments, ...lines.slice(VARIABLES.length)].join('\n') + '\n';
}

/** Runs a script with bash, stopping at the first failing command (as the doc asks the reader to). */
function runBash(script: string, cwd: string): { status: number | null; output: string } {
  const file = path.join(cwd, 'restore.sh');
  fs.writeFileSync(file, script);
  const run = spawnSync('bash', ['-euo', 'pipefail', file], {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LC_ALL: 'C' },
  });
  return { status: run.status, output: `${run.stdout}${run.stderr}${run.error ?? ''}` };
}

let work: string;
let repository: string;
let store: string;
let snapshotId: string;

beforeAll(async () => {
  work = tempDir();
  repository = createRichRepository(path.join(work, 'project'));
  store = path.join(work, 'backups');
  const env = { XDG_CACHE_HOME: path.join(work, 'cache') };
  for (const change of ['first', 'second']) {
    if (change === 'second') commitFile(repository, 'later.txt', 'later\n');
    const backup = await runCli(['backup', '--to', store, '--repo', repository], env);
    expect(backup.stdout + backup.stderr).toMatch(/created/);
    expect(backup.exitCode).toBe(0);
  }
  snapshotId = fs
    .readdirSync(path.join(store, 'git', 'local', 'project'))
    .sort()
    .at(-1)!;
  const manifest = JSON.parse(
    fs.readFileSync(path.join(store, 'git', 'local', 'project', snapshotId, 'manifest.json'), 'utf8'),
  ) as { formatVersion: number; parts: Array<{ type: string; added?: boolean }> };
  // The case the doc is for: a version 2 snapshot listing a reused pack and the one it added.
  expect(manifest.formatVersion).toBe(2);
  expect(manifest.parts.map((part) => [part.type, part.added ?? false])).toEqual([
    ['git-pack', false],
    ['git-pack-index', false],
    ['git-pack', true],
    ['git-pack-index', true],
  ]);
});

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function restoreFrom(from: string, name: string): { target: string; status: number | null; output: string } {
  const cwd = fs.mkdtempSync(path.join(work, `${name}-`));
  const target = path.join(cwd, 'restored.git');
  const script = withVariables(docBlock('restore-v2-local'), {
    STORE: from,
    SOURCE: 'local/project',
    ID: snapshotId,
    TARGET: target,
  });
  return { target, ...runBash(script, cwd) };
}

test('the version 2 local-folder restore in RESTORE.md, run as written, gives the backed-up repository', () => {
  const { target, status, output } = restoreFrom(store, 'run');
  expect({ status, output }).toEqual({ status: 0, output: expect.stringMatching(/\.pack: OK\n/) });
  expect(output).not.toMatch(/FAILED|error|missing/i);

  expect(refsOf(target)).toBe(refsOf(repository));
  expect(objectsOf(target)).toBe(objectsOf(repository));
  expect(git(target, 'symbolic-ref', 'HEAD').trim()).toBe('refs/heads/trunk');
  expect(
    fs.readdirSync(path.join(target, 'objects', 'pack')).filter((f) => f.endsWith('.pack')),
  ).toHaveLength(2);
  // Every object re-hashed and every link followed: throws (non-zero exit) on any problem.
  expect(git(target, 'fsck', '--full', '--strict', '--no-dangling')).toBe('');
});

test('the same lines stop at the SHA-256 check when a stored pack was altered', () => {
  const altered = path.join(work, 'altered-store');
  fs.cpSync(store, altered, { recursive: true });
  const packs = path.join(altered, 'packs', 'git', 'local', 'project');
  const pack = path.join(
    packs,
    fs.readdirSync(packs).find((f) => f.endsWith('.pack'))!,
  );
  const bytes = fs.readFileSync(pack);
  bytes[bytes.length - 30] ^= 0xff;
  fs.writeFileSync(pack, bytes);

  const { target, status, output } = restoreFrom(altered, 'altered');
  expect(status).not.toBe(0);
  expect(output).toMatch(/\.pack: FAILED/);
  expect(refsOf(target)).toBe(''); // nothing after the check ran
});

test('the S3 block is the local-folder block with aws s3 cp in place of cp', () => {
  // Only the local block can run here (no aws CLI); the S3 one must not drift from it.
  const steps = (lines: string[]) =>
    lines.filter((line) => !/^[A-Z]+=/.test(line) && !/\bcp /.test(line) && line.trim() !== '');
  const s3 = docBlock('restore-v2-s3');
  expect(steps(s3)).toEqual(steps(docBlock('restore-v2-local')));
  expect(s3.filter((line) => /\baws s3 cp /.test(line))).toHaveLength(2);
});
