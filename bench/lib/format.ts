// Statistics and formatting of the benchmarks' results.

type Maybe = number | undefined | null;

export function median(numbers: Maybe[]): number {
  const sorted = numbers
    .filter((x): x is number => x !== undefined && x !== null && !Number.isNaN(x))
    .sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export const max = (numbers: number[]): number => Math.max(...numbers);
const missing = (x: Maybe): x is undefined | null => x === undefined || x === null || Number.isNaN(x);
/** Seconds with 2 decimals. */
export const s = (x: Maybe): string => (missing(x) ? 'n/a' : x.toFixed(2));
/** MiB with 1 decimal. */
export const mib = (x: Maybe): string => (missing(x) ? 'n/a' : x.toFixed(1));
/** MiB with 1 decimal, or a dash for nothing seen (no such process, or too short-lived to be polled). */
export const mibOrDash = (x: Maybe): string => (missing(x) || x === 0 ? '–' : x.toFixed(1));
export const list = (numbers: number[]): string => numbers.map((x) => x.toFixed(2)).join(', ');

/** Bytes for people: B, then KiB, MiB, GiB with 3 significant digits (exact counts are in the JSON). */
export function bytes(n: Maybe): string {
  if (missing(n)) return 'n/a';
  if (Math.abs(n) < 1024) return `${Math.round(n)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toPrecision(3)} ${units[unit]}`;
}

export type Align = 'l' | 'r';
export type Cell = string | number | undefined | null;

/** A Markdown table (header row, alignment row of 'l' / 'r', rows). */
export function table(header: string[], align: Align[], rows: Cell[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [
    line(header),
    line(align.map((a) => (a === 'r' ? '---:' : '---'))),
    ...rows.map((row) => line(row.map((cell) => String(cell ?? '').replace(/\|/g, '\\|')))),
  ].join('\n');
}
