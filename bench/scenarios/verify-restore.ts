// Scenario 4: verify (read-data) and restore of the largest size: backup-action against restic check /
// restore, and its restore against `git clone --mirror` of a bundle + `git fsck --full`.
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import type { Config, Context, Section } from '../context.js';
import { type Cell, list, max, median, mibOrDash, s, table } from '../lib/format.js';
import { progress } from '../lib/process.js';
import { BundleClone } from '../tools/bundle-clone.js';
import type { Run } from '../tools/common.js';
import { Ours } from '../tools/ours.js';
import { Restic } from '../tools/restic.js';
import { backupOnce, label, oursContenders, push, rotate, sourceFor } from './common.js';
import { ratio, stepsText } from './tables.js';

export const title = 'Verify (read-data) and restore';

/** Issue targets for restore: ≤ 1.0× restic's time, ≤ 0.3× clone + fsck's, node's peak RSS ≤ 150 MiB. */
const TARGET_RESTIC = 1;
const TARGET_CLONE = 0.3;
const TARGET_RSS_MIB = 150;

type Contender = Ours | Restic | BundleClone;

interface Row {
  operation: string;
  isVerify: boolean;
  contender: Contender;
  runs: Run[];
}

export async function scenarioVerifyRestore(ctx: Context, config: Config): Promise<Section> {
  const size = config.bigSize;
  const { dir: source } = await sourceFor(ctx, size);
  const repository = `local/${path.basename(source).replace(/\.git$/, '')}`;
  const ours = oursContenders(ctx);
  const restic = config.peers.includes('restic') && ctx.versions.restic ? [new Restic(ctx)] : [];
  const clone = config.peers.includes('hand') ? [new BundleClone(ctx)] : [];
  const checkers: (Ours | Restic)[] = [...ours, ...restic];
  const restorers: Contender[] = [...checkers, ...clone];
  const targets = path.join(ctx.tmp, 'scenario', 'restore');
  const verify = new Map<Contender, Run[]>();
  const restore = new Map<Contender, Run[]>();
  const fullCheck = new Map<Contender, Run[]>();
  try {
    for (const contender of checkers) {
      await contender.reset();
      await backupOnce(contender, source, `s4-${size}mib-setup`, 'created');
    }
    for (const contender of clone) await contender.prepare(source, { label: `s4-${size}mib-setup-bundle` });
    for (let i = 0; i < config.reps; i++) {
      const tag = `s4-${size}mib-r${i + 1}`;
      for (const contender of rotate(checkers, i)) {
        const name = label(tag, 'verify', contender.name, contender.store);
        progress(`  ${tag}: verify, ${contender.name} → ${contender.storeLabel}`);
        const run =
          contender instanceof Ours
            ? await contender.verify(repository, 'read-data', { label: name })
            : await contender.check({ label: name });
        push(verify, contender, run);
      }
      // backup-action's restore, with and without --full-check, and the peers', in a rotating order.
      const jobs: { contender: Contender; full: boolean }[] = [
        ...restorers.map((contender) => ({ contender, full: false })),
        ...ours.map((contender) => ({ contender, full: true })),
      ];
      for (const { contender, full } of rotate(jobs, i)) {
        const name = label(tag, full ? 'restore-full' : 'restore', contender.name, contender.store);
        const target = path.join(targets, name);
        progress(
          `  ${tag}: restore${full ? ' --full-check' : ''}, ${contender.name} → ${contender.storeLabel}`,
        );
        try {
          const run =
            contender instanceof Ours
              ? await contender.restore(repository, target, { label: name, fullCheck: full })
              : await contender.restore(target, { label: name });
          push(full ? fullCheck : restore, contender, run);
        } finally {
          rmSync(target, { recursive: true, force: true });
        }
      }
    }
  } finally {
    for (const contender of restorers) await contender.dispose();
    rmSync(path.join(ctx.tmp, 'scenario'), { recursive: true, force: true });
  }

  const medianOf = (runs: Run[] | undefined) => (runs ? median(runs.map((r) => r.seconds)) : undefined);
  const resticVerify = restic[0] && medianOf(verify.get(restic[0]));
  const resticRestore = restic[0] && medianOf(restore.get(restic[0]));
  const cloneRestore = clone[0] && medianOf(restore.get(clone[0]));
  const rows: Row[] = [
    ...[...verify].map(([contender, runs]) => ({
      operation: 'verify: read and check every byte',
      isVerify: true,
      contender,
      runs,
    })),
    ...[...restore].map(([contender, runs]) => ({
      operation: 'restore into an empty folder',
      isVerify: false,
      contender,
      runs,
    })),
    ...[...fullCheck].map(([contender, runs]) => ({
      operation: 'restore --full-check (= verify --level restore)',
      isVerify: false,
      contender,
      runs,
    })),
  ];
  const body: Cell[][] = rows.map(({ operation, isVerify, contender, runs }) => {
    const med = median(runs.map((r) => r.seconds));
    const isOurs = contender instanceof Ours;
    const steps = stepsText(runs);
    return [
      operation,
      contender.shortName,
      contender.storeLabel,
      s(med),
      list(runs.map((r) => r.seconds)),
      steps,
      mibOrDash(max(runs.map((r) => r.toolPeakMiB))),
      mibOrDash(max(runs.map((r) => r.gitPeakMiB))),
      isOurs ? ratio(med, isVerify ? resticVerify : resticRestore) : '',
      isOurs && !isVerify ? ratio(med, cloneRestore) : '',
    ];
  });

  const verdict = (value: number, target: number, unit = '×') =>
    `${value.toFixed(2)}${unit} (target ≤ ${target}${unit}: ${value <= target ? 'met' : '**missed**'})`;
  const lines: string[] = [];
  for (const contender of ours) {
    const runs = restore.get(contender) ?? [];
    const med = median(runs.map((r) => r.seconds));
    const parts = [];
    if (resticRestore) parts.push(`÷ restic restore ${verdict(med / resticRestore, TARGET_RESTIC)}`);
    if (cloneRestore) parts.push(`÷ bundle clone + fsck --full ${verdict(med / cloneRestore, TARGET_CLONE)}`);
    const rss = max(runs.map((r) => r.toolPeakMiB));
    parts.push(`peak RSS of node ${verdict(rss, TARGET_RSS_MIB, ' MiB')}`);
    lines.push(`- restore from ${contender.storeLabel}: ${parts.join('; ')}`);
  }

  const markdown = [
    `${size} MiB snapshot, made once before the repetitions (one full pack). backup-action: ` +
      '`verify --level read-data` (downloads every part and checks its SHA-256) and `restore --target` ' +
      '(downloads the pack and its index straight into `objects/pack/`, SHA-256 checked while they stream, ' +
      'writes the refs, `git fsck --connectivity-only`, compares every ref with the manifest); ' +
      '`restore --full-check` runs `git fsck --full` instead (re-hashes every object: what ' +
      '`verify --level restore` does in a temporary folder). restic: `restic check --read-data` and ' +
      "`restic restore latest --target` (writes the mirror folder's files back). Bundle clone: " +
      '`git clone --mirror` from a local bundle file of the same repository (`git bundle create --all`, made ' +
      'once, no download), then `git fsck --full` in the clone. Ratios: backup-action ÷ the peer.\n',
    table(
      [
        'Operation',
        'Contender',
        'Store',
        'Median (s)',
        'Runs (s)',
        'Steps, medians (s)',
        'Peak RSS (MiB)',
        'git RSS (MiB)',
        '÷ restic',
        '÷ bundle clone + fsck',
      ],
      ['l', 'l', 'l', 'r', 'l', 'l', 'r', 'r', 'r', 'r'],
      body,
    ),
    '',
    ...lines,
    '',
  ].join('\n');
  const data = Object.fromEntries(
    Object.entries({ verify, restore, fullCheck }).map(([key, map]) => [
      key,
      [...map].map(([c, runs]) => ({ contender: c.name, store: c.store, runs })),
    ]),
  );
  return { markdown, data };
}
