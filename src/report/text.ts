import type { Report, ReportUnit, Verdict } from './report.js';
import { formatBytes, plural } from '../util/format.js';

// The words both renderings of a report (the job summary and the terminal table) use.

export const VERDICT_TEXT: Record<Verdict, string> = {
  fresh: 'fresh',
  stale: 'stale',
  never: 'never backed up',
  unreadable: 'unreadable',
};
export const VERDICT_MARK: Record<Verdict, string> = {
  fresh: '✅',
  stale: '❌',
  never: '❌',
  unreadable: '❌',
};

/** `✅ all 12 fresh (max age 26h)` or `❌ 3 of 12 stale (max age 26h): 1 never backed up, 1 unreadable`. */
export function reportHeadline(report: Report, mark = true): string {
  const { units, fresh, never, unreadable } = report.counts;
  const failing = units - fresh;
  const limit = `(max age ${report.maxAge})`;
  if (units === 0) return `${mark ? '❌ ' : ''}no snapshots found ${limit}`;
  if (failing === 0 && report.ok) return `${mark ? '✅ ' : ''}all ${units} fresh ${limit}`;
  const details = [
    never ? `${never} never backed up` : '',
    unreadable ? `${unreadable} unreadable` : '',
    ...report.problems,
  ].filter(Boolean);
  return `${mark ? '❌ ' : ''}${failing} of ${units} stale ${limit}${details.length ? `: ${details.join(', ')}` : ''}`;
}

/** One line per failing unit, for `::error::` lines: what is wrong and since when. */
export function failureText(unit: ReportUnit, report: Pick<Report, 'maxAge'>): string {
  const name = displayName(unit);
  switch (unit.verdict) {
    case 'never':
      return `${name}: never backed up (no snapshot in ${unit.location})`;
    case 'unreadable':
      return `${name}: unreadable: ${unit.error}`;
    case 'stale':
      return `${name}: stale: newest snapshot ${unit.latest!.id} is ${formatAge(unit.latest!.ageMs)} old (max age ${report.maxAge})`;
    default:
      return `${name}: fresh`;
  }
}

export function failingFirst(units: ReportUnit[]): ReportUnit[] {
  const rank: Record<Verdict, number> = { never: 0, unreadable: 1, stale: 2, fresh: 3 };
  return [...units].sort(
    (a, b) =>
      rank[a.verdict] - rank[b.verdict] ||
      // the stalest first among the stale
      (b.latest?.ageMs ?? 0) - (a.latest?.ageMs ?? 0) ||
      compareText(a.source, b.source) ||
      compareText(a.kind ?? '', b.kind ?? ''),
  );
}

export function displayName(unit: ReportUnit): string {
  return unit.kind === 'files' ? `${unit.source} (files)` : unit.source;
}

export function shortState(unit: ReportUnit): string {
  if (unit.verdict === 'stale') return `${formatAge(unit.latest!.ageMs)} old`;
  return VERDICT_TEXT[unit.verdict];
}

export function contentsText(unit: ReportUnit): string {
  const latest = unit.latest;
  if (latest?.refs !== undefined)
    return latest.empty ? '0 refs (empty)' : `${latest.refs} ${plural(latest.refs, 'ref', 'refs')}`;
  if (latest?.files !== undefined) return `${latest.files} ${plural(latest.files, 'file', 'files')}`;
  return '';
}

export function changeText(unit: ReportUnit): string {
  if (unit.previousError) return `previous snapshot unreadable: ${unit.previousError}`;
  if (!unit.change) return unit.latest ? 'first snapshot' : '';
  const { sizeDelta, refs, filesDelta } = unit.change;
  const parts = [signedBytes(sizeDelta)];
  if (refs) {
    const moves = [
      refs.added.length ? `${refs.added.length} added` : '',
      refs.removed.length ? `${refs.removed.length} removed` : '',
      refs.moved.length ? `${refs.moved.length} moved` : '',
    ].filter(Boolean);
    parts.push(moves.length ? `refs: ${moves.join(', ')}` : 'refs unchanged');
  }
  if (filesDelta !== undefined) {
    const count = Math.abs(filesDelta);
    parts.push(`${filesDelta >= 0 ? '+' : '−'}${count} ${plural(count, 'file', 'files')}`);
  }
  return parts.join(', ');
}

function signedBytes(delta: number): string {
  if (delta === 0) return '±0 B';
  return `${delta > 0 ? '+' : '−'}${formatBytes(Math.abs(delta))}`;
}

/** `42m`, `5h 3m`, `2d 4h`: precise enough to compare with max-age. */
export function formatAge(ms: number): string {
  if (ms < 0) return 'in the future';
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

export function isoTime(time: number): string {
  return Number.isFinite(time) ? new Date(time).toISOString() : new Date(0).toISOString();
}

export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
