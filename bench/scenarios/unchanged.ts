// Scenario 2: the next day with nothing changed, each size: time and bytes written.
import type { Config, Context, Section } from '../context.js';
import { nextDays, sourceFor } from './common.js';

export const title = 'Next day, nothing changed';

export async function scenarioUnchanged(ctx: Context, config: Config): Promise<Section> {
  const out = [
    'Each contender first makes its day-1 backup (not timed); then every repetition is one more day with ' +
      'nothing changed in the source. backup-action fetches into its mirror, sees the same refs and writes ' +
      'nothing; the hand pipelines `git fetch` into their mirror, bundle and copy the whole bundle again (to a ' +
      "new day's key: a backup keeps earlier days); restic `git fetch`es and backs the mirror folder up again.\n",
  ];
  const data: Record<number, unknown> = {};
  for (const size of config.sizes) {
    const { dir: source } = await sourceFor(ctx, size);
    const result = await nextDays(ctx, { source, tag: `s2-${size}mib`, expected: 'unchanged' });
    out.push(`#### ${size} MiB repository\n`, result.markdown);
    data[size] = result.data;
  }
  return { markdown: out.join('\n'), data };
}
