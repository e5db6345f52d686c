/**
 * A calendar duration for `keep-within`, as restic's (internal/data/duration.go): whole years, months,
 * days and hours, plus weeks (7 days), which restic does not have.
 */
export interface Duration {
  years: number;
  months: number;
  weeks: number;
  days: number;
  hours: number;
}

const UNITS: Record<string, keyof Duration> = { y: 'years', m: 'months', w: 'weeks', d: 'days', h: 'hours' };
const EXAMPLES = 'Use numbers with units y, m (months), w, d or h, e.g. 30d, 2w, 6m, 1y6m, 12h.';

/** `1y6m`, `2w`, `36h`... Throws an Error whose message says what is wrong and how to write it. */
export function parseDuration(text: string): Duration {
  const input = text.trim();
  const duration: Duration = { years: 0, months: 0, weeks: 0, days: 0, hours: 0 };
  const seen = new Set<string>();
  const pattern = /(\d+)([^\d]?)/y;
  if (input === '') throw new Error(`"" is not a duration. ${EXAMPLES}`);
  while (pattern.lastIndex < input.length) {
    const at = pattern.lastIndex;
    const match = pattern.exec(input);
    if (!match)
      throw new Error(`"${input}" is not a duration: expected a number at "${input.slice(at)}". ${EXAMPLES}`);
    const [, digits, unit] = match;
    const field = UNITS[unit];
    if (unit === '') throw new Error(`"${input}" is not a duration: ${digits} has no unit. ${EXAMPLES}`);
    if (!field) throw new Error(`"${input}" is not a duration: unknown unit "${unit}". ${EXAMPLES}`);
    if (seen.has(unit))
      throw new Error(`"${input}" is not a duration: "${unit}" is given twice. ${EXAMPLES}`);
    const value = Number(digits);
    if (!Number.isSafeInteger(value))
      throw new Error(`"${input}" is not a duration: ${digits} is too large.`);
    seen.add(unit);
    duration[field] = value;
  }
  return duration;
}

/** Canonical text (restic's order: y m d h, with w before d): `1y6m`, `2w3d`. Empty for zero. */
export function formatDuration(duration: Duration): string {
  return Object.entries(UNITS)
    .filter(([, field]) => duration[field] !== 0)
    .map(([unit, field]) => `${duration[field]}${unit}`)
    .join('');
}

/** restic treats a zero duration (`0d`) as "not set". */
export function isZeroDuration(duration: Duration): boolean {
  return Object.values(UNITS).every((field) => duration[field] === 0);
}

/**
 * `time` minus `duration`, as restic computes it: Go's `AddDate(-y, -m, -d)` in UTC (a day of month that
 * does not exist rolls over: 31 March - 1m is 2 or 3 March), then minus the hours as elapsed time.
 * A result before the representable range is -Infinity (everything is newer).
 */
export function subtractDuration(time: number, duration: Duration): number {
  const date = new Date(time);
  // setUTCFullYear normalizes month and day overflow like Go's time.Date, and takes years literally.
  date.setUTCFullYear(
    date.getUTCFullYear() - duration.years,
    date.getUTCMonth() - duration.months,
    date.getUTCDate() - duration.days - 7 * duration.weeks,
  );
  const result = date.getTime() - duration.hours * 3_600_000;
  return Number.isNaN(result) ? -Infinity : result;
}
