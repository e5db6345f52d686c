import { type Duration, formatDuration, isZeroDuration, subtractDuration } from './duration.js';

/** A count meaning "no limit" (`unlimited` in inputs), as restic's -1. */
export const UNLIMITED = -1;

/**
 * Which snapshots to keep, with restic `forget` semantics. A count of 0 (or absent) and a zero
 * duration mean "rule not set", as in restic.
 */
export interface RetentionPolicy {
  last?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
  within?: Duration;
  tags?: string[];
}

export interface PolicySnapshot {
  id: string;
  time: Date;
  tags: string[];
}

export interface PolicyDecision {
  /** Newest first. */
  keep: Array<{ id: string; reasons: string[] }>;
  /** Newest first. */
  remove: Array<{ id: string }>;
}

type CountRule = 'last' | 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly';

/** restic's buckets (snapshot_policy.go: always, ymdh, ymd, yw, ym, y), in its order; all in UTC. */
export const COUNT_RULES: Array<{ rule: CountRule; bucket: (time: Date, index: number) => number }> = [
  { rule: 'last', bucket: (_, index) => index },
  { rule: 'hourly', bucket: (t) => ymd(t) * 100 + t.getUTCHours() },
  { rule: 'daily', bucket: ymd },
  { rule: 'weekly', bucket: isoYearWeek },
  { rule: 'monthly', bucket: (t) => t.getUTCFullYear() * 100 + t.getUTCMonth() + 1 },
  { rule: 'yearly', bucket: (t) => t.getUTCFullYear() },
];

export const EMPTY_POLICY_REASON = 'no retention rule given, nothing removed';

export function isEmptyPolicy(policy: RetentionPolicy): boolean {
  return (
    COUNT_RULES.every(({ rule }) => !isActive(policy[rule])) &&
    (!policy.within || isZeroDuration(policy.within)) &&
    !policy.tags?.length
  );
}

/**
 * Decides which snapshots to keep, exactly as restic's ApplyPolicy (internal/data/snapshot_policy.go):
 * walking newest to oldest, a snapshot is kept when any rule keeps it, and counts against every rule
 * that keeps it. A count rule keeps a snapshot whose bucket differs from the last one it kept, while it
 * has budget; with budget left at the oldest snapshot, it keeps that one too ("oldest daily snapshot").
 * `keep-within` keeps what is newer than the newest snapshot (ignoring any dated after `now`) minus
 * the duration. Unlike restic, which refuses an empty policy, an empty policy keeps everything.
 * Equal times are ordered by id, newest first.
 */
export function applyPolicy(
  snapshots: PolicySnapshot[],
  policy: RetentionPolicy,
  now: Date = new Date(),
): PolicyDecision {
  const sorted = [...snapshots].sort(
    (a, b) => b.time.getTime() - a.time.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0),
  );
  if (isEmptyPolicy(policy)) {
    return { keep: sorted.map(({ id }) => ({ id, reasons: [EMPTY_POLICY_REASON] })), remove: [] };
  }
  const rules = COUNT_RULES.filter(({ rule }) => isActive(policy[rule])).map((rule) => ({
    ...rule,
    left: policy[rule.rule]!,
    last: undefined as number | undefined,
  }));
  const within = policy.within && !isZeroDuration(policy.within) ? policy.within : undefined;
  const cutoff = within && subtractDuration(latestBefore(sorted, now), within);

  const decision: PolicyDecision = { keep: [], remove: [] };
  sorted.forEach((snapshot, index) => {
    const reasons: string[] = [];
    for (const tag of policy.tags ?? []) if (snapshot.tags.includes(tag)) reasons.push(`tag ${tag}`);
    if (within && snapshot.time.getTime() > cutoff!) reasons.push(`within ${formatDuration(within)}`);
    const oldest = index === sorted.length - 1;
    for (const rule of rules) {
      if (rule.left === 0) continue;
      const bucket = rule.bucket(snapshot.time, index);
      if (bucket === rule.last && !oldest) continue;
      reasons.push(`${bucket === rule.last ? 'oldest ' : ''}${rule.rule} snapshot`);
      rule.last = bucket;
      if (rule.left > 0) rule.left--;
    }
    if (reasons.length > 0) decision.keep.push({ id: snapshot.id, reasons });
    else decision.remove.push({ id: snapshot.id });
  });
  return decision;
}

/** restic keeps counts > 0 and -1 ("keep all"); anything else is "not set". */
function isActive(count: number | undefined): count is number {
  return count !== undefined && (count > 0 || count === UNLIMITED);
}

/**
 * restic's findLatestTimestamp: the newest snapshot time strictly before `now`, so that one snapshot
 * with a clock far in the future cannot make `keep-within` drop everything else. None: -Infinity.
 */
function latestBefore(sorted: PolicySnapshot[], now: Date): number {
  const found = sorted.find((snapshot) => snapshot.time.getTime() < now.getTime());
  return found ? found.time.getTime() : -Infinity;
}

function ymd(time: Date): number {
  return time.getUTCFullYear() * 10000 + (time.getUTCMonth() + 1) * 100 + time.getUTCDate();
}

/** ISO 8601 year and week (Go's ISOWeek) as YYYYWW: weeks start on Monday, week 1 holds January 4th. */
function isoYearWeek(time: Date): number {
  const day = new Date(Date.UTC(time.getUTCFullYear(), time.getUTCMonth(), time.getUTCDate()));
  // The Thursday of this week decides the year.
  day.setUTCDate(day.getUTCDate() + 3 - ((day.getUTCDay() + 6) % 7));
  const year = day.getUTCFullYear();
  const week = 1 + Math.floor((day.getTime() - Date.UTC(year, 0, 1)) / (7 * 86_400_000));
  return year * 100 + week;
}
