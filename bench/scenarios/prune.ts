// Scenario 5: prune of 10,000 snapshots over 50 repositories (bench/prune.ts, as `npm run bench:prune`
// runs it), in a child process so that its peak RSS is its own.
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Config, Context, Section } from '../context.js';
import { list, max, median, mib, s, table } from '../lib/format.js';
import { compileForMeasuring } from '../lib/compile.js';
import { measureOk } from '../lib/measure.js';
import { progress, ROOT, tail } from '../lib/process.js';
import type { PruneBenchResult } from '../prune.js';
import { label } from './common.js';

export const title = 'Prune: 10,000 snapshots over 50 repositories';

type PruneRun = PruneBenchResult & { peakRssMiB: number; wallSeconds: number };

export async function scenarioPrune(ctx: Context, config: Config): Promise<Section> {
  // Run as plain JavaScript (compiled first, not timed): the peak RSS is the prune engine's and the
  // server's, without a TypeScript loader.
  const built = pathToFileURL(compileForMeasuring(path.join(ROOT, 'bench', 'prune.ts'))).href;
  const runs: PruneRun[] = [];
  for (let i = 0; i < config.reps; i++) {
    progress(`  s5 run ${i + 1}/${config.reps}: bench/prune.ts (built)`);
    const args = [
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(built)}); await m.benchPrune();`,
    ];
    const result = await measureOk(label('s5-prune', i + 1), process.execPath, args, {
      env: ctx.env,
      cwd: ROOT,
      detached: true,
    });
    const json = result.stdout
      .split('\n')
      .filter((l) => l.startsWith('{"repos"'))
      .map((l) => JSON.parse(l) as PruneBenchResult)
      .pop();
    if (!json) throw new Error(`no result line from bench/prune.ts:\n${tail(result.stdout)}`);
    runs.push({ ...json, peakRssMiB: result.peakRssMiB, wallSeconds: result.seconds });
  }
  const m = (key: keyof PruneRun) => median(runs.map((r) => r[key]));
  const series = (key: keyof PruneRun) => list(runs.map((r) => r[key]));
  const r = runs[0];
  const markdown = [
    `\`npm run bench:prune\` (bench/prune.ts): ${r.snapshots} snapshots (a manifest and a 1 KiB part each) over ` +
      `${r.repos} repositories in the S3 server, which runs in the same process (its time and memory are ` +
      "included); policy keep-daily 7, keep-weekly 4, keep-monthly 6. No peer: restic's `forget --prune` " +
      'works on its own repository format, not on snapshots of this layout.\n',
    table(
      ['Step', 'Median (s)', 'Runs (s)', 'Requests'],
      ['l', 'r', 'l', 'r'],
      [
        [
          `seeding (${2 * r.snapshots} objects, not part of prune)`,
          s(m('seedSeconds')),
          series('seedSeconds'),
          '',
        ],
        [
          'dry run with keep-tag (reads every manifest)',
          s(m('tagPlanSeconds')),
          series('tagPlanSeconds'),
          r.tagPlanRequests,
        ],
        ['planning (list + decide)', s(m('planSeconds')), series('planSeconds'), r.listRequests],
        [
          `deleting (${r.snapshotsRemoved} snapshots, ${r.keysDeleted} keys)`,
          s(m('deleteSeconds')),
          series('deleteSeconds'),
          r.deleteRequests,
        ],
      ],
    ),
    '',
    `- Peak RSS of the node process (prune engine + S3 server holding ${2 * r.snapshots} objects): ` +
      `${mib(max(runs.map((x) => x.peakRssMiB)))} MiB`,
    '',
  ].join('\n');
  return { markdown, data: runs };
}
