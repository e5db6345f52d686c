// What the scenarios of bench/main.ts share: the source repositories, the contenders selected by the
// settings, their order, labels, and the next-day loop of scenarios 2 and 3.
import type { Context } from '../context.js';
import { ensureSource, sourceDir } from '../data.js';
import { progress } from '../lib/process.js';
import { BundlePipeline } from '../tools/bundle-pipeline.js';
import type { Contender, Run } from '../tools/common.js';
import { Ours } from '../tools/ours.js';
import { Restic } from '../tools/restic.js';
import { backupTable, bestPeerLines, runsData, type RunsByContender } from './tables.js';

/** The source repository of a size (generated once, cached in BENCH_WORK). */
export async function sourceFor(ctx: Context, sizeMiB: number) {
  let source = ctx.sources.get(sizeMiB);
  if (!source) {
    const dir = sourceDir(ctx.config.work, sizeMiB);
    source = { dir, generation: await ensureSource(dir, sizeMiB) };
    ctx.sources.set(sizeMiB, source);
  }
  return source;
}

/**
 * The backup contenders selected by BENCH_STORES and BENCH_PEERS whose tools are installed, each with
 * its comparison group: 's3', or 'folder' (restic's local repository is compared with the folders).
 */
export function backupContenders(ctx: Context): Contender[] {
  const { stores, peers: wanted } = ctx.config;
  const has = (tool: 'aws' | 'rclone' | 'restic') => ctx.versions[tool] !== undefined;
  const list: Contender[] = [...oursContenders(ctx)];
  const add = (contender: Contender, group: 's3' | 'folder') => {
    contender.group = group;
    list.push(contender);
  };
  if (wanted.includes('hand') && stores.includes('s3') && has('aws'))
    add(new BundlePipeline(ctx, 'aws', 's3'), 's3');
  if (wanted.includes('hand') && stores.includes('folder'))
    add(new BundlePipeline(ctx, 'cp', 'folder'), 'folder');
  if (wanted.includes('rclone') && has('rclone')) {
    if (stores.includes('s3')) add(new BundlePipeline(ctx, 'rclone', 's3'), 's3');
    if (stores.includes('folder')) add(new BundlePipeline(ctx, 'rclone', 'folder'), 'folder');
  }
  if (wanted.includes('restic') && has('restic') && stores.includes('folder')) add(new Restic(ctx), 'folder');
  return list;
}

/** backup-action on each store of BENCH_STORES (S3 first), without peers. */
export function oursContenders(ctx: Context): Ours[] {
  const list: Ours[] = [];
  for (const store of ['s3', 'folder'] as const) {
    if (!ctx.config.stores.includes(store)) continue;
    const ours = new Ours(ctx, store);
    ours.group = store;
    list.push(ours);
  }
  return list;
}

/** Which contenders were left out and why, for the notes. */
export function missingPeers(ctx: Context): string[] {
  const notes: string[] = [];
  for (const tool of ['aws', 'rclone', 'restic', 'zstd'] as const) {
    if (ctx.versions[tool] === undefined) notes.push(`${tool} is not installed: its rows are missing`);
  }
  return notes;
}

/** Rotates the order every repetition, so that no contender always runs first (or after the same one). */
export function rotate<T>(items: T[], i: number): T[] {
  const k = i % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

export const label = (...parts: (string | number)[]): string =>
  parts.join('-').replace(/[^A-Za-z0-9_.-]+/g, '_');

export function expectStatus(run: Run, status: string, who: string): void {
  const statuses = run.statuses ?? [];
  const wrong = statuses.filter((s) => s !== status);
  if (wrong.length) throw new Error(`${who}: expected ${status}, got ${statuses.join(', ')}`);
}

/** One measured backup of a contender. */
export async function backupOnce(
  contender: Contender,
  source: string,
  tag: string,
  expected?: string,
): Promise<Run> {
  progress(`  ${tag}: ${contender.name} → ${contender.storeLabel}`);
  const run = await contender.backup(source, { label: label(tag, contender.name, contender.store) });
  if (contender.kind === 'ours' && expected) expectStatus(run, expected, `${tag} backup-action`);
  return run;
}

export function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  let values = map.get(key);
  if (!values) map.set(key, (values = []));
  values.push(value);
}

/** Day 1 for every contender (not timed), then BENCH_REPS more days, with `change(i)` before each. */
export async function nextDays(
  ctx: Context,
  {
    source,
    tag,
    expected,
    change,
  }: { source: string; tag: string; expected: string; change?: (i: number) => Promise<void> },
): Promise<{ markdown: string; data: unknown }> {
  const contenders = backupContenders(ctx);
  const runs: RunsByContender = new Map(contenders.map((c) => [c, []]));
  const firstDay = new Map<Contender, Run>();
  try {
    for (const contender of contenders) {
      await contender.reset();
      firstDay.set(contender, await backupOnce(contender, source, `${tag}-day1`, 'created'));
      await contender.dropOld();
    }
    for (let i = 0; i < ctx.config.reps; i++) {
      if (change) await change(i);
      for (const contender of rotate(contenders, i)) {
        push(runs, contender, await backupOnce(contender, source, `${tag}-day${i + 2}`, expected));
        await contender.dropOld();
      }
    }
  } finally {
    for (const contender of contenders) await contender.dispose();
  }
  const markdown = [
    backupTable(contenders, runs, { firstDay }),
    '',
    ...bestPeerLines(contenders, runs),
    ...missingPeers(ctx).map((note) => `- ${note}`),
    '',
  ].join('\n');
  return { markdown, data: runsData(contenders, runs) };
}
