// Scenario 0: the acceptance bench (bench/bundle.ts, `npm run bench:bundle`) on the largest size, run as
// a child process; its table is copied in.
import * as path from 'node:path';
import type { Config, Context, Section } from '../context.js';
import { measure } from '../lib/measure.js';
import { progress, ROOT, tail, typeScriptArgs } from '../lib/process.js';
import { sourceFor } from './common.js';

export const title = 'Acceptance bench (bench/bundle.ts)';

export async function scenarioAcceptance(ctx: Context, config: Config): Promise<Section> {
  const size = config.bigSize;
  await sourceFor(ctx, size); // generated here, so that its time is not in the child's
  const script = path.join(ROOT, 'bench', 'bundle.ts');
  const args = [
    '--size-mib',
    String(size),
    '--runs',
    String(config.reps),
    '--work',
    config.work,
    '--cli',
    config.cli,
  ];
  progress(`  tsx ${[script, ...args].map((a) => path.relative(ROOT, a) || a).join(' ')}`);
  const result = await measure('acceptance', process.execPath, typeScriptArgs(script, args), {
    env: ctx.env,
    cwd: ROOT,
    detached: true,
  });
  process.stderr.write(result.stderr);
  if (result.code !== 0) throw new Error(`bench/bundle.ts exited ${result.code}: ${tail(result.stderr)}`);
  // Its output: a Markdown part, then one JSON line.
  const lines = result.stdout.trimEnd().split('\n');
  const json = JSON.parse(lines.pop() ?? '') as Record<string, unknown>;
  const markdown = lines
    .join('\n')
    .replace(/^## .*\n\n/, '')
    .trim();
  return {
    markdown:
      `\`npm run bench:bundle -- --size-mib ${size} --runs ${config.reps}\`: backup-action with a warm mirror ` +
      '(`--force`) vs `git bundle create --all` + `aws s3 cp` on the same mirror, to S3.\n\n' +
      `${markdown}\n`,
    data: {
      medians: json.medians,
      ratio: json.ratio,
      peakRssMiB: json.peakRssMiB,
      acceptance: json.acceptance,
    },
  };
}
