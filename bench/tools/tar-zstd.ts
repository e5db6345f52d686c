// tar | zstd to a file: the peer of a file snapshot (scenario 7).
import { mkdirSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { Context } from '../context.js';
import { measureOk } from '../lib/measure.js';
import { combine, type Run } from './common.js';

/** `tar -cf - -C <parent> <name> | zstd -o <out>` (zstd's defaults: level 3, one thread). */
export async function tarZstd(
  ctx: Context,
  parent: string,
  name: string,
  out: string,
  { label }: { label: string },
): Promise<Run> {
  rmSync(out, { force: true });
  mkdirSync(path.dirname(out), { recursive: true });
  const script = 'set -o pipefail; tar -cf - -C "$1" "$2" | zstd -q -f -o "$3"';
  const result = await measureOk(label, 'bash', ['-c', script, 'bash', parent, name, out], {
    env: ctx.env,
    detached: true,
    waitedRss: ctx.timeDir,
  });
  const run = combine({ archive: result }, { uploadedBytes: statSync(out).size });
  rmSync(out, { force: true });
  return run;
}
