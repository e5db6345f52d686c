// Deterministic test data for the benchmarks, generated once under .bench/ and reused while its
// parameters (a JSON marker next to it) stay the same:
// - ensureSource: a repository of incompressible blobs of a given pack size (git fast-import);
// - addCommit: one more commit on main with one new incompressible file (the "next day" change), and
//   commitPackBytes: the size of that commit's own pack;
// - ensureTinyRepos: many small repositories;
// - ensureFileTree: a folder of many small text files in nested folders.
// Blob bytes are an AES-256-CTR keystream under a key derived from a seed: incompressible, and the
// same on every machine.
import { spawn, spawnSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { git, MiB, progress } from './lib/process.js';

const SEED = 'backup-action-bench-v1';
const COMMITS = 300;
const DIRS = 12;
const FILES_PER_DIR = 20;
const EPOCH = 1_700_000_000;

/** The generated source repository, as ensureSource describes it (also in the results' JSON). */
export interface SourceDescription {
  generator: string;
  seed: string;
  sizeMiB: number;
  commits: number;
  files: number;
  packBytes: number;
  cached: boolean;
  seconds: number;
}

export interface FileTree {
  tree: string;
  files: number;
  bytes: number;
  folders: number;
}

interface PlannedFile {
  path: string;
  weight: number;
  size: number;
}

interface PlannedCommit {
  index: number;
  mark: number;
  branch: string;
  from: number | undefined;
  commitWeight: number;
  files: PlannedFile[];
}

interface PlannedTag {
  name: string;
  mark: number;
  annotated?: boolean;
}

interface HistoryPlan {
  commits: PlannedCommit[];
  tags: PlannedTag[];
  totalBytes: number;
}

// ---------------------------------------------------------------------------------------------------
// The source repository

/** Where the source repository of `sizeMiB` lives under `work` (shared with bench/bundle.ts). */
export function sourceDir(work: string, sizeMiB: number): string {
  return path.join(work, `source-${String(sizeMiB).replace('.', '_')}mib.git`);
}

/**
 * Generates (or finds cached) the source repository: 300 commits over 3 branches, 240 binary files,
 * 9 tags, blobs summing to `sizeMiB` MiB. Returns its description (packBytes, seconds, cached).
 */
export async function ensureSource(dir: string, sizeMiB: number): Promise<SourceDescription> {
  const params = {
    generator: 'backup-action-bench/1',
    seed: SEED,
    sizeMiB,
    commits: COMMITS,
    files: DIRS * FILES_PER_DIR,
  };
  const marker = path.join(dir, 'bench-source.json');
  const describe = () => ({ ...params, packBytes: packBytes(dir), cached: true });
  const previous = readMarker<{ params: unknown; seconds: number }>(marker);
  if (previous && JSON.stringify(previous.params) === JSON.stringify(params)) {
    progress(`source repository ${dir} is cached`);
    return { ...describe(), seconds: previous.seconds };
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.dirname(dir), { recursive: true });
  git(['init', '--quiet', '--bare', '--initial-branch=main', dir]);
  progress(`generating ${sizeMiB} MiB source repository in ${dir}`);
  const started = performance.now();
  const { write, finish } = startFastImport(dir);

  const plan = planHistory(sizeMiB * MiB);
  const random = new RandomBytes(SEED);
  let written = 0;
  let nextReport = 0.1;
  let blobMark = 1;
  for (const commit of plan.commits) {
    const changes = [];
    for (const file of commit.files) {
      const mark = blobMark++;
      await write(`blob\nmark :${mark}\ndata ${file.size}\n`);
      for (let left = file.size; left > 0;) {
        const n = Math.min(left, MiB);
        await write(random.next(n));
        left -= n;
        written += n;
      }
      await write('\n');
      changes.push(`M 100644 :${mark} ${file.path}\n`);
      if (written >= nextReport * plan.totalBytes) {
        progress(`  ${Math.round((100 * written) / plan.totalBytes)}% of the blobs written`);
        nextReport += 0.1;
      }
    }
    const message = `${commit.branch}: change ${commit.index} (${commit.files.length} files)\n`;
    const when = `${EPOCH + commit.index * 3600} +0000`;
    let text = `commit refs/heads/${commit.branch}\nmark :${commit.mark}\n`;
    text += `author Bench Author <author@example.com> ${when}\n`;
    text += `committer Bench Committer <committer@example.com> ${when}\n`;
    text += `data ${Buffer.byteLength(message)}\n${message}`;
    if (commit.from) text += `from :${commit.from}\n`;
    const version = `${commit.branch} ${commit.index}\n`;
    text += `M 100644 inline VERSION\ndata ${Buffer.byteLength(version)}\n${version}`;
    await write(text + changes.join('') + '\n');
  }
  for (const tagged of plan.tags) {
    if (tagged.annotated) {
      const message = `Release ${tagged.name}\n`;
      const when = `${EPOCH + COMMITS * 3600} +0000`;
      await write(
        `tag ${tagged.name}\nfrom :${tagged.mark}\ntagger Bench Tagger <tagger@example.com> ${when}\n` +
          `data ${Buffer.byteLength(message)}\n${message}\n`,
      );
    } else {
      await write(`reset refs/tags/${tagged.name}\nfrom :${tagged.mark}\n\n`);
    }
  }
  await finish();
  const seconds = (performance.now() - started) / 1000;
  writeFileSync(marker, JSON.stringify({ params, seconds }, null, 2) + '\n');
  progress(`generated in ${seconds.toFixed(1)} s, pack ${(packBytes(dir) / MiB).toFixed(1)} MiB`);
  return { ...describe(), cached: false, seconds };
}

/**
 * 300 commits: 240 on main, 40 on develop (forked at main's 200th), 20 on release/1.x (forked at
 * main's 120th); each changes 1-3 of 240 binary files (and VERSION). Blob sizes vary, summing to
 * `totalBytes`. Tags: lightweight v0.N every 40 commits of main, annotated v1.0, v2.0, v1.0.1.
 */
function planHistory(totalBytes: number): HistoryPlan {
  const rng = new XorShift(SEED);
  const layout = [
    { branch: 'main', count: 240 },
    { branch: 'develop', count: 40, fork: 200 },
    { branch: 'release/1.x', count: 20, fork: 120 },
  ];
  const commits: PlannedCommit[] = [];
  const mainMarks: number[] = [];
  let index = 0;
  for (const { branch, count, fork } of layout) {
    for (let k = 0; k < count; k++, index++) {
      const mark = 1_000_000 + index;
      if (branch === 'main') mainMarks.push(mark);
      const fileCount = 1 + (rng.next() % 3);
      const paths = new Set<string>();
      while (paths.size < fileCount) {
        const d = rng.next() % DIRS;
        const f = rng.next() % FILES_PER_DIR;
        paths.add(`assets/dir-${String(d).padStart(2, '0')}/file-${String(f).padStart(2, '0')}.bin`);
      }
      const weights = [...paths].map(() => 0.25 + (rng.next() % 1000) / 1000);
      commits.push({
        index,
        mark,
        branch,
        from: k === 0 && fork !== undefined ? mainMarks[fork - 1] : undefined,
        commitWeight: 0.5 + (rng.next() % 1000) / 1000,
        files: [...paths].map((p, j) => ({ path: p, weight: weights[j], size: 0 })),
      });
    }
  }
  // Spread totalBytes over commits, then over each commit's files, exactly.
  const sumCommits = commits.reduce((sum, c) => sum + c.commitWeight, 0);
  let assigned = 0;
  const allFiles: PlannedFile[] = [];
  for (const commit of commits) {
    const budget = (totalBytes * commit.commitWeight) / sumCommits;
    const sumFiles = commit.files.reduce((sum, f) => sum + f.weight, 0);
    for (const file of commit.files) {
      file.size = Math.max(1, Math.floor((budget * file.weight) / sumFiles));
      assigned += file.size;
      allFiles.push(file);
    }
  }
  allFiles[allFiles.length - 1].size += Math.max(0, Math.round(totalBytes) - assigned);
  const tags: PlannedTag[] = [];
  for (let n = 40; n <= 240; n += 40) tags.push({ name: `v0.${n / 40}`, mark: mainMarks[n - 1] });
  tags.push({ name: 'v1.0', mark: mainMarks[119], annotated: true });
  tags.push({ name: 'v2.0', mark: mainMarks[239], annotated: true });
  tags.push({ name: 'v1.0.1', mark: commits[commits.length - 1].mark, annotated: true });
  return { commits, tags, totalBytes: allFiles.reduce((sum, f) => sum + f.size, 0) };
}

/** Bytes of the packs of a bare repository. */
export function packBytes(dir: string): number {
  const packDir = path.join(dir, 'objects', 'pack');
  if (!existsSync(packDir)) return 0;
  return readdirSync(packDir)
    .filter((name) => name.endsWith('.pack'))
    .reduce((sum, name) => sum + statSync(path.join(packDir, name)).size, 0);
}

// ---------------------------------------------------------------------------------------------------
// The next day's change

/**
 * Adds one commit on main of the bare repository `dir` with one new file `changes/change-<n>.bin` of
 * `size` incompressible bytes (different for every n).
 */
export async function addCommit(dir: string, n: number, size = 100 * 1024): Promise<void> {
  const { write, finish } = startFastImport(dir);
  const name = `changes/change-${String(n).padStart(3, '0')}.bin`;
  await write(`blob\nmark :1\ndata ${size}\n`);
  await write(new RandomBytes(`${SEED}:change:${n}`).next(size));
  const message = `next day: add ${name}\n`;
  const when = `${EPOCH + (COMMITS + n) * 3600} +0000`;
  await write(
    `\ncommit refs/heads/main\nauthor Bench Author <author@example.com> ${when}\n` +
      `committer Bench Committer <committer@example.com> ${when}\n` +
      `data ${Buffer.byteLength(message)}\n${message}from refs/heads/main^0\nM 100644 :1 ${name}\n\n`,
  );
  await finish();
}

/**
 * Bytes of the commit's own pack: `git pack-objects --revs --stdout` of `<ref> ^<ref>~1` in `dir` (the
 * objects that commit adds, no thin deltas), the least any backup of that change can store as a pack.
 */
export function commitPackBytes(dir: string, ref = 'refs/heads/main'): number {
  const result = spawnSync('git', ['pack-objects', '--revs', '--stdout', '--quiet'], {
    cwd: dir,
    input: `${ref}\n^${ref}~1\n`,
    maxBuffer: 1024 * MiB,
  });
  if (result.status !== 0) throw new Error(`git pack-objects in ${dir} failed: ${String(result.stderr)}`);
  return result.stdout.length;
}

// ---------------------------------------------------------------------------------------------------
// Many small repositories

/**
 * `count` small repositories `<root>/repo-NNN.git`: 3 commits on main, a README and 5 files of 2-8 KiB
 * (incompressible), one tag. Returns their paths.
 */
export async function ensureTinyRepos(root: string, count: number): Promise<string[]> {
  const params = { generator: 'backup-action-bench-tiny/1', seed: SEED, count, commits: 3, files: 6 };
  const marker = path.join(root, 'bench-tiny.json');
  const dirs = Array.from({ length: count }, (_, i) =>
    path.join(root, `repo-${String(i).padStart(3, '0')}.git`),
  );
  const previous = readMarker<{ params: unknown }>(marker);
  if (previous && JSON.stringify(previous.params) === JSON.stringify(params)) {
    progress(`${count} small repositories in ${root} are cached`);
    return dirs;
  }
  progress(`generating ${count} small repositories in ${root}`);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const rng = new XorShift(`${SEED}:tiny`);
  for (const [i, dir] of dirs.entries()) {
    git(['init', '--quiet', '--bare', '--initial-branch=main', dir]);
    const random = new RandomBytes(`${SEED}:tiny:${i}`);
    const { write, finish } = startFastImport(dir);
    for (let c = 0; c < params.commits; c++) {
      const when = `${EPOCH + c * 3600} +0000`;
      const message = `repo ${i}: commit ${c}\n`;
      let text = `commit refs/heads/main\nmark :${c + 1}\n`;
      text += `author Bench Author <author@example.com> ${when}\n`;
      text += `committer Bench Committer <committer@example.com> ${when}\n`;
      text += `data ${Buffer.byteLength(message)}\n${message}`;
      if (c > 0) text += `from :${c}\n`;
      const readme = `# repo ${i}\n\nversion ${c}\n`;
      text += `M 100644 inline README.md\ndata ${Buffer.byteLength(readme)}\n${readme}`;
      await write(text);
      // The first commit adds the 5 files, later ones change 2 of them.
      const files =
        c === 0
          ? [0, 1, 2, 3, 4]
          : [rng.next() % 5, (rng.next() % 4) + 1].filter((v, k, a) => a.indexOf(v) === k);
      for (const f of files) {
        const size = 2048 + (rng.next() % 6144);
        await write(`M 100644 inline data/file-${f}.bin\ndata ${size}\n`);
        await write(random.next(size));
        await write('\n');
      }
      await write('\n');
    }
    await write(`reset refs/tags/v1\nfrom :${params.commits}\n\n`);
    await finish();
  }
  writeFileSync(marker, JSON.stringify({ params }, null, 2) + '\n');
  return dirs;
}

// ---------------------------------------------------------------------------------------------------
// A folder of many small files

/**
 * `count` text files of 1-4 KiB in `<dir>/tree/dNN/sN/`: 50 folders of 10 sub-folders. The text is
 * base64 of a keystream, so it compresses to about 3/4 (like typical exported data, not like logs).
 * Returns { tree, files, bytes, folders }.
 */
export function ensureFileTree(dir: string, count: number): FileTree {
  const params = { generator: 'backup-action-bench-files/1', seed: SEED, count, folders: 50, subfolders: 10 };
  const marker = path.join(dir, 'bench-files.json');
  const tree = path.join(dir, 'tree');
  const previous = readMarker<{ params: unknown; bytes: number; folders: number }>(marker);
  if (previous && JSON.stringify(previous.params) === JSON.stringify(params)) {
    progress(`${count} small files in ${tree} are cached`);
    return { tree, files: count, bytes: previous.bytes, folders: previous.folders };
  }
  progress(`generating ${count} small files in ${tree}`);
  rmSync(dir, { recursive: true, force: true });
  const rng = new XorShift(`${SEED}:files`);
  const random = new RandomBytes(`${SEED}:files`);
  let total = 0;
  const made = new Set<string>();
  for (let i = 0; i < count; i++) {
    const folder = path.join(
      tree,
      `d${String(i % params.folders).padStart(2, '0')}`,
      `s${Math.floor(i / params.folders) % params.subfolders}`,
    );
    if (!made.has(folder)) {
      mkdirSync(folder, { recursive: true });
      made.add(folder);
    }
    const size = 1024 + (rng.next() % 3073);
    const text = random
      .next(Math.ceil((size * 3) / 4))
      .toString('base64')
      .slice(0, size);
    writeFileSync(path.join(folder, `f${String(i).padStart(6, '0')}.txt`), text);
    total += size;
  }
  writeFileSync(marker, JSON.stringify({ params, bytes: total, folders: made.size }, null, 2) + '\n');
  return { tree, files: count, bytes: total, folders: made.size };
}

// ---------------------------------------------------------------------------------------------------
// Helpers

function readMarker<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** A `git fast-import` into `dir`: write() feeds it (with back-pressure), finish() ends and checks it. */
function startFastImport(dir: string): {
  write(data: string | Buffer): Promise<void>;
  finish(): Promise<void>;
} {
  const child = spawn('git', ['fast-import', '--quiet', '--done'], {
    cwd: dir,
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  const stderr: Buffer[] = [];
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const exited = once(child, 'close');
  const input = child.stdin;
  input.on('error', () => {}); // EPIPE when fast-import died: finish() reports its exit code
  const write = async (data: string | Buffer) => {
    if (!input.write(data)) await Promise.race([once(input, 'drain'), exited]);
  };
  const finish = async () => {
    await write('done\n');
    input.end();
    const [code] = await exited;
    if (code !== 0) throw new Error(`git fast-import failed (${code}): ${Buffer.concat(stderr).toString()}`);
  };
  return { write, finish };
}

/** Seeded xorshift32, for the layout (sizes, paths). */
class XorShift {
  private state: number;
  constructor(seed: string) {
    this.state = createHash('sha256').update(`layout:${seed}`).digest().readUInt32LE(0) || 1;
  }
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }
}

/** Incompressible deterministic bytes: AES-256-CTR keystream (counter mode) under a key from the seed. */
class RandomBytes {
  private cipher: ReturnType<typeof createCipheriv>;
  private zeros: Buffer;
  constructor(seed: string) {
    const key = createHash('sha256').update(`blobs:${seed}`).digest();
    this.cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
    this.zeros = Buffer.alloc(MiB);
  }
  next(n: number): Buffer {
    if (n > this.zeros.length) this.zeros = Buffer.alloc(n);
    return this.cipher.update(this.zeros.subarray(0, n));
  }
}
