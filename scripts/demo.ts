// `npm run demo`: back up this repository into ./backups (a local folder, no cloud account), list the
// snapshots, restore the newest into a temporary folder, and prove the refs match the original.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const cli = (...args: string[]) =>
  execFileSync('node', [path.join(root, 'dist', 'cli.js'), ...args], { cwd: root, encoding: 'utf8' });
const refs = (dir: string) =>
  execFileSync('git', ['for-each-ref', '--format=%(objectname) %(refname)'], { cwd: dir, encoding: 'utf8' });

function step(title: string, output: string): void {
  console.log(`\n$ ${title}\n${output.trimEnd()}`);
}

try {
  execFileSync('git', ['rev-parse', '--git-dir'], { cwd: root, stdio: 'ignore' });
} catch {
  console.error(
    '::error::the demo backs up this repository, so it needs a git clone of it (git clone, then npm ci).',
  );
  process.exit(1);
}

step('backup-action backup --to ./backups --repo .', cli('backup', '--to', './backups', '--repo', '.'));
step('backup-action list --to ./backups', cli('list', '--to', './backups'));
const name = `local/${path.basename(root)}`;
const target = path.join(mkdtempSync(path.join(os.tmpdir(), 'backup-action-demo-')), 'restored.git');
try {
  step(
    `backup-action restore --to ./backups --repo ${name} --target ${target}`,
    cli('restore', '--to', './backups', '--repo', name, '--target', target),
  );
  const original = refs(root);
  const restored = refs(target);
  if (original !== restored) {
    console.error('::error::the restored refs differ from this repository');
    process.exit(1);
  }
  console.log(
    `\n✅ restored ${original.trim().split('\n').length} refs, identical to this repository, and git fsck is clean.`,
  );
} finally {
  rmSync(path.dirname(target), { recursive: true, force: true });
}
