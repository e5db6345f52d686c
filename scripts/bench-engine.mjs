// `npm run bench:prune` (plan + delete 10,000 snapshots over 50 repositories on the local S3 server) and
// `npm run bench:crypto` (age encryption throughput): engine benchmarks in bench/<name>.ts. The engine
// is TypeScript, so it is compiled with tsc into .bench/ first (no bundler involved).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const name = process.argv[2];
const out = path.join(root, '.bench', 'engine-build');
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
    path.join(root, 'bench', `${name}.ts`),
  ],
  { stdio: 'inherit', cwd: root },
);
mkdirSync(path.join(out, 'test', 'support'), { recursive: true });
copyFileSync(
  path.join(root, 'test', 'support', 's3-server.mjs'),
  path.join(out, 'test', 'support', 's3-server.mjs'),
);
const bench = await import(path.join(out, 'bench', `${name}.js`));
await bench[`bench${name[0].toUpperCase()}${name.slice(1)}`]();
