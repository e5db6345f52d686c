// Benchmark (`npm run bench:bundle`): backup-action's CLI against the hand pipeline `git bundle create` + `aws s3 cp`, on a
// generated repository of incompressible blobs, against the in-memory S3 server of the tests.
//
//   npm run bench:bundle -- [--size-mib 1024] [--runs 3] [--work .bench] [--cli dist/cli.js]
//
// Prints a Markdown table, PASS/FAIL lines for the acceptance bounds (never a non-zero exit for a FAIL:
// it is a measurement) and one JSON line; the JSON is also written to <work>/results-<size>mib.json.
// The source repository (<work>/source-<size>mib.git) is generated once and reused while its
// parameters (bench-source.json in it) stay the same. --cli measures another build of the CLI.
//
// How things are measured (measure() in bench/lib/measure.ts):
// - wall time: from spawn to the child's exit (performance.now), node start-up included.
// - peak RSS of the backup process: VmHWM of the node process, polled from /proc/<pid>/status every
//   50 ms (monotonic: the last value read wins) and read once more by the process itself on exit (a
//   tiny module preloaded with --import), which also reports its CPU times. Its getrusage maxRSS is
//   kept in the JSON but is not used: Linux carries the parent's high-water mark across fork + exec,
//   so it shows this bench process's size (which holds the S3 objects), not the CLI's.
// - git / aws children: the process tree below the spawned process is rescanned on every poll; each
//   descendant's largest VmHWM and last CPU ticks are kept (a child that lives < 50 ms may be missed).
//   git pack-objects' VmHWM is almost all file-backed (its mmap of the pack), not allocated memory.
// - S3 server CPU: this process's CPU time during the spawned process (process.cpuUsage).
//
// The S3 server (test/support/s3-server.ts, bucket `bench`) runs in a worker thread of this process
// (startServer() in bench/lib/s3.ts; the generator is in bench/data.ts), so that its request handling
// does not delay the sampling timer of the main thread.
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureSource, type SourceDescription } from './data.js';
import { list, max, median, mib, s } from './lib/format.js';
import { type Measured, measure, writePreload } from './lib/measure.js';
import { capture, MiB, progress, ROOT } from './lib/process.js';
import { awsEnvironment, BUCKET, deletePrefix, prefixBytes, s3Client, startServer } from './lib/s3.js';
import { awsCopyArgs, awsExecutable } from './tools/aws.js';

// The aws executable; pyenv's shim costs ~0.1 s of bash per call, so main() uses what it points to.
let AWS = 'aws';

/** A measured run of the CLI, with what its output line says. */
interface CliRun extends Measured {
  status?: string;
  snapshot?: string;
  reportedBytes: number;
  reported?: string;
  uploadedBytes?: number;
  bundleBytes?: number;
  bucketBytesAdded: number;
}

/** A measured run of the hand pipeline. */
interface HandRun {
  bundle: Measured;
  copy: Measured;
  seconds: number;
  bundleBytes: number;
}

interface Results {
  first: CliRun | null;
  full: CliRun[];
  hand: HandRun[];
  unchanged: CliRun[];
  bucketBytesBeforeUnchanged?: number;
}

interface BenchVersions {
  node: string;
  git: string;
  aws: string | undefined;
  backupAction: string;
}

// ---------------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'size-mib': { type: 'string', default: '1024' },
      runs: { type: 'string', default: '3' },
      work: { type: 'string', default: path.join(ROOT, '.bench') },
      cli: { type: 'string', default: path.join(ROOT, 'dist', 'cli.js') },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(
      'Usage: npm run bench:bundle -- [--size-mib 1024] [--runs 3] [--work .bench] [--cli dist/cli.js]',
    );
    return;
  }
  const sizeMiB = Number(values['size-mib']);
  const runs = Number(values.runs);
  if (!(sizeMiB > 0) || !Number.isInteger(runs) || runs < 1) {
    throw new Error('--size-mib must be a positive number and --runs a positive integer');
  }
  const CLI = path.resolve(values.cli);
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing; build it first (npm run build)`);

  const work = path.resolve(values.work);
  const tag = `${String(sizeMiB).replace('.', '_')}mib`;
  const source = path.join(work, `source-${tag}.git`);
  const mirrorRoot = path.join(work, `mirrors-${tag}`);
  // Where the CLI keeps the mirror of a local path: <mirror-dir>/local/<basename without .git>.git
  const mirror = path.join(mirrorRoot, 'local', `${path.basename(source).replace(/\.git$/, '')}.git`);
  const tmp = path.join(work, 'tmp');
  mkdirSync(tmp, { recursive: true });
  const preload = writePreload(work);

  const generation = await ensureSource(source, sizeMiB);
  AWS = awsExecutable();
  const versions: BenchVersions = {
    node: process.version,
    git: capture('git', ['--version']) ?? 'missing',
    aws: capture(AWS, ['--version']),
    backupAction: JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version,
  };
  const haveAws = versions.aws !== undefined;
  if (!haveAws) progress('aws CLI not found: the hand pipeline (peer) is skipped');

  const server = await startServer();
  const s3 = await s3Client(server.endpoint);
  const env = awsEnvironment();
  const cli = (prefix: string, force: boolean, label: string) => {
    const args = [`--import=${preload.url}`, CLI, 'backup', '--to', `s3://${BUCKET}/${prefix}`];
    args.push('--endpoint', server.endpoint, '--repo', source, '--mirror-dir', mirrorRoot);
    if (force) args.push('--force');
    return measure(label, process.execPath, args, { env, rusage: preload.resultFile(label) });
  };

  const results: Results = { first: null, full: [], hand: [], unchanged: [] };
  try {
    // First run: clone --mirror + bundle + upload; also the warm-up that leaves the mirror in place.
    rmSync(mirrorRoot, { recursive: true, force: true });
    progress('first run (clone --mirror, then backup)');
    const first = checkCli(await cli('first', true, 'first'), 'created');
    first.uploadedBytes = await prefixBytes(s3, 'first/');
    results.first = first;
    if (!existsSync(path.join(mirror, 'HEAD'))) throw new Error(`no mirror at ${mirror} after the first run`);
    await deletePrefix(s3, 'first/');

    for (let i = 1; i <= runs; i++) {
      const ours = async () => {
        progress(`run ${i}/${runs}: backup-action full backup`);
        const result = checkCli(await cli(`run${i}`, true, `run${i}`), 'created');
        result.uploadedBytes = await prefixBytes(s3, `run${i}/`);
        result.bundleBytes = (await s3.list(`run${i}/`)).find((o) => o.Key?.endsWith('/repo.bundle'))?.Size;
        results.full.push(result);
      };
      const peer = async () => {
        if (!haveAws) return;
        progress(`run ${i}/${runs}: hand pipeline (git bundle create + aws s3 cp)`);
        results.hand.push(await handPipeline(i, { mirror, tmp, env, endpoint: server.endpoint }));
      };
      // Alternate which goes first, so neither always meets the warmer page cache.
      if (i % 2 === 1) await ours().then(peer);
      else await peer().then(ours);
      // Keep the in-memory bucket small: only the last full backup is needed (for the unchanged runs).
      await deletePrefix(s3, `hand${i}/`);
      if (i < runs) await deletePrefix(s3, `run${i}/`);
    }

    const before = await prefixBytes(s3, '');
    for (let i = 1; i <= runs; i++) {
      progress(`unchanged run ${i}/${runs}`);
      const startBytes = await prefixBytes(s3, '');
      const result = checkCli(await cli(`run${runs}`, false, `unchanged${i}`), 'unchanged');
      result.bucketBytesAdded = (await prefixBytes(s3, '')) - startBytes;
      results.unchanged.push(result);
    }
    results.bucketBytesBeforeUnchanged = before;
  } finally {
    await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  }

  report({ sizeMiB, runs, generation, versions, haveAws, results, work, tag, cli: CLI });
}

// ---------------------------------------------------------------------------------------------------
// Scenario b: the hand pipeline

async function handPipeline(
  i: number,
  { mirror, tmp, env, endpoint }: { mirror: string; tmp: string; env: NodeJS.ProcessEnv; endpoint: string },
): Promise<HandRun> {
  const file = path.join(tmp, `hand${i}.bundle`);
  rmSync(file, { force: true });
  try {
    const bundle = await measure(`hand${i}-bundle`, 'git', ['bundle', 'create', '--quiet', file, '--all'], {
      env,
      cwd: mirror,
    });
    if (bundle.code !== 0) throw new Error(`git bundle create failed: ${bundle.stderr}`);
    const bytes = statSync(file).size;
    const copy = await measure(
      `hand${i}-aws`,
      AWS,
      awsCopyArgs(file, `s3://${BUCKET}/hand${i}/repo.bundle`, endpoint),
      { env },
    );
    if (copy.code !== 0) throw new Error(`aws s3 cp failed: ${copy.stderr}`);
    return { bundle, copy, seconds: bundle.seconds + copy.seconds, bundleBytes: bytes };
  } finally {
    rmSync(file, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------------
// Output

function checkCli(measured: Measured, expected: string): CliRun {
  const result = measured as CliRun;
  if (result.code !== 0) {
    throw new Error(
      `backup-action (${result.label}) exited ${result.code}:\n${result.stdout}${result.stderr}`,
    );
  }
  const line = result.stdout.split('\n').find((l) => / uploaded\)$/.test(l)) ?? '';
  const match = /: (created|unchanged) (\S+) \(([\d.]+) (B|KiB|MiB|GiB|TiB) uploaded\)$/.exec(line);
  if (!match || match[1] !== expected) {
    throw new Error(`backup-action (${result.label}): expected "${expected}", got:\n${result.stdout}`);
  }
  const units: Record<string, number> = {
    B: 1,
    KiB: 1024,
    MiB: MiB,
    GiB: 1024 * MiB,
    TiB: 1024 * 1024 * MiB,
  };
  const unit = units[match[4]];
  result.status = match[1];
  result.snapshot = match[2];
  result.reportedBytes = Math.round(Number(match[3]) * unit);
  result.reported = `${match[3]} ${match[4]}`;
  return result;
}

function childSummary(results: Measured[], match: (cmd: string) => boolean) {
  let peak = 0;
  let cpu = 0;
  for (const result of results) {
    let runCpu = 0;
    for (const [cmd, entry] of Object.entries(result.children)) {
      if (!match(cmd)) continue;
      peak = Math.max(peak, entry.peakRssMiB);
      runCpu += entry.cpuSeconds;
    }
    cpu = Math.max(cpu, runCpu);
  }
  return { peakRssMiB: peak, cpuSeconds: cpu };
}

function compact(result: Measured): Partial<Measured> {
  const rest: Partial<Measured> = { ...result };
  delete rest.stdout;
  delete rest.stderr;
  return rest;
}

function report({
  sizeMiB,
  runs,
  generation,
  versions,
  haveAws,
  results,
  work,
  tag,
  cli,
}: {
  sizeMiB: number;
  runs: number;
  generation: SourceDescription;
  versions: BenchVersions;
  haveAws: boolean;
  results: Results;
  work: string;
  tag: string;
  cli: string;
}): void {
  if (!results.first) throw new Error('no first run');
  const first = results.first;
  const full = results.full;
  const hand = results.hand;
  const unchanged = results.unchanged;
  const bundleBytes = hand[0]?.bundleBytes ?? full[0].bundleBytes ?? NaN;
  const fullMedian = median(full.map((r) => r.seconds));
  const handMedian = haveAws ? median(hand.map((r) => r.seconds)) : NaN;
  const bundleMedian = haveAws ? median(hand.map((r) => r.bundle.seconds)) : NaN;
  const copyMedian = haveAws ? median(hand.map((r) => r.copy.seconds)) : NaN;
  const ratio = fullMedian / handMedian;
  const peakRss = max(full.map((r) => r.peakRssMiB));
  const gitFull = childSummary(full, (cmd) => cmd.startsWith('git'));
  const unchangedMedian = median(unchanged.map((r) => r.seconds));
  const unchangedMax = max(unchanged.map((r) => r.seconds));
  const unchangedBytes = max(unchanged.map((r) => Math.max(r.reportedBytes, r.bucketBytesAdded)));
  const cpu = (r: CliRun) => (r.self ? r.self.userSeconds + r.self.systemSeconds : NaN);
  const packDone = (r: CliRun) => r.children['git pack-objects']?.lastSeenSeconds ?? NaN;
  const gitPeak = (r: Measured) =>
    max(Object.entries(r.children).map(([cmd, e]) => (cmd.startsWith('git') ? e.peakRssMiB : 0)));

  const rows = [
    [
      'backup-action, first run (clone --mirror + backup)',
      s(first.seconds),
      s(first.seconds),
      mib(first.peakRssMiB),
      `node CPU ${s(cpu(first))} s`,
    ],
    [
      'backup-action full backup to S3 (mirror present, --force)',
      s(fullMedian),
      list(full.map((r) => r.seconds)),
      mib(peakRss),
      `node: CPU ${s(median(full.map(cpu)))} s, anon RSS ${mib(max(full.map((r) => r.polledPeakAnonMiB)))} MiB; ` +
        `git: CPU ${s(gitFull.cpuSeconds)} s, peak RSS ${mib(gitFull.peakRssMiB)} MiB, pack-objects done at ${s(median(full.map(packDone)))} s; ` +
        `S3 server CPU ${s(median(full.map((r) => r.benchCpuSeconds)))} s`,
    ],
  ];
  if (haveAws) {
    const gitHand = childSummary(
      hand.map((r) => r.bundle),
      (cmd) => cmd.startsWith('git'),
    );
    rows.push(
      [
        'hand: git bundle create --all (to a file)',
        s(bundleMedian),
        list(hand.map((r) => r.bundle.seconds)),
        mib(max(hand.map((r) => Math.max(r.bundle.peakRssMiB, gitPeak(r.bundle))))),
        `git CPU ${s(gitHand.cpuSeconds)} s`,
      ],
      [
        'hand: aws s3 cp (the bundle file)',
        s(copyMedian),
        list(hand.map((r) => r.copy.seconds)),
        mib(max(hand.map((r) => r.copy.peakRssMiB))),
        `S3 server CPU ${s(median(hand.map((r) => r.copy.benchCpuSeconds)))} s`,
      ],
      ['hand pipeline total (bundle + cp)', s(handMedian), list(hand.map((r) => r.seconds)), '', ''],
    );
  } else {
    rows.push(['hand pipeline', 'skipped', 'aws CLI not installed', '', '']);
  }
  rows.push([
    'backup-action unchanged run (no --force)',
    s(unchangedMedian),
    list(unchanged.map((r) => r.seconds)),
    mib(max(unchanged.map((r) => r.peakRssMiB))),
    `uploaded ${unchangedBytes} B`,
  ]);

  const out = [];
  out.push(`## backup-action benchmark: ${sizeMiB} MiB repository, ${runs} run(s)`);
  out.push('');
  out.push('| Scenario | Median (s) | Runs (s) | Peak RSS (MiB) | Notes |');
  out.push('| --- | ---: | --- | ---: | --- |');
  for (const row of rows) out.push(`| ${row.join(' | ')} |`);
  out.push('');
  out.push(
    `- Bundle size: ${mib(bundleBytes / MiB)} MiB (${bundleBytes} B); uploaded by backup-action: ${full[0].uploadedBytes} B`,
  );
  out.push(
    `- Source: ${generation.commits} commits, ${generation.files} files, 3 branches, 9 tags; pack ${mib(generation.packBytes / MiB)} MiB` +
      ` (${generation.cached ? 'cached' : `generated in ${s(generation.seconds)} s`})`,
  );
  out.push(
    `- Ratio backup-action / hand pipeline (medians): ${haveAws ? ratio.toFixed(2) : 'n/a (no aws CLI)'}`,
  );
  out.push(
    `- Peak RSS of the backup-action node process: ${mib(peakRss)} MiB (max over runs; polled VmHWM ${mib(max(full.map((r) => r.polledPeakRssMiB)))} MiB)`,
  );
  out.push(
    `- Unchanged run: median ${s(unchangedMedian)} s, max ${s(unchangedMax)} s, ${unchangedBytes} B uploaded`,
  );
  out.push(
    `- Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${mib(os.totalmem() / MiB)} MiB RAM`,
  );
  out.push(`- CLI measured: ${path.relative(ROOT, cli) || cli}`);
  out.push(
    `- Versions: node ${versions.node}; ${versions.git}; ${versions.aws ? `${versions.aws} (${AWS})` : 'aws CLI: not installed'}`,
  );
  out.push('');

  const acceptance = [
    {
      name: 'peak RSS of the backup process < 300 MiB',
      pass: peakRss < 300,
      value: `${mib(peakRss)} MiB`,
    },
    {
      name: 'full backup time <= 1.5 x (git bundle create + aws s3 cp)',
      pass: haveAws ? ratio <= 1.5 : null,
      value: haveAws ? `${s(fullMedian)} s vs ${s(handMedian)} s = ${ratio.toFixed(2)}x` : 'aws CLI missing',
    },
    {
      name: 'unchanged run < 3 s and 0 bytes uploaded',
      pass: unchangedMax < 3 && unchangedBytes === 0,
      value: `max ${s(unchangedMax)} s, ${unchangedBytes} B`,
    },
  ];
  for (const check of acceptance) {
    const verdict = check.pass === null ? 'SKIP' : check.pass ? 'PASS' : 'FAIL';
    out.push(`${verdict}: ${check.name} (${check.value})`);
  }
  console.log(out.join('\n'));

  const json = {
    bench: 'backup-action',
    sizeMiB,
    runs,
    cli: path.relative(ROOT, cli) || cli,
    bundleBytes,
    bundleMiB: bundleBytes / MiB,
    cores: os.cpus().length,
    versions,
    source: generation,
    medians: {
      fullBackupSeconds: fullMedian,
      handBundleSeconds: bundleMedian,
      handCopySeconds: copyMedian,
      handTotalSeconds: handMedian,
      unchangedSeconds: unchangedMedian,
    },
    ratio: haveAws ? ratio : null,
    peakRssMiB: peakRss,
    unchangedBytes,
    acceptance: acceptance.map(({ name, pass }) => ({ name, pass })),
    runsDetail: {
      first: compact(first),
      full: full.map(compact),
      hand: hand.map((r) => ({ ...r, bundle: compact(r.bundle), copy: compact(r.copy) })),
      unchanged: unchanged.map(compact),
    },
  };
  writeFileSync(path.join(work, `results-${tag}.json`), JSON.stringify(json, null, 2) + '\n');
  console.log(JSON.stringify(json));
}

await main();
