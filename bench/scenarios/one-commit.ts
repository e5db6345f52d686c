// Scenario 3: the next day with one new commit (a new 100 KiB incompressible file), on the largest size.
import { mkdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import type { Config, Context, Section } from '../context.js';
import { addCommit } from '../data.js';
import { measureOk } from '../lib/measure.js';
import { nextDays, sourceFor } from './common.js';

export const title = 'Next day, one new commit (100 KiB incompressible file)';

export async function scenarioOneCommit(ctx: Context, config: Config): Promise<Section> {
  const size = config.bigSize;
  const { dir: original } = await sourceFor(ctx, size);
  // A copy of the cached source (hard-linked objects), so that the cache is never changed.
  const source = path.join(ctx.tmp, 'scenario', `change-${size}mib.git`);
  rmSync(source, { recursive: true, force: true });
  mkdirSync(path.dirname(source), { recursive: true });
  await measureOk('s3-copy', 'git', ['clone', '--mirror', '--quiet', original, source], { env: ctx.env });
  try {
    const result = await nextDays(ctx, {
      source,
      tag: `s3-${size}mib`,
      expected: 'created',
      change: (i) => addCommit(source, i + 1),
    });
    return {
      markdown:
        `${size} MiB repository. After the day-1 backup (not timed), every repetition adds one commit on main ` +
        'with one new 100 KiB incompressible file, then runs every contender once (each sees exactly that ' +
        'change). backup-action writes a whole new bundle (a snapshot is a full `git bundle`); so do the ' +
        'hand pipelines; restic uploads only the chunks of the files that changed in the mirror folder ' +
        '(the new objects, refs).\n\n' +
        result.markdown,
      data: result.data,
    };
  } finally {
    rmSync(path.join(ctx.tmp, 'scenario'), { recursive: true, force: true });
  }
}
