// Scenario 6: many small repositories in one backup run, at each --concurrency: first run and the
// unchanged run after it.
import * as path from 'node:path';
import type { Config, Context, Section } from '../context.js';
import { ensureTinyRepos } from '../data.js';
import { bytes, list, max, median, mib, s, table } from '../lib/format.js';
import { progress } from '../lib/process.js';
import type { Run } from '../tools/common.js';
import { Ours } from '../tools/ours.js';
import { expectStatus, label, push, rotate } from './common.js';

export const title = 'Many small repositories in one run';

export async function scenarioManyRepos(ctx: Context, config: Config): Promise<Section> {
  const count = config.tinyRepos;
  const repos = await ensureTinyRepos(path.join(config.work, `tiny-${count}`), count);
  const levels = config.concurrency;
  const first = new Map<number, Run[]>();
  const again = new Map<number, Run[]>();
  for (let i = 0; i < config.reps; i++) {
    for (const concurrency of rotate(levels, i)) {
      const ours = new Ours(ctx, 's3');
      await ours.reset();
      const tag = label('s6', `${count}repos`, `c${concurrency}`, `r${i + 1}`);
      try {
        progress(`  ${tag}: first run (fresh mirrors)`);
        const run = await ours.backup(repos, { label: `${tag}-first`, concurrency });
        expectStatus(run, 'created', tag);
        push(first, concurrency, run);
        progress(`  ${tag}: next run, nothing changed`);
        const next = await ours.backup(repos, { label: `${tag}-next`, concurrency });
        expectStatus(next, 'unchanged', tag);
        push(again, concurrency, next);
      } finally {
        await ours.dispose();
      }
    }
  }
  const runsAt = (map: Map<number, Run[]>, c: number) => map.get(c) ?? [];
  const rows = levels.map((c) => {
    const a = runsAt(first, c);
    const b = runsAt(again, c);
    return [
      c,
      s(median(a.map((r) => r.seconds))),
      list(a.map((r) => r.seconds)),
      s(median(b.map((r) => r.seconds))),
      list(b.map((r) => r.seconds)),
      mib(max([...a, ...b].map((r) => r.toolPeakMiB))),
      bytes(median(a.map((r) => r.uploadedBytes))),
      bytes(median(b.map((r) => r.uploadedBytes))),
    ];
  });
  const markdown = [
    `${count} small repositories (3 commits, 6 files of 2-8 KiB each; ` +
      `${bytes(median(runsAt(first, levels[0]).map((r) => r.uploadedBytes)) / count)} written per repository) backed up by one ` +
      '`backup` run to S3 (`--repo` given once per repository) with each `--concurrency`: first with fresh ' +
      'mirrors and a fresh prefix (clone + bundle + upload of each), then the next run with nothing ' +
      'changed (fetch + compare). No peer.\n',
    table(
      [
        '--concurrency',
        'First run, median (s)',
        'Runs (s)',
        'Unchanged run, median (s)',
        'Runs (s)',
        'Peak RSS (MiB)',
        'Written, first',
        'Written, unchanged',
      ],
      ['r', 'r', 'l', 'r', 'l', 'r', 'r', 'r'],
      rows,
    ),
    '',
  ].join('\n');
  const data = levels.map((c) => ({ concurrency: c, first: first.get(c), unchanged: again.get(c) }));
  return { markdown, data };
}
