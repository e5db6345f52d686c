// Plain JavaScript of a TypeScript benchmark, for the runs whose peak RSS is measured: tsx's loader adds
// ~30 MiB to a node process (its hooks thread), which would count in the measured peak. Compiled with tsc
// into .bench/engine-build, file by file (no bundler: the modules load as in the sources; inside the
// project, so that node_modules resolve).
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { progress, ROOT } from './process.js';

/** Compiles `source` (a .ts file of the project) and what it imports; returns the path of its .js. */
export function compileForMeasuring(source: string): string {
  const out = path.join(ROOT, '.bench', 'engine-build');
  progress(`  compiling ${path.relative(ROOT, source)} with tsc into ${out}`);
  execFileSync(
    process.execPath,
    [
      path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      '--ignoreConfig',
      '--noEmit',
      'false',
      '--outDir',
      out,
      '--rootDir',
      ROOT,
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
      source,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'], cwd: ROOT },
  );
  return path.join(out, path.relative(ROOT, source).replace(/\.ts$/, '.js'));
}
