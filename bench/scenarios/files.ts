// Scenario 7: a file snapshot of many small files, against tar | zstd to a file and restic backup.
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import type { Config, Context, Section } from '../context.js';
import { ensureFileTree } from '../data.js';
import { bytes, list, max, median, mib, s, table } from '../lib/format.js';
import { progress } from '../lib/process.js';
import type { Run } from '../tools/common.js';
import { Ours } from '../tools/ours.js';
import { Restic } from '../tools/restic.js';
import { tarZstd } from '../tools/tar-zstd.js';
import { label, rotate } from './common.js';
import { ratio } from './tables.js';

export const title = 'File snapshot of many small files';

interface FileContender {
  kind: 'ours' | 'peer';
  name: string;
  storeLabel: string;
  run(tag: string): Promise<Run>;
}

export async function scenarioFiles(ctx: Context, config: Config): Promise<Section> {
  const {
    tree,
    files,
    bytes: inputBytes,
    folders,
  } = ensureFileTree(path.join(config.work, `files-${config.files}`), config.files);
  const parent = path.dirname(tree);
  const name = path.basename(tree);
  const contenders: FileContender[] = [];
  const add = (kind: FileContender['kind'], who: string, store: string, run: FileContender['run']) =>
    contenders.push({ kind, name: who, storeLabel: store, run });
  for (const store of config.stores) {
    const ours = new Ours(ctx, store);
    add('ours', 'backup-action snapshot (zstd)', ours.storeLabel, async (tag) => {
      await ours.reset();
      try {
        return await ours.snapshot(parent, 'bench-files', `${name}/**`, { label: label(tag, 'ours', store) });
      } finally {
        await ours.dispose();
      }
    });
  }
  if (ctx.versions.zstd) {
    const out = path.join(ctx.tmp, 'scenario', 'files.tar.zst');
    add('peer', 'tar -cf - | zstd', 'file', (tag) =>
      tarZstd(ctx, parent, name, out, { label: label(tag, 'tar') }),
    );
  }
  if (config.peers.includes('restic') && ctx.versions.restic) {
    const restic = new Restic(ctx);
    add('peer', 'restic backup (new repository)', 'local restic repo', async (tag) => {
      await restic.reset();
      try {
        return await restic.backupFolder(tree, { label: label(tag, 'restic') });
      } finally {
        await restic.dispose();
      }
    });
  }
  const runs = new Map<FileContender, Run[]>(contenders.map((c) => [c, []]));
  const runsOf = (c: FileContender) => runs.get(c) ?? [];
  try {
    for (let i = 0; i < config.reps; i++) {
      for (const contender of rotate(contenders, i)) {
        progress(`  s7 r${i + 1}: ${contender.name} → ${contender.storeLabel}`);
        runsOf(contender).push(await contender.run(`s7-${files}files-r${i + 1}`));
      }
    }
  } finally {
    rmSync(path.join(ctx.tmp, 'scenario'), { recursive: true, force: true });
  }
  const peerMedians = contenders
    .filter((c) => c.kind === 'peer')
    .map((c) => median(runsOf(c).map((r) => r.seconds)));
  const best = peerMedians.length ? Math.min(...peerMedians) : undefined;
  const rows = contenders.map((c) => {
    const r = runsOf(c);
    const med = median(r.map((x) => x.seconds));
    return [
      c.name,
      c.storeLabel,
      s(med),
      list(r.map((x) => x.seconds)),
      bytes(median(r.map((x) => x.uploadedBytes))),
      mib(max(r.map((x) => x.toolPeakMiB))),
      c.kind === 'ours' && best ? ratio(med, best) : '',
    ];
  });
  const markdown = [
    `${files} text files of 1-4 KiB (${bytes(inputBytes)} in all; base64 text, compresses to about 3/4) in ` +
      `${folders ?? 'nested'} folders (tree/dNN/sN). backup-action: \`snapshot --name bench-files --path 'tree/**' ` +
      "--compression zstd` (one streamed tar, compressed by node's zlib on Node >= 22.15, else by the `zstd` " +
      'command, uploaded with its manifest); ' +
      '`tar -cf - | zstd -o <file>` (zstd level 3); `restic backup` of the folder into a new local ' +
      'repository (`restic init` not timed; restic compresses with zstd too). Output: bytes written.\n',
    table(
      ['Contender', 'Output', 'Median (s)', 'Runs (s)', 'Output bytes', 'Peak RSS (MiB)', 'vs best peer'],
      ['l', 'l', 'r', 'l', 'r', 'r', 'r'],
      rows,
    ),
    '',
  ].join('\n');
  const data = contenders.map((c) => ({ contender: c.name, output: c.storeLabel, runs: runs.get(c) }));
  return { markdown, data };
}
