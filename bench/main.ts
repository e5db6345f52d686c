// Side-by-side benchmark (`npm run bench`): backup-action's CLI (dist/cli.js, as built) against the tools
// people would otherwise use, on the same machine in the same run, alternating, medians of BENCH_REPS runs.
//
//   npm run bench                          (every scenario, every size)
//   BENCH_SCENARIOS=1,2 BENCH_SIZES=10,200 BENCH_REPS=1 npm run bench
//
// Scenarios (BENCH_SCENARIOS, default all; one file each in bench/scenarios/):
//   0  bench/bundle.ts (the acceptance bench: warm mirror, --force, vs git bundle + aws s3 cp) on the
//      largest size, its table copied in
//   1  first full backup (fresh mirror, fresh destination every run), each size, S3 and folder:
//      backup-action vs git clone --mirror + git bundle + aws s3 cp / cp / rclone copy, and vs
//      git clone --mirror + restic backup (local restic repository)
//   2  next day, nothing changed: time and bytes written, each size
//   3  BENCH_DAYS (30) next days with one new commit each (a 100 KiB incompressible file), on the
//      largest size after git repack -a -d -f: bytes written vs the commit's own pack, time vs restic,
//      and the store after all days vs restic's repository (the hand pipelines on BENCH_REPS days)
//   4  verify (read-data) and restore (also --full-check) of the largest size: backup-action vs restic
//      check --read-data / restic restore, and vs git clone --mirror of a bundle + git fsck --full
//   5  prune of 10,000 snapshots over 50 repositories (bench/prune.ts through bench/engine.ts)
//   6  BENCH_TINY_REPOS (100) small repositories in one backup run, --concurrency BENCH_CONCURRENCY
//      (1,4,8), to S3: first run and the unchanged run after it
//   7  a file snapshot of BENCH_FILES (50,000) small files vs tar | zstd to a file vs restic backup
//
// Other settings (environment): BENCH_SIZES (MiB of pack, default 10,200,1024), BENCH_REPS (3),
// BENCH_STORES (s3,folder), BENCH_PEERS (hand,rclone,restic), BENCH_BIG_SIZE (size of scenarios 0, 3
// and 4; default the largest of BENCH_SIZES), BENCH_DAYS (days of scenario 3, 30), BENCH_OUT (Markdown results, default
// bench/results/<UTC date>.md, appended to when it exists), BENCH_WORK (.bench), BENCH_CLI
// (dist/cli.js). Generated data is cached in BENCH_WORK; everything else is written under
// BENCH_WORK/peers-tmp and removed at the end (also on failure, SIGINT and SIGTERM).
//
// Measuring: bench/lib/measure.ts (wall time spawn to exit; peak RSS = VmHWM polled every 50 ms from
// /proc for the whole process tree; the peers' commands also run under /usr/bin/time -f %M when it
// exists, which catches processes too short-lived to be polled). "Peak RSS" is the largest peak of a
// non-git process of the contender (node, aws, rclone, restic, cp, tar, zstd), "git RSS" that of its
// git processes (mostly pack-objects' mmap of the pack, file-backed). "Written" is measured: the bytes
// of the objects or files a run added to its destination (S3 prefix, folder, restic repository).
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Config, Context, PeerName, StoreKind, Versions } from './context.js';
import { mib } from './lib/format.js';
import { killChildren, writePreload } from './lib/measure.js';
import { capture, messageOf, MiB, progress, ROOT } from './lib/process.js';
import { awsEnvironment, type BenchS3, type BenchServer, s3Client, startServer } from './lib/s3.js';
import { SCENARIOS } from './scenarios/index.js';
import { awsExecutable } from './tools/aws.js';
import { rcloneEnvironment } from './tools/rclone.js';
import { resticEnvironment } from './tools/restic.js';

// ---------------------------------------------------------------------------------------------------
// Settings

function readConfig(env = process.env): Config {
  const numbers = (name: string, fallback: string) =>
    (env[name] || fallback)
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean)
      .map(Number);
  const words = (name: string, fallback: string) =>
    (env[name] || fallback)
      .split(',')
      .map((v) => v.trim().toLowerCase())
      .filter(Boolean);
  const sizes = numbers('BENCH_SIZES', '10,200,1024');
  const config: Config = {
    scenarios: numbers('BENCH_SCENARIOS', '0,1,2,3,4,5,6,7'),
    sizes,
    reps: Number(env.BENCH_REPS || 3),
    stores: words('BENCH_STORES', 's3,folder') as StoreKind[],
    peers: words('BENCH_PEERS', 'hand,rclone,restic') as PeerName[],
    tinyRepos: Number(env.BENCH_TINY_REPOS || 100),
    concurrency: numbers('BENCH_CONCURRENCY', '1,4,8'),
    files: Number(env.BENCH_FILES || 50_000),
    days: Number(env.BENCH_DAYS || 30),
    work: path.resolve(env.BENCH_WORK || path.join(ROOT, '.bench')),
    cli: path.resolve(env.BENCH_CLI || path.join(ROOT, 'dist', 'cli.js')),
    out: env.BENCH_OUT
      ? path.resolve(env.BENCH_OUT)
      : path.join(ROOT, 'bench', 'results', `${new Date().toISOString().slice(0, 10)}.md`),
    bigSize: Number(env.BENCH_BIG_SIZE || Math.max(...sizes)),
  };
  const bad = (what: string) => {
    throw new Error(`bench: ${what}`);
  };
  for (const n of config.scenarios) if (!SCENARIOS[n]) bad(`unknown scenario ${n} in BENCH_SCENARIOS`);
  if (!config.sizes.every((n) => n > 0)) bad('BENCH_SIZES must be positive numbers (MiB)');
  if (!(config.bigSize > 0)) bad('BENCH_BIG_SIZE must be a positive number (MiB)');
  if (!Number.isInteger(config.reps) || config.reps < 1) bad('BENCH_REPS must be a positive integer');
  if (!config.stores.every((v) => v === 's3' || v === 'folder')) bad('BENCH_STORES: s3 and/or folder');
  if (!config.peers.every((v) => ['hand', 'rclone', 'restic'].includes(v)))
    bad('BENCH_PEERS: hand, rclone, restic');
  if (!(config.tinyRepos >= 1) || !(config.files >= 1)) bad('BENCH_TINY_REPOS and BENCH_FILES must be >= 1');
  if (!Number.isInteger(config.days) || config.days < 1) bad('BENCH_DAYS must be a positive integer');
  if (!config.concurrency.every((n) => Number.isInteger(n) && n >= 1))
    bad('BENCH_CONCURRENCY: integers >= 1');
  if (!existsSync(config.cli)) bad(`${config.cli} is missing; build it first (npm run build)`);
  return config;
}

// ---------------------------------------------------------------------------------------------------
// Main

interface SectionResult {
  n: number;
  title: string;
  minutes: string;
  markdown: string;
  data: unknown;
}

interface Machine {
  nproc: number;
  cpu: string;
  memoryMiB: number;
  loadAverage: number[];
  kernel: string;
}

async function main(): Promise<void> {
  if (process.argv.length > 2) {
    throw new Error(
      'npm run bench takes its settings from the environment (BENCH_SCENARIOS, BENCH_SIZES, BENCH_REPS, ...: ' +
        'see the top of bench/main.ts); for the flags of bench/bundle.ts use npm run bench:bundle -- ...',
    );
  }
  const config = readConfig();
  const tmp = path.join(config.work, 'peers-tmp');
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(path.join(tmp, 'tmp'), { recursive: true });
  const startedAt = new Date();
  const machine = describeMachine();
  const versions = toolVersions();
  const preload = writePreload(tmp);

  let server: BenchServer | undefined;
  let s3: BenchS3 | undefined;
  const teardown = async () => {
    killChildren('SIGKILL');
    s3?.destroy();
    await server?.stop();
    rmSync(tmp, { recursive: true, force: true });
  };
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    progress(`${signal}: stopping the measured processes and the S3 server`);
    void teardown().finally(() => process.exit(130));
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
  process.on('exit', () => killChildren('SIGKILL'));

  const sections: SectionResult[] = [];
  const failures: number[] = [];
  try {
    // Single-request uploads up to 5 GiB: rclone's (see rcloneEnvironment()).
    server = await startServer({ bodyLimit: 5 * 1024 * MiB });
    s3 = await s3Client(server.endpoint);
    const env = awsEnvironment();
    const ctx: Context = {
      config,
      tmp,
      cli: config.cli,
      sources: new Map(),
      versions,
      timeDir: path.join(tmp, 'time'),
      preload,
      endpoint: server.endpoint,
      s3,
      env,
      rcloneEnv: rcloneEnvironment(env, tmp, server.endpoint),
      resticEnv: resticEnvironment(env, tmp),
      aws: versions.awsPath,
    };
    for (const n of config.scenarios) {
      const { title, run } = SCENARIOS[n];
      progress(`scenario ${n}: ${title}`);
      const started = Date.now();
      let section;
      try {
        section = await run(ctx, config);
      } catch (error) {
        if (stopping) return;
        failures.push(n);
        progress(`scenario ${n} FAILED: ${(error instanceof Error && error.stack) || error}`);
        section = {
          markdown: `**FAILED**: ${messageOf(error).split('\n')[0]}\n`,
          data: { error: String(error) },
        };
        rmSync(path.join(tmp, 'scenario'), { recursive: true, force: true });
      }
      const minutes = ((Date.now() - started) / 60000).toFixed(1);
      sections.push({ n, title, minutes, ...section });
    }
  } finally {
    if (!stopping) await teardown();
  }

  const markdown = await formatMarkdown(
    render({ config, startedAt, machine, versions, sections }),
    config.out,
  );
  console.log(markdown);
  mkdirSync(path.dirname(config.out), { recursive: true });
  const before = existsSync(config.out)
    ? readFileSync(config.out, 'utf8').trimEnd()
    : `# Benchmark results, ${startedAt.toISOString().slice(0, 10)}`;
  writeFileSync(config.out, `${before}\n\n${markdown}`);
  const json = path.join(config.work, 'results-peers.json');
  writeFileSync(json, JSON.stringify({ config, startedAt, machine, versions, sections }, null, 2) + '\n');
  progress(`results: ${config.out} (details: ${json})`);
  if (failures.length) {
    progress(`scenario(s) ${failures.join(', ')} failed`);
    process.exitCode = 1;
  }
}

/** Formatted as `prettier --check .` (npm run lint) expects it, when prettier is installed. */
async function formatMarkdown(text: string, file: string): Promise<string> {
  try {
    const prettier = await import('prettier');
    const options = (await prettier.resolveConfig(file)) ?? {};
    return await prettier.format(text, { ...options, parser: 'markdown' });
  } catch {
    return text;
  }
}

function describeMachine(): Machine {
  const cpus = os.cpus();
  return {
    nproc: Number(capture('nproc', [])) || cpus.length,
    cpu: cpus[0]?.model ?? '?',
    memoryMiB: os.totalmem() / MiB,
    loadAverage: os.loadavg(),
    kernel: `${os.type()} ${os.release()}`,
  };
}

function toolVersions(): Versions {
  const awsPath = awsExecutable();
  const commit = capture('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT });
  const dirty = capture('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT });
  let dist: string | undefined;
  try {
    dist = statSync(path.join(ROOT, 'dist', 'engine', 'index.js')).mtime.toISOString();
  } catch {
    dist = undefined;
  }
  return {
    node: process.version,
    git: capture('git', ['--version']),
    aws: capture(awsPath, ['--version']),
    awsPath,
    rclone: capture('rclone', ['version']),
    restic: capture('restic', ['version']),
    zstd: capture('zstd', ['--version']),
    tar: capture('tar', ['--version']),
    backupAction: (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string })
      .version,
    commit: commit ? `${commit}${dirty ? ' (with uncommitted changes)' : ''}` : undefined,
    distBuilt: dist,
  };
}

// ---------------------------------------------------------------------------------------------------
// Results

function render({
  config,
  startedAt,
  machine,
  versions,
  sections,
}: {
  config: Config;
  startedAt: Date;
  machine: Machine;
  versions: Versions;
  sections: SectionResult[];
}): string {
  const out: string[] = [];
  out.push(`## Side-by-side with other tools (bench/main.ts), ${startedAt.toISOString().slice(0, 16)}Z`);
  out.push('');
  out.push(
    `\`BENCH_SCENARIOS=${config.scenarios.join(',')} BENCH_SIZES=${config.sizes.join(',')} ` +
      `BENCH_REPS=${config.reps} BENCH_STORES=${config.stores.join(',')} BENCH_PEERS=${config.peers.join(',')}` +
      `${config.scenarios.some((n) => n === 0 || n === 3 || n === 4) ? ` BENCH_BIG_SIZE=${config.bigSize}` : ''}` +
      `${config.scenarios.includes(3) ? ` BENCH_DAYS=${config.days}` : ''}` +
      `${config.scenarios.includes(6) ? ` BENCH_TINY_REPOS=${config.tinyRepos} BENCH_CONCURRENCY=${config.concurrency.join(',')}` : ''}` +
      `${config.scenarios.includes(7) ? ` BENCH_FILES=${config.files}` : ''} npm run bench\`` +
      `${versions.commit ? ` at ${versions.commit}` : ''}; CLI measured: ${path.relative(ROOT, config.cli) || config.cli}` +
      `${versions.distBuilt ? ` (built ${versions.distBuilt.slice(0, 16)}Z)` : ''}.`,
  );
  out.push('');
  out.push(
    `- Machine: ${machine.nproc} cores (nproc; ${machine.cpu}), ${mib(machine.memoryMiB)} MiB RAM, ` +
      `${machine.kernel}; load average at start ${machine.loadAverage.map((x) => x.toFixed(2)).join(' / ')}`,
  );
  out.push(
    `- Versions: node ${versions.node}; ${versions.git ?? 'git: missing'}; ${versions.aws ?? 'aws: not installed'}; ` +
      `${versions.rclone ?? 'rclone: not installed'}; ${versions.restic ?? 'restic: not installed'}; ` +
      `${versions.zstd ?? 'zstd: not installed'}; ${versions.tar ?? 'tar: not installed'}; backup-action ${versions.backupAction}`,
  );
  out.push(
    '- S3: the local S3-protocol server of the tests (test/support/s3-server.ts, in-memory, over plain http on ' +
      '127.0.0.1), in a worker thread of the bench process: it shares the cores with the contenders. Folder: a ' +
      'folder on the same disk. restic 0.14 cannot use a plain-http S3 endpoint, so its repository is a local ' +
      'folder and it is compared with the folder destinations. rclone uploads to S3 with ' +
      '`--s3-upload-cutoff 5G` (one PUT per file): its multipart uploads fail against this server ' +
      '(the ETags in its CompleteMultipartUpload are escaped as `&#34;`, which the server does not decode).',
  );
  out.push(
    '- Times: wall time from spawn to exit, medians of the repetitions, contenders in a rotating order. ' +
      'Peak RSS: largest VmHWM of a non-git process of the contender (node, aws, rclone, restic, cp, tar, ' +
      "zstd), polled every 50 ms from /proc (and, for the peers' commands, `/usr/bin/time -f %M`); git RSS: the largest of its git processes (mostly pack-objects' mmap of the " +
      'pack, file-backed). Written: bytes the run added to its destination (objects listed, files summed), ' +
      'not what a tool reports.',
  );
  out.push('');
  for (const section of sections) {
    out.push(`### ${section.n}. ${section.title}`);
    out.push('');
    out.push(section.markdown.trimEnd());
    out.push('');
    out.push(`_(${section.minutes} min)_`);
    out.push('');
  }
  return out.join('\n').trimEnd() + '\n';
}

await main();
