import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DecryptWith } from '../crypto/age.js';
import { errorMessage, InputError } from '../util/errors.js';
import * as log from '../log/log.js';
import { restoreFiles } from '../files/restore.js';
import { restoreSnapshot } from '../git/restore.js';
import { listSnapshots, readManifest, selectSnapshot, type SnapshotRef } from '../snapshot/catalog.js';
import { HashingStream } from '../snapshot/hash.js';
import {
  type Manifest,
  MANIFEST_NAME,
  type Part,
  SNAPSHOT_ID,
  SNAPSHOT_KINDS,
  type SnapshotKind,
  snapshotPrefix,
  DAMAGED_SUFFIX,
  isPackPart,
  packPrefix,
  partKey,
} from '../snapshot/manifest.js';
import type { Store } from '../store/store.js';

/** Each level includes the ones before it. */
export type VerifyLevel = 'manifest' | 'read-data' | 'restore';
export const LEVELS: VerifyLevel[] = ['manifest', 'read-data', 'restore'];

/** What to check in a store. */
export interface CheckSettings {
  level: VerifyLevel;
  /** `latest`, `all` or a snapshot id. */
  snapshot: string;
  /** Check only group `n` of `t` (`auto`: picked by the date); absent: everything. */
  subset?: { n: number | 'auto'; t: number };
}

export interface VerifyProblem {
  /** The part (or `manifest.json`) at fault; absent when the snapshot as a whole fails (restore). */
  part?: string;
  message: string;
}

export interface SnapshotResult {
  kind: SnapshotKind;
  source: string;
  id: string;
  level: VerifyLevel;
  ok: boolean;
  problems: VerifyProblem[];
  /** Bytes of parts downloaded and hashed by the data check (a restore check downloads them again). */
  bytesRead: number;
  durationMs: number;
}

export interface VerifyReport {
  level: VerifyLevel;
  /** The group checked this run, `auto` resolved; absent when everything was checked. */
  subset?: { n: number; t: number };
  results: SnapshotResult[];
  /** What was asked for but has no snapshot to check ("no snapshot of ..."): a failure too. */
  missing: string[];
  summary: {
    /** Kind+source pairs checked, and those left for another group of the subset. */
    units: number;
    skippedUnits: number;
    /** Snapshots checked, and those with at least one problem. */
    checked: number;
    failed: number;
    bytesRead: number;
  };
  ok: boolean;
}

/**
 * Restores `snapshot` into the empty folder `target` and throws if the result differs from its
 * manifest. One per kind: a kind without one cannot be checked at the restore level.
 */
export type RestoreCheck = (
  store: Store,
  snapshot: SnapshotRef,
  target: string,
  keys?: DecryptWith,
) => Promise<void>;

export const RESTORE_CHECKS: Partial<Record<SnapshotKind, RestoreCheck>> = {
  // restoreSnapshot runs `git fsck --full` and compares every ref with the manifest.
  git: async (store, snapshot, target, keys) => {
    await restoreSnapshot(store, snapshot, target, keys, { fullCheck: true });
  },
  // restoreFiles checks every entry's safety and the entry count; the bytes are compared here.
  files: async (store, snapshot, target, keys) => {
    const { manifest, entries } = await restoreFiles(store, snapshot, target, { keys });
    // The manifest counts each file's data once: a hard link adds no bytes.
    const bytes = entries.reduce(
      (sum, entry) => sum + (entry.type === 'file' && !entry.hardlink ? entry.size : 0),
      0,
    );
    if (bytes !== manifest.files.bytes) {
      throw new Error(`restored files hold ${bytes} bytes; the manifest says ${manifest.files.bytes}`);
    }
  },
};

export interface VerifyOptions {
  kind?: SnapshotKind;
  /** Only these sources (store names such as `github.com/owner/repo`); each must have a snapshot. */
  sources?: string[];
  /** The date that picks the group of `auto/t`. */
  now?: Date;
  /** Where restore checks restore to (default: the system's temporary folder); cleaned up after each. */
  scratchDir?: string;
  /** Keys for encrypted snapshots (needed at the restore level only: hashes cover the stored bytes). */
  decryptWith?: DecryptWith;
  /** Replaces RESTORE_CHECKS (to plug in a kind's check, or to watch one in tests). */
  restoreChecks?: Partial<Record<SnapshotKind, RestoreCheck>>;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Checks the chosen snapshots of the chosen sources at `settings.level` and reports every problem
 * found; only a failure to list the store throws.
 */
export async function verifyStore(
  store: Store,
  settings: CheckSettings,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const { units, missing } = await findUnits(store, settings.snapshot, options);
  const subset = settings.subset && resolveSubset(settings.subset, options.now ?? new Date());
  const selected = [...units].filter(([unit]) => !subset || groupOf(unit, subset.t) === subset.n - 1);

  const results: SnapshotResult[] = [];
  const reads: PartReads = new Map();
  for (const [, snapshots] of selected) {
    for (const snapshot of snapshots) {
      const result = await verifySnapshot(store, snapshot, settings.level, options, reads);
      log.info(
        `${snapshot.source} ${snapshot.id}: ${result.ok ? 'ok' : `${result.problems.length} problem(s)`}`,
      );
      results.push(result);
    }
  }
  const failed = results.filter((result) => !result.ok).length;
  return {
    level: settings.level,
    subset,
    results,
    missing,
    summary: {
      units: selected.length,
      skippedUnits: units.size - selected.length,
      checked: results.length,
      failed,
      bytesRead: results.reduce((sum, result) => sum + result.bytesRead, 0),
    },
    ok: failed === 0 && missing.length === 0,
  };
}

/** `auto/t` takes group (days since 1970-01-01 UTC mod t) + 1: t consecutive days cover every group. */
function resolveSubset(subset: NonNullable<CheckSettings['subset']>, now: Date): { n: number; t: number } {
  const n = subset.n === 'auto' ? (Math.floor(now.getTime() / DAY_MS) % subset.t) + 1 : subset.n;
  return { n, t: subset.t };
}

/**
 * A unit's group (0..t-1) depends on its name only, not on what else the store holds, so a repository
 * is checked on the same day of every cycle even as others come and go.
 */
function groupOf(unit: string, t: number): number {
  return createHash('sha256').update(unit).digest().readUIntBE(0, 6) % t;
}

/** The snapshots to check, by unit (`<kind>/<source>`, in name order), and what was asked for but not found. */
async function findUnits(
  store: Store,
  selector: string,
  options: VerifyOptions,
): Promise<{ units: Map<string, SnapshotRef[]>; missing: string[] }> {
  const sources = options.sources && [...new Set(options.sources)];
  let all: SnapshotRef[] = [];
  try {
    if (!sources) all = await listSnapshots(store, options.kind);
    else {
      // One listing per source: checking a few repositories does not read the whole bucket.
      for (const kind of options.kind ? [options.kind] : SNAPSHOT_KINDS) {
        for (const source of sources) all.push(...(await listSnapshots(store, kind, source)));
      }
    }
  } catch (error) {
    throw listingError(store, 'the snapshots', error);
  }

  const bySource = new Map<string, SnapshotRef[]>();
  for (const snapshot of all) {
    const unit = `${snapshot.kind}/${snapshot.source}`;
    bySource.set(unit, [...(bySource.get(unit) ?? []), snapshot]);
  }
  const units = new Map<string, SnapshotRef[]>();
  for (const unit of [...bySource.keys()].sort()) {
    const snapshots = bySource.get(unit)!; // newest first
    const chosen =
      selector === 'all' ? snapshots : [selectSnapshot(snapshots, selector)].filter((s) => s !== undefined);
    if (chosen.length > 0) units.set(unit, chosen);
  }

  const picked = [...units.values()].flat();
  const what = SNAPSHOT_ID.test(selector) ? `snapshot ${selector}` : 'snapshot';
  const missing = (sources ?? [])
    .filter((source) => !picked.some((snapshot) => snapshot.source === source))
    .map((source) => `no ${what} of ${source} in ${store.location}`);
  if (!sources && picked.length === 0) missing.push(`no ${what} in ${store.location}`);
  return { units, missing };
}

/** Bad credentials or bucket stay InputErrors (they name the input to fix); anything else gets context. */
function listingError(store: Store, what: string, error: unknown): Error {
  if (error instanceof InputError) return error;
  return new Error(`cannot list ${what} in ${store.location}: ${errorMessage(error)}`, { cause: error });
}

/** Parts read in this run, by key and checksum: packs shared by many snapshots are read once. */
type PartReads = Map<string, Promise<{ bytes: number; problem?: string; damaged?: boolean }>>;

async function verifySnapshot(
  store: Store,
  snapshot: SnapshotRef,
  level: VerifyLevel,
  options: VerifyOptions,
  reads: PartReads,
): Promise<SnapshotResult> {
  const started = Date.now();
  const problems: VerifyProblem[] = [];
  let bytesRead = 0;
  const done = () => ({
    kind: snapshot.kind,
    source: snapshot.source,
    id: snapshot.id,
    level,
    ok: problems.length === 0,
    problems,
    bytesRead,
    durationMs: Date.now() - started,
  });

  let manifest: Manifest;
  try {
    manifest = await readManifest(store, snapshot);
  } catch (error) {
    problems.push({ part: MANIFEST_NAME, message: errorMessage(error) });
    return done();
  }

  // manifest: every part is there with its size, from one listing (two with packs) without reading data.
  const prefixes = [snapshotPrefix(snapshot.kind, snapshot.source, snapshot.id)];
  if (manifest.parts.some(isPackPart)) prefixes.push(packPrefix(snapshot.source));
  const stored = new Map<string, number>();
  for (const prefix of prefixes) {
    try {
      for await (const object of store.list(prefix)) stored.set(object.key, object.size);
    } catch (error) {
      throw listingError(store, prefix, error);
    }
  }
  const present: Part[] = [];
  for (const part of manifest.parts) {
    const size = stored.get(partKey(snapshot, part));
    if (size === part.size) present.push(part);
    else if (size === undefined) problems.push({ part: part.name, message: 'is missing' });
    else problems.push({ part: part.name, message: `has ${size} bytes; the manifest says ${part.size}` });
  }
  if (level === 'manifest') return done();

  // read-data: parts with the right size are read whole (a wrong size was reported already).
  for (const part of present) {
    const key = partKey(snapshot, part);
    const id = `${key} ${part.size} ${part.sha256}`;
    const shared = reads.has(id);
    if (!shared) reads.set(id, readPart(store, key, part));
    const read = await reads.get(id)!;
    if (!shared) bytesRead += read.bytes;
    if (read.problem) problems.push({ part: part.name, message: read.problem });
    if (read.damaged && isPackPart(part) && !shared) await markDamaged(store, key, read.problem!);
  }
  if (level === 'read-data' || problems.length > 0) return done();

  // restore: only data that passed, since restoring broken data only repeats what was found.
  const check = (options.restoreChecks ?? RESTORE_CHECKS)[snapshot.kind];
  if (!check) {
    problems.push({
      message: `restore check for ${kindName(snapshot.kind)} snapshots is not available in this version`,
    });
    return done();
  }
  const scratchRoot = options.scratchDir ?? os.tmpdir();
  await fs.mkdir(scratchRoot, { recursive: true });
  const scratch = await fs.mkdtemp(path.join(scratchRoot, 'backup-action-verify-'));
  try {
    await check(store, snapshot, path.join(scratch, 'restored'), options.decryptWith);
  } catch (error) {
    problems.push({ message: `restore failed: ${errorMessage(error)}` });
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
  return done();
}

/** Streams a part through SHA-256 without keeping it: memory stays flat whatever its size. */
/**
 * Notes beside a damaged pack file that it is damaged (create-only, never over anything), so that the
 * next backup does not build on it. A store that refuses the note does not change the verdict.
 */
async function markDamaged(store: Store, key: string, problem: string): Promise<void> {
  const note = JSON.stringify({ damaged: key, problem, foundAt: new Date().toISOString() }) + '\n';
  try {
    await store.createExclusive(`${key}${DAMAGED_SUFFIX}`, Buffer.from(note));
  } catch (error) {
    log.warning(`cannot mark ${key} as damaged: ${errorMessage(error)}`);
  }
}

async function readPart(
  store: Store,
  key: string,
  part: Part,
): Promise<{ bytes: number; problem?: string; damaged?: boolean }> {
  const hashing = new HashingStream(part.size);
  const discard = new Writable({ write: (_chunk, _encoding, next) => next() });
  try {
    await pipeline(await store.download(key), hashing, discard);
  } catch (error) {
    if (hashing.bytes > part.size) {
      return { bytes: hashing.bytes, problem: `has more than the ${part.size} bytes the manifest says` };
    }
    return { bytes: hashing.bytes, problem: `cannot be read: ${errorMessage(error)}` };
  }
  const sha256 = hashing.digest();
  if (hashing.bytes !== part.size) {
    return { bytes: hashing.bytes, problem: `read ${hashing.bytes} bytes; the manifest says ${part.size}` };
  }
  if (sha256 !== part.sha256) {
    const problem = `has sha256 ${sha256}; the manifest says ${part.sha256}`;
    return { bytes: hashing.bytes, problem, damaged: true };
  }
  return { bytes: hashing.bytes };
}

function kindName(kind: SnapshotKind): string {
  return kind === 'files' ? 'file' : kind;
}
