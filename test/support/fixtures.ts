import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Real git, run synchronously; fixtures are small. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Test',
      GIT_AUTHOR_EMAIL: 'test@example.com',
      GIT_COMMITTER_NAME: 'Test',
      GIT_COMMITTER_EMAIL: 'test@example.com',
      GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z',
      GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z',
    },
    maxBuffer: 64 * 1024 * 1024,
  });
}

export function tempDir(prefix = 'backup-action-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Deterministic pseudo-random bytes (SHA-256 in counter mode), so fixtures are reproducible. */
export function deterministicBytes(size: number, seed = 'seed'): Buffer {
  const out = Buffer.alloc(size);
  for (let offset = 0, counter = 0; offset < size; counter++) {
    const block = createHash('sha256').update(`${seed}:${counter}`).digest();
    offset += block.copy(out, offset);
  }
  return out;
}

/**
 * A repository with what a backup must keep: branches with slashes, annotated and lightweight tags,
 * notes, a binary file of a few MB, and HEAD on a non-default branch name.
 */
export function createRichRepository(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  git(dir, 'init', '--quiet', '--initial-branch=trunk');
  fs.writeFileSync(path.join(dir, 'README.md'), '# fixture\n');
  git(dir, 'add', '.');
  git(dir, 'commit', '--quiet', '-m', 'first');
  git(dir, 'tag', 'lightweight-tag');
  fs.writeFileSync(path.join(dir, 'blob.bin'), deterministicBytes(3 * 1024 * 1024, dir));
  git(dir, 'add', '.');
  git(dir, 'commit', '--quiet', '-m', 'binary file');
  git(dir, 'tag', '-a', 'v1.0.0', '-m', 'release 1.0.0');
  git(dir, 'notes', 'add', '-m', 'a note on the release commit');
  git(dir, 'checkout', '--quiet', '-b', 'feature/deep/nested-name');
  fs.writeFileSync(path.join(dir, 'feature.txt'), 'feature\n');
  git(dir, 'add', '.');
  git(dir, 'commit', '--quiet', '-m', 'feature work');
  git(dir, 'checkout', '--quiet', 'trunk');
  return dir;
}

export function createEmptyRepository(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  git(dir, 'init', '--quiet');
  return dir;
}

export function commitFile(dir: string, name: string, content: string): void {
  fs.writeFileSync(path.join(dir, name), content);
  git(dir, 'add', name);
  git(dir, 'commit', '--quiet', '-m', `change ${name}`);
}

/** Every ref and the object it points to. */
export function refsOf(gitDir: string): string {
  return git(gitDir, 'for-each-ref', '--format=%(objectname) %(refname)');
}

/** Every object reachable from any ref, sorted: equal output means equal history. */
export function objectsOf(gitDir: string): string {
  return git(gitDir, 'rev-list', '--objects', '--all')
    .split('\n')
    .map((line) => line.split(' ')[0])
    .filter(Boolean)
    .sort()
    .join('\n');
}

/** Every file below `dir`, with its content, for grepping everything a run wrote. */
export function readTree(dir: string): Array<{ file: string; content: Buffer }> {
  if (!fs.existsSync(dir)) return [];
  const files: Array<{ file: string; content: Buffer }> = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    files.push({ file, content: fs.readFileSync(file) });
  }
  return files;
}
