import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { mapLimit } from '../util/concurrency.js';
import { errorMessage, InputError } from '../util/errors.js';
import { type InputReader, parseList } from '../settings/backup.js';
import * as log from '../log/log.js';
import {
  type Duration,
  formatDuration,
  isZeroDuration,
  parseDuration,
  subtractDuration,
} from '../retention/duration.js';
import { redact } from '../util/secrets.js';
import { openUnits } from '../commands/selection.js';
import { idTime, parseSnapshotKey, readManifest, type SnapshotRef } from '../snapshot/catalog.js';
import {
  type Manifest,
  MANIFEST_NAME,
  SNAPSHOT_KINDS,
  type SnapshotKind,
  sourcePrefix,
} from '../snapshot/manifest.js';
import type { Store } from '../store/store.js';
import { formatBytes, plural } from './summaries.js';

/** Backups are expected at least daily, with two hours of slack for a slow or queued run. */
export const DEFAULT_MAX_AGE = '26h';
/** Rows of the job summary's table; every unit is in the JSON report. */
export const SUMMARY_ROWS = 100;
/** Charts in the job summary (one per repository) and points in each. */
export const CHART_UNITS = 10;
export const HISTORY_POINTS = 10;
/** GitHub refuses a step summary over 1 MiB; the summary is cut well below it. */
export const SUMMARY_LIMIT = 1024 * 1024;
const SUMMARY_BUDGET = 768 * 1024;
/** Listings and manifest reads in flight at once. */
const CONCURRENCY = 16;
/** Longest user text (a name, an error) put into one cell of the summary. */
const CELL_CHARS = 300;

export interface ReportSettings {
  /** `max-age` in canonical form (`26h`, `2d`): a unit whose newest snapshot is older is stale. */
  maxAge: string;
  maxAgeDuration: Duration;
  /** `repositories` as given: each one expected to have a snapshot. Empty: whatever the store holds. */
  repositories: string[];
  /** Where the JSON report is written (`json-path`, default `$RUNNER_TEMP/backup-report.json`). */
  jsonPath: string;
}

/**
 * fresh: newest snapshot within max-age. stale: older. never: an expected repository without any
 * snapshot. unreadable: the newest snapshot's manifest (or the listing) cannot be read. Only fresh passes.
 */
export type Verdict = 'fresh' | 'stale' | 'never' | 'unreadable';

/** What a unit's newest snapshot is; sizes and counts come from its manifest (absent when unreadable). */
export interface LatestSnapshot {
  id: string;
  /** The creation time encoded in the id (known even when the manifest is not readable). */
  createdAt: string;
  ageMs: number;
  /** Stored bytes (after compression and encryption): the manifest's `size`. */
  size?: number;
  /** git: refs in the snapshot, and whether the repository had none. */
  refs?: number;
  empty?: boolean;
  /** files: entries archived and the sum of the files' sizes. */
  files?: number;
  fileBytes?: number;
  tags?: string[];
}

/** The newest snapshot against the one before it, from both manifests. */
export interface SnapshotChange {
  previousId: string;
  previousCreatedAt: string;
  /** Stored bytes, newest minus previous. */
  sizeDelta: number;
  /** git: ref names added, removed, and pointing elsewhere (every name, sorted). */
  refs?: { added: string[]; removed: string[]; moved: string[] };
  /** files: entries, newest minus previous. */
  filesDelta?: number;
}

/**
 * The outcome of the last verify of a unit. Verify does not record its results in the store yet, so
 * `ReportUnit.lastVerify` is always absent; the field is the place for it once it does.
 */
export interface LastVerify {
  id: string;
  at: string;
  ok: boolean;
  level: string;
}

export interface ReportUnit {
  /** null for an expected repository that has no snapshot of any kind. */
  kind: SnapshotKind | null;
  /** Stored name: `github.com/owner/repo`, `local/name`, a file snapshot's name. */
  source: string;
  /** The store it is in, without secrets. */
  location: string;
  verdict: Verdict;
  /** Complete snapshots (with a manifest). */
  snapshots: number;
  latest?: LatestSnapshot;
  change?: SnapshotChange;
  /** Why the previous snapshot could not be compared (its manifest is unreadable). */
  previousError?: string;
  /**
   * The newest (up to HISTORY_POINTS) complete snapshots, newest first, with the bytes stored in each
   * folder besides the manifest, from the listing (equal to the manifest's `size` in a healthy store).
   */
  history: Array<{ id: string; size: number }>;
  /** Why the unit is unreadable. */
  error?: string;
  /** Not recorded by verify yet: always absent (see LastVerify). */
  lastVerify?: LastVerify;
}

export interface Report {
  format: 'backup-action-report';
  formatVersion: 1;
  generatedAt: string;
  maxAge: string;
  /** A newest snapshot created before this is stale. */
  staleBefore: string;
  ok: boolean;
  counts: { units: number; fresh: number; stale: number; never: number; unreadable: number };
  /** Ordered by source, then kind. */
  units: ReportUnit[];
  /** Failures that belong to no unit: a store without any snapshot when none was named. */
  problems: string[];
}

/** Parses and validates the inputs of `report` before anything is read. */
export function parseReportSettings(read: InputReader, env: NodeJS.ProcessEnv = process.env): ReportSettings {
  const text = read('max-age').trim() || DEFAULT_MAX_AGE;
  let maxAgeDuration: Duration;
  try {
    maxAgeDuration = parseDuration(text);
  } catch (error) {
    throw new InputError('max-age', errorMessage(error));
  }
  if (isZeroDuration(maxAgeDuration)) {
    throw new InputError('max-age', `"${text}" is zero: every snapshot would be stale. Use e.g. 26h or 2d.`);
  }
  const jsonPath = read('json-path').trim();
  if (jsonPath) checkWritablePath('json-path', path.resolve(jsonPath));
  return {
    maxAge: formatDuration(maxAgeDuration),
    maxAgeDuration,
    repositories: parseList(read('repositories')),
    jsonPath: jsonPath
      ? path.resolve(jsonPath)
      : env.RUNNER_TEMP
        ? path.join(env.RUNNER_TEMP, 'backup-report.json')
        : path.join(os.tmpdir(), `backup-report-${randomBytes(6).toString('hex')}.json`),
  };
}

/** Fails now, naming the input, when `file` could never be written: a folder, or below a file. */
function checkWritablePath(input: string, file: string): void {
  if (existsSync(file) && statSync(file).isDirectory()) {
    throw new InputError(
      input,
      `${file} is a folder. Give a file name, e.g. ${path.join(file, 'report.json')}.`,
    );
  }
  for (let folder = path.dirname(file); ; folder = path.dirname(folder)) {
    if (existsSync(folder)) {
      if (!statSync(folder).isDirectory()) {
        throw new InputError(input, `${folder} is a file, so ${file} cannot be created. Give another path.`);
      }
      return;
    }
    if (path.dirname(folder) === folder) return;
  }
}

/**
 * `report` (action and CLI): the stores of the selected repositories (or the whole destination), each
 * failing unit logged as an error, named. Writing the JSON and the summary is the caller's.
 */
export async function runReport(
  read: InputReader,
  env: NodeJS.ProcessEnv = process.env,
  now = new Date(),
  kinds: SnapshotKind[] = SNAPSHOT_KINDS,
): Promise<{ settings: ReportSettings; report: Report }> {
  const settings = parseReportSettings(read, env);
  const stores = await openUnits(read, settings.repositories, kinds);
  const report = await buildReport(stores, settings, now);
  for (const unit of report.units.filter((u) => u.verdict !== 'fresh')) log.error(failureText(unit, report));
  for (const problem of report.problems) log.error(problem);
  return { settings, report };
}

/**
 * Reads what the stores hold: one listing per kind of each store (or per kind and named source, so a
 * few repositories do not read a whole bucket), then the manifests of the newest two snapshots of each
 * unit, CONCURRENCY at a time. An unreadable manifest makes its unit `unreadable`, never the report fail.
 */
export async function buildReport(
  stores: Array<{ store: Store; sources?: string[] }>,
  settings: Pick<ReportSettings, 'maxAge' | 'maxAgeDuration'>,
  now: Date,
): Promise<Report> {
  const staleBefore = subtractDuration(now.getTime(), settings.maxAgeDuration);
  const units: ReportUnit[] = [];
  const problems: string[] = [];
  for (const { store, sources } of stores) {
    const found = await listStore(store, sources);
    if (!sources && found.length === 0) problems.push(`no snapshots in ${store.location}`);
    units.push(
      ...(await mapLimit(found, CONCURRENCY, (listed) => describeUnit(store, listed, now, staleBefore))),
    );
  }
  units.sort((a, b) => compare(a.source, b.source) || compare(a.kind ?? '', b.kind ?? ''));
  const count = (verdict: Verdict) => units.filter((unit) => unit.verdict === verdict).length;
  const counts = {
    units: units.length,
    fresh: count('fresh'),
    stale: count('stale'),
    never: count('never'),
    unreadable: count('unreadable'),
  };
  return {
    format: 'backup-action-report',
    formatVersion: 1,
    generatedAt: now.toISOString(),
    maxAge: settings.maxAge,
    staleBefore: isoTime(staleBefore),
    ok: counts.fresh === counts.units && problems.length === 0,
    counts,
    units,
    problems,
  };
}

/** The JSON report (every unit, full detail), for the `json` output; the folder is created. */
export async function writeReportJson(report: Report, file: string): Promise<void> {
  await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await fs.writeFile(file, redact(JSON.stringify(report, null, 2)) + '\n');
}

/** A unit as listed: its complete snapshots, newest first, with the bytes of each folder. */
interface Listed {
  kind: SnapshotKind | null;
  source: string;
  snapshots: Array<{ ref: SnapshotRef; bytes: number }>;
  /** The listing failed (for a named source only: a whole-store listing failure is thrown). */
  error?: string;
}

async function listStore(store: Store, sources: string[] | undefined): Promise<Listed[]> {
  if (!sources) {
    const units = new Map<string, Listed>();
    for (const kind of SNAPSHOT_KINDS) {
      try {
        await collect(store, kind, `${kind}/`, undefined, units);
      } catch (error) {
        if (error instanceof InputError) throw error;
        throw new Error(`cannot list ${kind}/ in ${store.location}: ${errorMessage(error)}`, {
          cause: error,
        });
      }
    }
    return [...units.values()];
  }
  const perSource = await mapLimit([...new Set(sources)], CONCURRENCY, async (source): Promise<Listed[]> => {
    const units = new Map<string, Listed>();
    try {
      for (const kind of SNAPSHOT_KINDS)
        await collect(store, kind, sourcePrefix(kind, source), source, units);
    } catch (error) {
      if (error instanceof InputError) throw error;
      return [{ kind: null, source, snapshots: [], error: `cannot list ${source}: ${errorMessage(error)}` }];
    }
    return units.size > 0 ? [...units.values()] : [{ kind: null, source, snapshots: [] }];
  });
  return perSource.flat();
}

/** Adds the complete snapshots under `prefix` to `units`; `source` excludes nested sources (`a/b/c` under `a/b/`). */
async function collect(
  store: Store,
  kind: SnapshotKind,
  prefix: string,
  source: string | undefined,
  units: Map<string, Listed>,
): Promise<void> {
  const folders = new Map<
    string,
    { kind: SnapshotKind; source: string; id: string; bytes: number; manifest?: string }
  >();
  for await (const object of store.list(prefix)) {
    const parsed = parseSnapshotKey(object.key);
    if (!parsed || parsed.kind !== kind || (source !== undefined && parsed.source !== source)) continue;
    const folderKey = `${parsed.source}/${parsed.id}`;
    let folder = folders.get(folderKey);
    if (!folder) folders.set(folderKey, (folder = { kind, source: parsed.source, id: parsed.id, bytes: 0 }));
    if (parsed.name === MANIFEST_NAME) folder.manifest = object.key;
    else folder.bytes += object.size;
  }
  for (const folder of folders.values()) {
    if (!folder.manifest) continue; // an upload in progress or an interrupted one: not a snapshot
    const unitKey = `${kind}/${folder.source}`;
    let unit = units.get(unitKey);
    if (!unit) units.set(unitKey, (unit = { kind, source: folder.source, snapshots: [] }));
    const ref = { kind, source: folder.source, id: folder.id, manifestKey: folder.manifest };
    unit.snapshots.push({ ref, bytes: folder.bytes });
  }
  for (const unit of units.values()) unit.snapshots.sort((a, b) => compare(b.ref.id, a.ref.id));
}

async function describeUnit(
  store: Store,
  listed: Listed,
  now: Date,
  staleBefore: number,
): Promise<ReportUnit> {
  const base = {
    kind: listed.kind,
    source: listed.source,
    location: store.location,
    snapshots: listed.snapshots.length,
    history: listed.snapshots.slice(0, HISTORY_POINTS).map((s) => ({ id: s.ref.id, size: s.bytes })),
  };
  if (listed.error) return { ...base, verdict: 'unreadable', error: listed.error };
  const [newest, previous] = listed.snapshots;
  if (!newest) return { ...base, verdict: 'never' };

  const time = idTime(newest.ref.id);
  const latest: LatestSnapshot = {
    id: newest.ref.id,
    createdAt: isoTime(time),
    ageMs: now.getTime() - time,
  };
  const [current, before] = await Promise.all([newest, previous].map((s) => s && attempt(store, s.ref)));
  if (current instanceof Error) return { ...base, verdict: 'unreadable', latest, error: current.message };
  Object.assign(latest, contents(current));
  const unit: ReportUnit = { ...base, verdict: time < staleBefore ? 'stale' : 'fresh', latest };
  if (before instanceof Error) unit.previousError = before.message;
  else if (before) unit.change = compareManifests(current, before);
  return unit;
}

async function attempt(store: Store, ref: SnapshotRef): Promise<Manifest | Error> {
  try {
    return await readManifest(store, ref);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

function contents(manifest: Manifest): Partial<LatestSnapshot> {
  const common = { size: manifest.size, tags: Array.isArray(manifest.tags) ? manifest.tags : [] };
  return manifest.kind === 'git'
    ? { ...common, refs: Object.keys(manifest.git.refs).length, empty: manifest.git.empty }
    : { ...common, files: manifest.files.count, fileBytes: manifest.files.bytes };
}

function compareManifests(current: Manifest, previous: Manifest): SnapshotChange {
  const change: SnapshotChange = {
    previousId: previous.id,
    previousCreatedAt: isoTime(idTime(previous.id)),
    sizeDelta: current.size - previous.size,
  };
  if (current.kind === 'git' && previous.kind === 'git') {
    const now = current.git.refs;
    const then = previous.git.refs;
    const has = (refs: Record<string, string>, name: string) => Object.hasOwn(refs, name);
    change.refs = {
      added: Object.keys(now)
        .filter((name) => !has(then, name))
        .sort(),
      removed: Object.keys(then)
        .filter((name) => !has(now, name))
        .sort(),
      moved: Object.keys(now)
        .filter((name) => has(then, name) && then[name] !== now[name])
        .sort(),
    };
  } else if (current.kind === 'files' && previous.kind === 'files') {
    change.filesDelta = current.files.count - previous.files.count;
  }
  return change;
}

// ---- Rendering ----

const VERDICT_TEXT: Record<Verdict, string> = {
  fresh: 'fresh',
  stale: 'stale',
  never: 'never backed up',
  unreadable: 'unreadable',
};
const VERDICT_MARK: Record<Verdict, string> = { fresh: '✅', stale: '❌', never: '❌', unreadable: '❌' };

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

export interface SummaryOptions {
  /** Named in the note when rows are left out: where every unit can be read. */
  jsonPath?: string;
  /** Table rows at most (default SUMMARY_ROWS). */
  maxRows?: number;
}

/**
 * The job summary: a headline, the failing units named, a table (failing units first, at most
 * `maxRows` rows, the rest left to the JSON report) and a Mermaid chart of stored size over the last
 * snapshots of the largest repositories. Stays under SUMMARY_BUDGET (far under GitHub's 1 MiB) whatever
 * the number of units: every cell is capped, and rows are halved until it fits.
 */
export function reportSummary(report: Report, options: SummaryOptions = {}): string {
  let rows = options.maxRows ?? SUMMARY_ROWS;
  for (;;) {
    const text = redact(renderSummary(report, rows, options.jsonPath));
    if (Buffer.byteLength(text) <= SUMMARY_BUDGET || rows === 0) return text;
    rows = Math.floor(rows / 2);
  }
}

function renderSummary(report: Report, maxRows: number, jsonPath: string | undefined): string {
  const ordered = failingFirst(report.units);
  const failing = ordered.filter((unit) => unit.verdict !== 'fresh');
  const shown = ordered.slice(0, maxRows);
  const lines = [`## ${reportHeadline(report)}`, ''];
  for (const problem of report.problems) lines.push(`- ❌ ${cell(problem)}`);
  if (failing.length > 0) {
    const named = failing.slice(0, 20).map((unit) => `\`${code(displayName(unit))}\` (${shortState(unit)})`);
    const more = failing.length > named.length ? `, and ${failing.length - named.length} more` : '';
    lines.push(`Not fresh: ${named.join(', ')}${more}.`, '');
  }
  if (shown.length > 0) {
    lines.push(
      '| | Repository | Newest snapshot | Age | Size | Contents | Change since previous |',
      '| --- | --- | --- | --- | ---: | --- | --- |',
      ...shown.map(
        (unit) =>
          `| ${[
            `${VERDICT_MARK[unit.verdict]} ${VERDICT_TEXT[unit.verdict]}`,
            cell(displayName(unit)),
            unit.latest ? `\`${unit.latest.id}\`` : '—',
            unit.latest ? formatAge(unit.latest.ageMs) : '—',
            unit.latest?.size !== undefined ? formatBytes(unit.latest.size) : '—',
            contentsText(unit) || '—',
            cell(unit.error ?? changeText(unit)) || '—',
          ].join(' | ')} |`,
      ),
      '',
    );
  }
  if (shown.length < ordered.length) {
    const where = jsonPath
      ? ` in the JSON report (\`${code(jsonPath)}\`, the \`json\` output)`
      : ' in the JSON report';
    lines.push(
      `_${ordered.length - shown.length} more of ${ordered.length} not shown (failing ones first); every one is${where}._`,
      '',
    );
  }
  lines.push(...charts(report.units));
  return lines.join('\n');
}

/** One `xychart-beta` per repository (Mermaid's xychart has no legend, so one line each would be a guess). */
function charts(units: ReportUnit[]): string[] {
  const chosen = units
    .filter((unit) => unit.history.length >= 2)
    .sort((a, b) => b.history[0].size - a.history[0].size || compare(a.source, b.source))
    .slice(0, CHART_UNITS);
  if (chosen.length === 0) return [];
  const lines = [
    `### Stored size, last ${HISTORY_POINTS} snapshots${units.length > chosen.length ? ` of the ${chosen.length} largest` : ''}`,
    '',
  ];
  for (const unit of chosen) {
    const points = [...unit.history].reverse(); // oldest first
    const max = Math.max(...points.map((p) => p.size));
    const [divisor, unitName] = scale(max);
    const values = points.map((p) => round(p.size / divisor));
    const top = niceCeiling(Math.max(...values));
    lines.push(
      '```mermaid',
      'xychart-beta',
      `  title "${mermaidText(displayName(unit))}"`,
      `  x-axis [${axisLabels(points.map((p) => p.id))
        .map((label) => `"${label}"`)
        .join(', ')}]`,
      `  y-axis "${unitName}" 0 --> ${top}`,
      `  line [${values.join(', ')}]`,
      '```',
      '',
    );
  }
  return lines;
}

/**
 * The terminal rendering: the headline, then an aligned table of every unit (failing first). Plain
 * words rather than emoji, which terminals draw at varying widths.
 */
export function reportTable(report: Report): string {
  const header = [
    'VERDICT',
    'REPOSITORY',
    'NEWEST SNAPSHOT',
    'AGE',
    'SIZE',
    'CONTENTS',
    'CHANGE SINCE PREVIOUS',
  ];
  const rows = failingFirst(report.units).map((unit) => [
    VERDICT_TEXT[unit.verdict],
    displayName(unit),
    unit.latest?.id ?? '-',
    unit.latest ? formatAge(unit.latest.ageMs) : '-',
    unit.latest?.size !== undefined ? formatBytes(unit.latest.size) : '-',
    contentsText(unit) || '-',
    (unit.error ?? changeText(unit)) || '-',
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i].length)));
  const line = (row: string[]) =>
    row
      .map((text, i) =>
        i === row.length - 1 ? text : i === 4 ? text.padStart(widths[i]) : text.padEnd(widths[i]),
      )
      .join('  ')
      .trimEnd();
  const out = [reportHeadline(report, false), ...report.problems.map((problem) => `  ${problem}`), ''];
  if (rows.length > 0) out.push(line(header), ...rows.map(line));
  return redact(out.join('\n') + '\n');
}

function failingFirst(units: ReportUnit[]): ReportUnit[] {
  const rank: Record<Verdict, number> = { never: 0, unreadable: 1, stale: 2, fresh: 3 };
  return [...units].sort(
    (a, b) =>
      rank[a.verdict] - rank[b.verdict] ||
      // the stalest first among the stale
      (b.latest?.ageMs ?? 0) - (a.latest?.ageMs ?? 0) ||
      compare(a.source, b.source) ||
      compare(a.kind ?? '', b.kind ?? ''),
  );
}

function displayName(unit: ReportUnit): string {
  return unit.kind === 'files' ? `${unit.source} (files)` : unit.source;
}

function shortState(unit: ReportUnit): string {
  if (unit.verdict === 'stale') return `${formatAge(unit.latest!.ageMs)} old`;
  return VERDICT_TEXT[unit.verdict];
}

function contentsText(unit: ReportUnit): string {
  const latest = unit.latest;
  if (latest?.refs !== undefined)
    return latest.empty ? '0 refs (empty)' : `${latest.refs} ${plural(latest.refs, 'ref', 'refs')}`;
  if (latest?.files !== undefined) return `${latest.files} ${plural(latest.files, 'file', 'files')}`;
  return '';
}

function changeText(unit: ReportUnit): string {
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

/** Table cells hold user text: a `|` would split the cell, a newline the row; long text is cut. */
function cell(text: string): string {
  const short = text.length > CELL_CHARS ? `${text.slice(0, CELL_CHARS - 1)}…` : text;
  return short.replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
}

/** Inside backticks: no backtick, no line break, capped. */
function code(text: string): string {
  return cell(text).replace(/`/g, "'");
}

/** A Mermaid string: no quote or line break (they would end it), capped. */
function mermaidText(text: string): string {
  return text
    .replace(/["\r\n`]/g, "'")
    .replace(/[^\x20-\x7e]/g, '?')
    .slice(0, 100);
}

/** `11-20 14:15` per snapshot; with seconds (then milliseconds) when two fall in one minute, else by position. */
function axisLabels(ids: string[]): string[] {
  const at = (id: string, length: number) => isoTime(idTime(id)).slice(5, length).replace('T', ' ');
  for (const length of [16, 19, 23]) {
    const labels = ids.map((id) => at(id, length));
    if (new Set(labels).size === labels.length) return labels;
  }
  return ids.map((_, i) => `#${i + 1}`);
}

function scale(max: number): [number, string] {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let unit = 0;
  while (max >= 1024 ** (unit + 1) && unit < units.length - 1) unit++;
  return [1024 ** unit, units[unit]];
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/** A round top for the y axis: 1, 2 or 5 times a power of ten, at least the largest value. */
function niceCeiling(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return round(step * power);
  return value;
}

function isoTime(time: number): string {
  return Number.isFinite(time) ? new Date(time).toISOString() : new Date(0).toISOString();
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
