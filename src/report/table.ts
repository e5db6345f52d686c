import { formatBytes } from '../util/format.js';
import { redact } from '../util/secrets.js';
import type { Report } from './report.js';
import {
  changeText,
  contentsText,
  displayName,
  failingFirst,
  formatAge,
  reportHeadline,
  VERDICT_TEXT,
} from './text.js';

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
