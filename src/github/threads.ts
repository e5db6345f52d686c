import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ApiObject, RecordState } from '../snapshot/records.js';

/**
 * A snapshot's issues and pull requests as threads: each with its comments, and a pull request's
 * reviews and review comments, in date order. Restoring into a repository and into a folder both
 * read them from here, so both tell a thread the same way.
 */

export interface Thread {
  kind: 'issue' | 'pull';
  number: number;
  data: ApiObject;
  /** Conversation comments, oldest first. */
  comments: ApiObject[];
  /** Pull requests only, oldest first. */
  reviews: ApiObject[];
  reviewComments: ApiObject[];
}

export interface TimelineEntry {
  kind: 'comment' | 'review' | 'review-comment';
  /** When it was written (a review: submitted). */
  at: string;
  data: ApiObject;
}

/** Every issue and pull request of the state, in number order. */
export function threadsOf(state: RecordState): Thread[] {
  const comments = groupBy(state.all('issue-comment'), (r) => r.issue);
  const reviews = groupBy(state.all('review'), (r) => r.pull);
  const reviewComments = groupBy(state.all('review-comment'), (r) => r.pull);
  const thread = (kind: Thread['kind'], data: ApiObject): Thread => {
    const number = Number(data.number);
    return {
      kind,
      number,
      data,
      comments: comments.get(number) ?? [],
      reviews: kind === 'pull' ? (reviews.get(number) ?? []) : [],
      reviewComments: kind === 'pull' ? (reviewComments.get(number) ?? []) : [],
    };
  };
  return [
    ...state.all('issue').map((r) => thread('issue', r.data)),
    ...state.all('pull').map((r) => thread('pull', r.data)),
  ].sort((a, b) => a.number - b.number);
}

function groupBy<T extends { data: ApiObject }>(
  records: T[],
  numberOf: (r: T) => number,
): Map<number, ApiObject[]> {
  const byNumber = new Map<number, ApiObject[]>();
  for (const record of records) {
    const list = byNumber.get(numberOf(record)) ?? [];
    list.push(record.data);
    byNumber.set(numberOf(record), list);
  }
  for (const list of byNumber.values()) list.sort(byDate);
  return byNumber;
}

/** A thread's comments, reviews and review comments together, oldest first. */
export function timelineOf(thread: Thread): TimelineEntry[] {
  const entries: TimelineEntry[] = [
    ...thread.comments.map((data) => ({ kind: 'comment' as const, at: dateOf(data), data })),
    // A pending review is a draft only its author sees; an empty "commented" review only holds review comments.
    ...thread.reviews
      .filter((r) => r.state !== 'PENDING' && !(r.state === 'COMMENTED' && !textOf(r.body)))
      .map((data) => ({ kind: 'review' as const, at: dateOf(data), data })),
    ...thread.reviewComments.map((data) => ({ kind: 'review-comment' as const, at: dateOf(data), data })),
  ];
  return entries.sort((a, b) => a.at.localeCompare(b.at) || Number(a.data.id) - Number(b.data.id));
}

function dateOf(data: ApiObject): string {
  return String(data.submitted_at ?? data.created_at ?? '');
}

function byDate(a: ApiObject, b: ApiObject): number {
  return dateOf(a).localeCompare(dateOf(b)) || Number(a.id) - Number(b.id);
}

export function textOf(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

export function loginOf(data: ApiObject): string {
  const user = data.user as { login?: string } | null | undefined;
  return user?.login ?? 'ghost';
}

/** "2026-01-02" of an ISO time. */
export function dayOf(iso: unknown): string {
  return textOf(iso).slice(0, 10);
}

export function labelNamesOf(data: ApiObject): string[] {
  const labels = Array.isArray(data.labels) ? (data.labels as Array<{ name?: string } | string>) : [];
  return labels.map((l) => (typeof l === 'string' ? l : (l.name ?? ''))).filter(Boolean);
}

export function milestoneTitleOf(data: ApiObject): string | undefined {
  return (data.milestone as { title?: string } | null | undefined)?.title;
}

/** A pull request's state in words: "merged", "closed without merging" or "open". */
export function pullStateOf(data: ApiObject): string {
  if (data.merged_at) return 'merged';
  return data.state === 'closed' ? 'closed without merging' : 'open';
}

/** "feature → main" of a pull request. */
export function branchesOf(data: ApiObject): string {
  const ref = (side: unknown) => {
    const s = side as { label?: string; ref?: string } | undefined;
    return s?.label ?? s?.ref ?? '?';
  };
  return `${ref(data.head)} → ${(data.base as { ref?: string } | undefined)?.ref ?? '?'}`;
}

/** What a review decided, in words. */
export function reviewStateOf(review: ApiObject): string {
  const words: Record<string, string> = {
    APPROVED: 'approved',
    CHANGES_REQUESTED: 'requested changes',
    COMMENTED: 'commented',
    DISMISSED: 'reviewed (dismissed)',
  };
  return words[String(review.state)] ?? String(review.state).toLowerCase();
}

/** "`src/a.ts` line 12" of a review comment. */
export function placeOf(comment: ApiObject): string {
  const line = comment.line ?? comment.original_line ?? comment.position;
  return `\`${textOf(comment.path)}\`${line != null ? ` line ${String(line)}` : ''}`;
}

/** A code fence longer than any run of backticks in the text. */
export function fenced(text: string, language = ''): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${language}\n${text}\n${fence}`;
}

// ---------------------------------------------------------------------------------------------------
// Into a folder

/**
 * Writes the snapshot's metadata into `folder` as JSON (everything GitHub gave) and Markdown (to read),
 * with an index, and release assets as files. The same state always gives the same files.
 */
export async function writeMetadataFolder(
  folder: string,
  state: RecordState,
  readBlob: (sha256: string) => Promise<Readable>,
  source: string,
): Promise<{ files: number; bytes: number }> {
  const root = resolve(folder);
  let files = 0;
  let bytes = 0;
  const write = async (path: string, text: string) => {
    const target = inside(root, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, text);
    files++;
    bytes += Buffer.byteLength(text);
  };
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

  await write('labels.json', json(state.set('labels')));
  await write('milestones.json', json(state.set('milestones')));

  const threads = threadsOf(state);
  for (const thread of threads) {
    const dir = thread.kind === 'issue' ? 'issues' : 'pulls';
    const whole =
      thread.kind === 'issue'
        ? { ...thread.data, comments: thread.comments }
        : {
            ...thread.data,
            comments: thread.comments,
            reviews: thread.reviews,
            review_comments: thread.reviewComments,
          };
    await write(`${dir}/${thread.number}.json`, json(whole));
    await write(`${dir}/${thread.number}.md`, threadMarkdown(thread, source));
  }

  const releases = [...state.set('releases')].sort((a, b) => compare(textOf(a.tag_name), textOf(b.tag_name)));
  const releaseDirs = uniqueNames(releases.map((r) => textOf(r.tag_name)));
  for (const [index, release] of releases.entries()) {
    const dir = `releases/${releaseDirs[index]}`;
    await write(`${dir}/release.json`, json(release));
    const assets = [...release.assets].sort((a, b) => compare(textOf(a.name), textOf(b.name)));
    const names = uniqueNames(assets.map((a) => textOf(a.name)));
    for (const [i, asset] of assets.entries()) {
      if (!asset.sha256) continue;
      const target = inside(root, `${dir}/${names[i]}`);
      await mkdir(dirname(target), { recursive: true });
      const out = createWriteStream(target);
      await pipeline(await readBlob(asset.sha256), out);
      files++;
      bytes += out.bytesWritten;
    }
  }

  await write('index.md', indexMarkdown(threads, releases, releaseDirs, state, source));
  return { files, bytes };
}

function threadMarkdown(thread: Thread, source: string): string {
  const data = thread.data;
  const state = thread.kind === 'pull' ? pullStateOf(data) : textOf(data.state);
  const labels = labelNamesOf(data);
  const milestone = milestoneTitleOf(data);
  const lines = [
    `# ${thread.kind === 'pull' ? 'Pull request' : 'Issue'} #${thread.number}: ${textOf(data.title)}`,
    '',
    `**${state}** · opened by @${loginOf(data)} on ${timeOf(data.created_at)} in ${source} · [on GitHub](${textOf(data.html_url)})`,
  ];
  if (thread.kind === 'pull') lines.push('', `Branches: ${branchesOf(data)}`);
  if (labels.length) lines.push('', `Labels: ${labels.join(', ')}`);
  if (milestone) lines.push('', `Milestone: ${milestone}`);
  lines.push('', textOf(data.body) || '_No description._');
  for (const entry of timelineOf(thread)) {
    lines.push('', '---', '', `### ${entryHeading(entry)}`, '');
    if (entry.kind === 'review-comment' && entry.data.diff_hunk) {
      lines.push(fenced(textOf(entry.data.diff_hunk), 'diff'), '');
    }
    lines.push(textOf(entry.data.body) || '_No text._');
  }
  return `${lines.join('\n')}\n`;
}

function entryHeading(entry: TimelineEntry): string {
  const who = `@${loginOf(entry.data)}`;
  const when = timeOf(entry.at);
  const link = entry.data.html_url ? ` ([link](${textOf(entry.data.html_url)}))` : '';
  if (entry.kind === 'review') return `${who} ${reviewStateOf(entry.data)} on ${when}${link}`;
  if (entry.kind === 'review-comment') return `${who} commented on ${placeOf(entry.data)} on ${when}${link}`;
  return `${who} commented on ${when}${link}`;
}

function indexMarkdown(
  threads: Thread[],
  releases: ApiObject[],
  releaseDirs: string[],
  state: RecordState,
  source: string,
): string {
  const link = (text: string, path: string) => `[${text.replace(/([[\]\\])/g, '\\$1')}](${encodeURI(path)})`;
  const lines = [`# Issues, pull requests and releases of ${source}`, ''];
  lines.push(
    `${link('Labels', 'labels.json')} (${state.set('labels').length}) · ${link('Milestones', 'milestones.json')} (${state.set('milestones').length})`,
  );
  for (const [title, kind, dir] of [
    ['Issues', 'issue', 'issues'],
    ['Pull requests', 'pull', 'pulls'],
  ] as const) {
    const list = threads.filter((t) => t.kind === kind);
    lines.push('', `## ${title} (${list.length})`, '');
    for (const t of list) {
      const state = kind === 'pull' ? pullStateOf(t.data) : textOf(t.data.state);
      lines.push(`- ${link(`#${t.number} ${textOf(t.data.title)}`, `${dir}/${t.number}.md`)} (${state})`);
    }
  }
  lines.push('', `## Releases (${releases.length})`, '');
  for (const [i, release] of releases.entries()) {
    const name = textOf(release.name) || textOf(release.tag_name);
    lines.push(`- ${link(name, `releases/${releaseDirs[i]}/release.json`)} (${textOf(release.tag_name)})`);
  }
  return `${lines.join('\n')}\n`;
}

function timeOf(iso: unknown): string {
  const text = textOf(iso);
  return text ? `${text.slice(0, 10)} ${text.slice(11, 16)} UTC` : 'an unknown date';
}

/** Code-point order: the same on every machine, unlike localeCompare. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A name GitHub gave (a tag, an asset's name) as one safe file name: no separators, no control
 * characters, never "." or "..", not too long. Names that end up equal get "-2", "-3", … appended.
 */
export function uniqueNames(names: string[]): string[] {
  const taken = new Set<string>();
  return names.map((name) => {
    const safe = safeName(name);
    let candidate = safe;
    for (let n = 2; taken.has(candidate.toLowerCase()); n++) candidate = `${safe}-${n}`;
    taken.add(candidate.toLowerCase());
    return candidate;
  });
}

export function safeName(name: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what is being removed
  let safe = name.replace(/[\u0000-\u001f\u007f/\\:*?"<>|]/g, '_').replace(/[. ]+$/, '');
  if (/^\.*$/.test(safe)) safe = `_${safe}`;
  // Most file systems allow 255 bytes a name.
  while (Buffer.byteLength(safe) > 200) safe = safe.slice(0, -1);
  return safe;
}

/** `path` under `root`, refusing anything that would land outside it. */
function inside(root: string, path: string): string {
  const target = resolve(root, path);
  const rel = relative(root, target);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || resolve(root, rel) !== target) {
    throw new Error(`Refusing to write ${JSON.stringify(path)}: it would land outside ${root}.`);
  }
  return join(root, rel);
}
