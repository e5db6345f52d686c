import type { Duration } from '../retention/duration.js';
import type { SnapshotKind } from '../snapshot/manifest.js';

/** Backups are expected at least daily, with two hours of slack for a slow or queued run. */
export const DEFAULT_MAX_AGE = '26h';
/** Snapshots per unit whose stored size the report keeps (the points of its chart). */
export const HISTORY_POINTS = 10;

/** What the report is measured against. */
export interface ReportOptions {
  /** `max-age` in canonical form (`26h`, `2d`): a unit whose newest snapshot is older is stale. */
  maxAge: string;
  maxAgeDuration: Duration;
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
  /** Stored bytes (after compression and encryption): the manifest's `size` (format 2: all its packs). */
  size?: number;
  /** Format 2: the bytes this snapshot uploaded (its new pack); the rest it shares with earlier ones. */
  added?: number;
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
  history: Array<{ id: string; size: number; added?: number }>;
  /** Format 2: what the repository takes in the store: every pack of its pack folder. */
  packBytes?: number;
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
