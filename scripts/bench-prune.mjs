// `npm run bench:prune`: plan + delete 10,000 snapshots over 50 repositories on the local S3 server.
// The engine is TypeScript, so it is compiled with tsc into .bench/ first (no bundler involved).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const out = path.join(root, '.bench', 'prune-build');
execFileSync(
  'npx',
  [
    'tsc',
    '--ignoreConfig',
    '--noEmit',
    'false',
    '--outDir',
    out,
    '--rootDir',
    root,
    '--module',
    'esnext',
    '--target',
    'es2022',
    '--moduleResolution',
    'bundler',
    '--skipLibCheck',
    '--esModuleInterop',
    '--resolveJsonModule',
    '--types',
    'node',
    path.join(root, 'bench', 'prune.ts'),
  ],
  { stdio: 'inherit', cwd: root },
);
mkdirSync(path.join(out, 'test', 'support'), { recursive: true });
copyFileSync(
  path.join(root, 'test', 'support', 's3-server.mjs'),
  path.join(out, 'test', 'support', 's3-server.mjs'),
);
const { benchPrune } = await import(path.join(out, 'bench', 'prune.js'));
await benchPrune();
