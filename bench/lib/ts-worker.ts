// Worker threads running a TypeScript module. A worker does not inherit the TypeScript loader of the
// bench process (tsx, registered with --import) on Node 20, so the worker starts from a few lines of
// plain JavaScript that register tsx's loader in the worker, then import the module.
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** A worker thread running the TypeScript (or JavaScript) module at `entry`; options as for Worker. */
export function tsWorker(entry: URL, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = [
    // As in a worker started from a file: process.argv[1] is the module (not '[worker eval]').
    `process.argv[1] = ${JSON.stringify(fileURLToPath(entry))};`,
    `import(${JSON.stringify(tsx)})`,
    '  .then(({ register }) => {',
    '    register();',
    `    return import(${JSON.stringify(entry.href)});`,
    '  })',
    '  .catch((error) => {',
    '    throw error;',
    '  });',
  ].join('\n');
  return new Worker(bootstrap, { ...options, eval: true });
}
