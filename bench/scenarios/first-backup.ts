// Scenario 1: the first full backup of each size (fresh mirror, fresh destination every run).
import type { Config, Context, Section } from '../context.js';
import { mib } from '../lib/format.js';
import { MiB } from '../lib/process.js';
import type { Run } from '../tools/common.js';
import { backupContenders, backupOnce, missingPeers, push, rotate, sourceFor } from './common.js';
import { backupTable, bestPeerLines, runsData, type RunsByContender } from './tables.js';

export const title = 'First full backup';

export async function scenarioFirstBackup(ctx: Context, config: Config): Promise<Section> {
  const out: string[] = [];
  const data: Record<number, unknown> = {};
  out.push(
    'Every run starts from nothing: a fresh mirror (`git clone --mirror` of the source, a local path, so the ' +
      'clone hard-links the pack and costs almost nothing for every contender) and a fresh destination. ' +
      'backup-action runs `backup --to <dest> --repo <source> --mirror-dir <fresh>` (clone, then the ' +
      "mirror's own pack and its index uploaded as they are when the pack holds exactly what the refs reach, " +
      'as here; otherwise one full pack written by `git pack-objects` beside the mirror first); the hand ' +
      'pipelines run ' +
      '`git clone --mirror`, `git bundle create --all` to a file, then copy the file; restic backs the mirror ' +
      'folder up into a new local repository (`restic init` not timed).\n',
  );
  for (const size of config.sizes) {
    const { dir: source, generation } = await sourceFor(ctx, size);
    const contenders = backupContenders(ctx);
    const runs: RunsByContender = new Map(contenders.map((c) => [c, [] as Run[]]));
    for (let i = 0; i < config.reps; i++) {
      for (const contender of rotate(contenders, i)) {
        await contender.reset();
        try {
          push(runs, contender, await backupOnce(contender, source, `s1-${size}mib-r${i + 1}`, 'created'));
        } finally {
          await contender.dispose();
        }
      }
    }
    out.push(`#### ${size} MiB repository (pack ${mib(generation.packBytes / MiB)} MiB)\n`);
    out.push(backupTable(contenders, runs), '');
    out.push(...bestPeerLines(contenders, runs), '');
    data[size] = runsData(contenders, runs);
  }
  out.push(...missingPeers(ctx).map((note) => `- ${note}`));
  return { markdown: out.join('\n'), data };
}
