/**
 * What a repository snapshot holds beyond its git objects, as records: LFS objects, issues, pull
 * requests and their comments and reviews, labels, milestones and releases. Records are written as
 * gzipped JSON lines ("record packs", docs/FORMAT.md), content-addressed and shared like git packs: each
 * backup adds one record pack of what changed, and a snapshot lists every record pack it needs. Reading
 * them oldest first and keeping the newest record per `type` + `key` gives the snapshot's state.
 */

/** GitHub's JSON of an object, as the REST API returned it (kept whole: restore without us stays possible). */
export type ApiObject = Record<string, unknown>;

/** A release asset's bytes are stored as a blob; its JSON gains the blob's SHA-256. */
export type ReleaseJson = ApiObject & { assets: Array<ApiObject & { sha256?: string }> };

export type SnapshotRecord =
  /** An LFS object some ref's history points to (`path`: one file that does, for messages). */
  | { type: 'lfs-object'; key: string; size: number; path: string }
  /** An issue (not a pull request), key = its number. */
  | { type: 'issue'; key: string; data: ApiObject }
  /** A comment on an issue or on a pull request's conversation, key = comment id. */
  | { type: 'issue-comment'; key: string; issue: number; data: ApiObject }
  /** A pull request, key = its number. */
  | { type: 'pull'; key: string; data: ApiObject }
  /** A review of a pull request, key = review id. */
  | { type: 'review'; key: string; pull: number; data: ApiObject }
  /** A review comment (on a line of a pull request's diff), key = comment id. */
  | { type: 'review-comment'; key: string; pull: number; data: ApiObject }
  /** The whole set of labels / milestones / releases (small lists, fetched whole), key = ''. */
  | { type: 'labels'; key: ''; data: ApiObject[] }
  | { type: 'milestones'; key: ''; data: ApiObject[] }
  | { type: 'releases'; key: ''; data: ReleaseJson[] };

export type RecordType = SnapshotRecord['type'];
interface SetData {
  labels: ApiObject[];
  milestones: ApiObject[];
  releases: ReleaseJson[];
}
type SetType = keyof SetData;

/** The snapshot's state: the newest record of every type + key. */
export class RecordState {
  private readonly records = new Map<string, SnapshotRecord>();

  add(record: SnapshotRecord): void {
    this.records.set(`${record.type}\u0000${record.key}`, record);
  }

  /** Every record of one type, in the order their keys were first seen. */
  all<T extends RecordType>(type: T): Array<Extract<SnapshotRecord, { type: T }>> {
    return [...this.records.values()].filter(
      (r): r is Extract<SnapshotRecord, { type: T }> => r.type === type,
    );
  }

  /** The one record of a whole-set type (labels, milestones, releases), if any. */
  set<T extends SetType>(type: T): SetData[T] {
    const record = this.records.get(`${type}\u0000`) as { data: SetData[T] } | undefined;
    return record?.data ?? [];
  }

  get size(): number {
    return this.records.size;
  }
}
