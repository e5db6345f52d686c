// Scenario 4: verify (read-data) and restore of the largest size, against restic check / restore.
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import type { Config, Context, Section } from '../context.js';
import { type Cell, list, max, median, mib, mibOrDash, s, table } from '../lib/format.js';
import { progress } from '../lib/process.js';
import type { Run } from '../tools/common.js';
import { Ours } from '../tools/ours.js';
import { Restic } from '../tools/restic.js';
import { backupOnce, label, oursContenders, push, rotate, sourceFor } from './common.js';
import { ratio } from './tables.js';

export const title = 'Verify (read-data) and restore';

type VerifyContender = Ours | Restic;

export async function scenarioVerifyRestore(ctx: Context, config: Config): Promise<Section> {
  const size = config.bigSize;
  const { dir: source } = await sourceFor(ctx, size);
  const repository = `local/${path.basename(source).replace(/\.git$/, '')}`;
  const ours = oursContenders(ctx);
  const restic = config.peers.includes('restic') && ctx.versions.restic ? [new Restic(ctx)] : [];
  const contenders: VerifyContender[] = [...ours, ...restic];
  const targets = path.join(ctx.tmp, 'scenario', 'restore');
  const rows = {
    verify: new Map<VerifyContender, Run[]>(),
    restore: new Map<VerifyContender, Run[]>(),
    proof: new Map<VerifyContender, Run[]>(),
  };
  try {
    for (const contender of contenders) {
      await contender.reset();
      await backupOnce(contender, source, `s4-${size}mib-setup`, 'created');
    }
    for (let i = 0; i < config.reps; i++) {
      const tag = `s4-${size}mib-r${i + 1}`;
      for (const contender of rotate(contenders, i)) {
        const name = label(tag, 'verify', contender.name, contender.store);
        progress(`  ${tag}: verify, ${contender.name} → ${contender.storeLabel}`);
        const run =
          contender instanceof Ours
            ? await contender.verify(repository, 'read-data', { label: name })
            : await contender.check({ label: name });
        push(rows.verify, contender, run);
      }
      for (const contender of rotate(contenders, i)) {
        const name = label(tag, 'restore', contender.name, contender.store);
        const target = path.join(targets, name);
        progress(`  ${tag}: restore, ${contender.name} → ${contender.storeLabel}`);
        try {
          const run =
            contender instanceof Ours
              ? await contender.restore(repository, target, { label: name })
              : await contender.restore(target, { label: name });
          push(rows.restore, contender, run);
        } finally {
          rmSync(target, { recursive: true, force: true });
        }
      }
      for (const contender of rotate(ours, i)) {
        const name = label(tag, 'proof', contender.name, contender.store);
        progress(`  ${tag}: verify --level restore, ${contender.name} → ${contender.storeLabel}`);
        push(rows.proof, contender, await contender.verify(repository, 'restore', { label: name }));
      }
    }
  } finally {
    for (const contender of contenders) await contender.dispose();
    rmSync(path.join(ctx.tmp, 'scenario'), { recursive: true, force: true });
  }
  const line = (operation: string, contender: VerifyContender, runs: Run[], best?: number): Cell[] => [
    operation,
    contender.shortName,
    contender.storeLabel,
    s(median(runs.map((r) => r.seconds))),
    list(runs.map((r) => r.seconds)),
    mib(max(runs.map((r) => r.toolPeakMiB))),
    mibOrDash(max(runs.map((r) => r.gitPeakMiB))),
    best ? ratio(median(runs.map((r) => r.seconds)), best) : '',
  ];
  const bestOf = (map: Map<VerifyContender, Run[]>) => {
    const peers = [...map]
      .filter(([c]) => c.kind === 'peer')
      .map(([, runs]) => median(runs.map((r) => r.seconds)));
    return peers.length ? Math.min(...peers) : undefined;
  };
  const body: Cell[][] = [];
  for (const [operation, key] of [
    ['verify: read and check every byte', 'verify'],
    ['restore into an empty folder', 'restore'],
  ] as const) {
    const best = bestOf(rows[key]);
    for (const [contender, runs] of rows[key])
      body.push(line(operation, contender, runs, contender.kind === 'ours' ? best : undefined));
  }
  for (const [contender, runs] of rows.proof)
    body.push(line('verify --level restore (clone + fsck + refs)', contender, runs));
  const markdown = [
    `${size} MiB snapshot, made once before the repetitions. backup-action: \`verify --level read-data\` ` +
      '(downloads every part and checks its SHA-256) and `restore --target` (downloads the bundle, ' +
      '`git clone --mirror` from it, `git fsck`, compares every ref with the manifest); restic: ' +
      "`restic check --read-data` and `restic restore latest --target` (writes the mirror folder's files " +
      'back). `verify --level restore` (a full restore into a temporary folder, then deleted) is listed ' +
      'for reference.\n',
    table(
      [
        'Operation',
        'Contender',
        'Store',
        'Median (s)',
        'Runs (s)',
        'Peak RSS (MiB)',
        'git RSS (MiB)',
        'vs best peer',
      ],
      ['l', 'l', 'l', 'r', 'l', 'r', 'r', 'r'],
      body,
    ),
    '',
  ].join('\n');
  const data = Object.fromEntries(
    Object.entries(rows).map(([key, map]) => [
      key,
      [...map].map(([c, runs]) => ({ contender: c.name, store: c.store, runs })),
    ]),
  );
  return { markdown, data };
}
