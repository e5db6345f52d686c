import { byteScale, formatBytes } from '../util/format.js';
import { idTime } from '../snapshot/catalog.js';
import { redact } from '../util/secrets.js';
import { HISTORY_POINTS, type Report, type ReportUnit } from './report.js';
import {
  changeText,
  compareText,
  contentsText,
  displayName,
  failingFirst,
  formatAge,
  isoTime,
  reportHeadline,
  shortState,
  VERDICT_MARK,
  VERDICT_TEXT,
} from './text.js';

/** Rows of the job summary's table; every unit is in the JSON report. */
export const SUMMARY_ROWS = 100;
/** Charts in the job summary (one per repository). */
export const CHART_UNITS = 10;
/** GitHub refuses a step summary over 1 MiB; the summary is cut well below it. */
export const SUMMARY_LIMIT = 1024 * 1024;
const SUMMARY_BUDGET = 768 * 1024;
/** Longest user text (a name, an error) put into one cell of the summary. */
const CELL_CHARS = 300;

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
            sizeText(unit),
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
    .sort((a, b) => b.history[0].size - a.history[0].size || compareText(a.source, b.source))
    .slice(0, CHART_UNITS);
  if (chosen.length === 0) return [];
  const lines = [
    `### Stored size, last ${HISTORY_POINTS} snapshots${units.length > chosen.length ? ` of the ${chosen.length} largest` : ''}`,
    '',
  ];
  for (const unit of chosen) {
    const points = [...unit.history].reverse(); // oldest first
    const max = Math.max(...points.map((p) => p.size));
    const [divisor, unitName] = byteScale(max);
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

/** The newest snapshot's size; for a pack set also what it added and what the repository takes. */
function sizeText(unit: ReportUnit): string {
  const latest = unit.latest;
  if (latest?.size === undefined) return '—';
  if (latest.added === undefined) return formatBytes(latest.size);
  const stored = unit.packBytes !== undefined ? `, ${formatBytes(unit.packBytes)} stored` : '';
  return `${formatBytes(latest.size)} (+${formatBytes(latest.added)} new${stored})`;
}
