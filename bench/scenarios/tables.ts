// The tables shared by the backup scenarios (1-3) and the ratio column of the others.
import { type Align, bytes, list, max, median, mib, mibOrDash, s, table } from '../lib/format.js';
import type { Contender, Run } from '../tools/common.js';

export type RunsByContender = Map<Contender, Run[]>;

/** `value / reference` as `0.42×` (a dash when either is missing). */
export function ratio(value: number | undefined, reference: number | undefined): string {
  if (value === undefined || reference === undefined || !(reference > 0) || Number.isNaN(value)) return '–';
  return `${(value / reference).toFixed(2)}×`;
}

const runsOf = (runs: RunsByContender, contender: Contender): Run[] => runs.get(contender) ?? [];

/** The backup table of scenarios 1-3: one row per contender, S3 group first. */
export function backupTable(
  contenders: Contender[],
  runs: RunsByContender,
  { firstDay }: { firstDay?: Map<Contender, Run> } = {},
): string {
  const rows: { group?: string; kind: string; row: string[] }[] = [];
  for (const contender of contenders) {
    const r = runsOf(runs, contender);
    const med = median(r.map((x) => x.seconds));
    const ours = contenders.find((c) => c.kind === 'ours' && c.group === contender.group);
    const oursMedian = ours ? median(runsOf(runs, ours).map((x) => x.seconds)) : undefined;
    const steps = stepsText(r);
    const written = bytes(median(r.map((x) => x.uploadedBytes)));
    const added =
      r[0]?.dataAdded !== undefined ? ` (data_added ${bytes(median(r.map((x) => x.dataAdded)))})` : '';
    const row = [
      contender.name,
      contender.storeLabel,
      s(med),
      list(r.map((x) => x.seconds)),
      steps,
      mib(max(r.map((x) => x.toolPeakMiB))),
      mibOrDash(max(r.map((x) => x.gitPeakMiB))),
      written + added,
      contender.kind === 'ours' || !oursMedian ? '' : ratio(oursMedian, med),
    ];
    if (firstDay) row.splice(4, 0, bytes(firstDay.get(contender)?.uploadedBytes));
    rows.push({ group: contender.group, kind: contender.kind, row });
  }
  rows.sort((a, b) =>
    a.group === b.group ? (a.kind === 'ours' ? -1 : b.kind === 'ours' ? 1 : 0) : a.group === 's3' ? -1 : 1,
  );
  const header = [
    'Contender',
    'Store',
    'Median (s)',
    'Runs (s)',
    'Steps, medians (s)',
    'Peak RSS (MiB)',
    'git RSS (MiB)',
    'Written (median)',
    'backup-action ÷ this',
  ];
  const align: Align[] = ['l', 'l', 'r', 'l', 'l', 'r', 'r', 'r', 'r'];
  if (firstDay) {
    header.splice(4, 0, 'Day 1 written');
    align.splice(4, 0, 'r');
  }
  return table(
    header,
    align,
    rows.map((x) => x.row),
  );
}

/** "backup-action / best peer" per store group. */
export function bestPeerLines(contenders: Contender[], runs: RunsByContender): string[] {
  const lines: string[] = [];
  for (const group of ['s3', 'folder']) {
    const ours = contenders.find((c) => c.kind === 'ours' && c.group === group);
    const peers = contenders.filter((c) => c.kind === 'peer' && c.group === group);
    if (!ours || peers.length === 0) continue;
    const med = (c: Contender) => median(runsOf(runs, c).map((x) => x.seconds));
    const best = peers.reduce((a, b) => (med(b) < med(a) ? b : a));
    lines.push(
      `- ${group === 's3' ? 'S3' : 'Folder'}: backup-action ${s(med(ours))} s / best peer ${s(med(best))} s ` +
        `(${best.name}${best.group !== best.store ? `, ${best.storeLabel}` : ''}) = **${(med(ours) / med(best)).toFixed(2)}**`,
    );
  }
  return lines;
}

export function runsData(contenders: Contender[], runs: RunsByContender) {
  return contenders.map((c) => ({ contender: c.name, store: c.store, runs: runs.get(c) }));
}

/** `clone 0.16 + bundle 5.82 + upload 11.69`: the median of each step, when a run has several. */
export function stepsText(runs: Run[]): string {
  const names = [...new Set(runs.flatMap((run) => Object.keys(run.steps)))];
  if (names.length <= 1) return '';
  return names.map((name) => `${name} ${s(median(runs.map((run) => run.steps[name])))}`).join(' + ');
}
