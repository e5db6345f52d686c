// Benchmark: backup-action's CLI against the hand pipeline `git bundle create` + `aws s3 cp`, on a
// generated repository of incompressible blobs, against the in-memory S3 server of the tests.
//
//   node scripts/bench.mjs [--size-mib 1024] [--runs 3] [--work .bench] [--cli dist/cli.js]
//
// Prints a Markdown table, PASS/FAIL lines for the acceptance bounds (never a non-zero exit for a FAIL:
// it is a measurement) and one JSON line; the JSON is also written to <work>/results-<size>mib.json.
// The source repository (<work>/source-<size>mib.git) is generated once and reused while its
// parameters (bench-source.json in it) stay the same. --cli measures another build of the CLI.
//
// How things are measured:
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
// The S3 server (test/support/s3-server.mjs, bucket `bench`) runs in a worker thread of this process,
// so that its request handling does not delay the sampling timer of the main thread.
import { spawn, spawnSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { clearInterval, setInterval } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';

const MiB = 1024 * 1024;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUCKET = 'bench';
const SEED = 'backup-action-bench-v1';
const COMMITS = 300;
const DIRS = 12;
const FILES_PER_DIR = 20;
const POLL_MS = 50;
// The aws executable; pyenv's shim costs ~0.1 s of bash per call, so main() uses what it points to.
let AWS = 'aws';
const CREDENTIALS = {
  accessKeyId: 'bench-access-key',
  secretAccessKey: 'bench-secret-key',
  region: 'us-east-1',
};

// ---------------------------------------------------------------------------------------------------
// S3 server worker

async function serverWorker() {
  const { startS3Server } = await import(new URL('../test/support/s3-server.mjs', import.meta.url).href);
  const server = await startS3Server({ buckets: [BUCKET], ...CREDENTIALS });
  parentPort.postMessage({ endpoint: server.endpoint });
  parentPort.once('message', async () => {
    await server.stop();
    parentPort.postMessage({ stopped: true });
    parentPort.close();
  });
}

async function startServer() {
  const worker = new Worker(fileURLToPath(import.meta.url));
  const [{ endpoint }] = await Promise.race([
    once(worker, 'message'),
    once(worker, 'error').then(([error]) => Promise.reject(error)),
  ]);
  return {
    endpoint,
    async stop() {
      worker.postMessage('stop');
      await once(worker, 'message');
      await worker.terminate();
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Main

async function main() {
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
      'Usage: node scripts/bench.mjs [--size-mib 1024] [--runs 3] [--work .bench] [--cli dist/cli.js]',
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
  AWS = capture('pyenv', ['which', 'aws']) ?? 'aws';
  const versions = {
    node: process.version,
    git: capture('git', ['--version']) ?? 'missing',
    aws: capture(AWS, ['--version']),
    backupAction: JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version,
  };
  const haveAws = versions.aws !== undefined;
  if (!haveAws) progress('aws CLI not found: the hand pipeline (peer) is skipped');

  const server = await startServer();
  const s3 = await s3Client(server.endpoint);
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_REGION: CREDENTIALS.region,
    AWS_DEFAULT_REGION: CREDENTIALS.region,
    AWS_REQUEST_CHECKSUM_CALCULATION: 'when_required',
    AWS_PAGER: '',
  };
  for (const name of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'GITHUB_ACTIONS', 'RUNNER_TEMP', 'NODE_OPTIONS']) {
    delete env[name];
  }
  const cli = (prefix, force, label) => {
    const args = [`--import=${preload.url}`, CLI, 'backup', '--to', `s3://${BUCKET}/${prefix}`];
    args.push('--endpoint', server.endpoint, '--repo', source, '--mirror-dir', mirrorRoot);
    if (force) args.push('--force');
    return measure(label, process.execPath, args, { env, rusage: preload.resultFile(label) });
  };

  const results = { first: null, full: [], hand: [], unchanged: [] };
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
        result.bundleBytes = (await s3.list(`run${i}/`)).find((o) => o.Key.endsWith('/repo.bundle'))?.Size;
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
// Source repository: deterministic, incompressible, generated once with git fast-import

async function ensureSource(dir, sizeMiB) {
  const params = {
    generator: 'backup-action-bench/1',
    seed: SEED,
    sizeMiB,
    commits: COMMITS,
    files: DIRS * FILES_PER_DIR,
  };
  const marker = path.join(dir, 'bench-source.json');
  const describe = () => ({ ...params, packBytes: packBytes(dir), cached: true });
  if (existsSync(marker)) {
    try {
      const previous = JSON.parse(readFileSync(marker, 'utf8'));
      if (JSON.stringify(previous.params) === JSON.stringify(params)) {
        progress(`source repository ${dir} is cached`);
        return { ...describe(), seconds: previous.seconds };
      }
    } catch {
      // Regenerate below.
    }
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.dirname(dir), { recursive: true });
  git(['init', '--quiet', '--bare', '--initial-branch=main', dir]);
  progress(`generating ${sizeMiB} MiB source repository in ${dir}`);
  const started = performance.now();

  const child = spawn('git', ['fast-import', '--quiet', '--done'], {
    cwd: dir,
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  const stderr = [];
  child.stderr.on('data', (chunk) => stderr.push(chunk));
  const exited = once(child, 'close');
  const input = child.stdin;
  const write = async (data) => {
    if (!input.write(data)) await once(input, 'drain');
  };

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
    const when = `${1_700_000_000 + commit.index * 3600} +0000`;
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
      const when = `${1_700_000_000 + COMMITS * 3600} +0000`;
      await write(
        `tag ${tagged.name}\nfrom :${tagged.mark}\ntagger Bench Tagger <tagger@example.com> ${when}\n` +
          `data ${Buffer.byteLength(message)}\n${message}\n`,
      );
    } else {
      await write(`reset refs/tags/${tagged.name}\nfrom :${tagged.mark}\n\n`);
    }
  }
  await write('done\n');
  input.end();
  const [code] = await exited;
  if (code !== 0) throw new Error(`git fast-import failed (${code}): ${Buffer.concat(stderr).toString()}`);
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
function planHistory(totalBytes) {
  const rng = new XorShift(SEED);
  const layout = [
    { branch: 'main', count: 240 },
    { branch: 'develop', count: 40, fork: 200 },
    { branch: 'release/1.x', count: 20, fork: 120 },
  ];
  const commits = [];
  const mainMarks = [];
  let index = 0;
  for (const { branch, count, fork } of layout) {
    for (let k = 0; k < count; k++, index++) {
      const mark = 1_000_000 + index;
      if (branch === 'main') mainMarks.push(mark);
      const fileCount = 1 + (rng.next() % 3);
      const paths = new Set();
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
        files: [...paths].map((p, j) => ({ path: p, weight: weights[j] })),
      });
    }
  }
  // Spread totalBytes over commits, then over each commit's files, exactly.
  const sumCommits = commits.reduce((sum, c) => sum + c.commitWeight, 0);
  let assigned = 0;
  const allFiles = [];
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
  const tags = [];
  for (let n = 40; n <= 240; n += 40) tags.push({ name: `v0.${n / 40}`, mark: mainMarks[n - 1] });
  tags.push({ name: 'v1.0', mark: mainMarks[119], annotated: true });
  tags.push({ name: 'v2.0', mark: mainMarks[239], annotated: true });
  tags.push({ name: 'v1.0.1', mark: commits[commits.length - 1].mark, annotated: true });
  return { commits, tags, totalBytes: allFiles.reduce((sum, f) => sum + f.size, 0) };
}

/** Seeded xorshift32, for the layout (sizes, paths). */
class XorShift {
  constructor(seed) {
    this.state = createHash('sha256').update(`layout:${seed}`).digest().readUInt32LE(0) || 1;
  }
  next() {
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
  constructor(seed) {
    const key = createHash('sha256').update(`blobs:${seed}`).digest();
    this.cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
    this.zeros = Buffer.alloc(MiB);
  }
  next(n) {
    return this.cipher.update(this.zeros.subarray(0, n));
  }
}

function packBytes(dir) {
  const packDir = path.join(dir, 'objects', 'pack');
  if (!existsSync(packDir)) return 0;
  return readdirSync(packDir)
    .filter((name) => name.endsWith('.pack'))
    .reduce((sum, name) => sum + statSync(path.join(packDir, name)).size, 0);
}

// ---------------------------------------------------------------------------------------------------
// Scenario b: the hand pipeline

async function handPipeline(i, { mirror, tmp, env, endpoint }) {
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
      [
        's3',
        'cp',
        '--only-show-errors',
        file,
        `s3://${BUCKET}/hand${i}/repo.bundle`,
        '--endpoint-url',
        endpoint,
      ],
      { env },
    );
    if (copy.code !== 0) throw new Error(`aws s3 cp failed: ${copy.stderr}`);
    return { bundle, copy, seconds: bundle.seconds + copy.seconds, bundleBytes: bytes };
  } finally {
    rmSync(file, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------------
// Measuring one process

/** A module preloaded into the measured node process: on exit it writes its own VmHWM and rusage. */
function writePreload(work) {
  mkdirSync(work, { recursive: true });
  const file = path.join(work, 'rusage-preload.mjs');
  writeFileSync(
    file,
    `import { readFileSync, writeFileSync } from 'node:fs';
const out = process.env.BENCH_RUSAGE_FILE;
if (out) {
  process.on('exit', () => {
    const status = readFileSync('/proc/self/status', 'utf8');
    const usage = process.resourceUsage();
    writeFileSync(out, JSON.stringify({
      vmHwmKiB: Number(/VmHWM:\\s+(\\d+)/.exec(status)?.[1] ?? 0),
      maxRssKiB: usage.maxRSS,
      userSeconds: usage.userCPUTime / 1e6,
      systemSeconds: usage.systemCPUTime / 1e6,
    }));
  });
}
`,
  );
  const dir = path.join(work, 'tmp');
  return {
    url: new URL(`file://${file}`).href,
    resultFile: (label) => path.join(dir, `rusage-${label}.json`),
  };
}

/** Spawns a process, samples its tree until it exits; resolves with time, output and peaks. */
function measure(label, command, args, { env, cwd, rusage } = {}) {
  return new Promise((resolve, reject) => {
    if (rusage) rmSync(rusage, { force: true });
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const child = spawn(command, args, {
      cwd,
      env: rusage ? { ...env, BENCH_RUSAGE_FILE: rusage } : env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout = [];
    const stderr = [];
    child.stdout.on('data', (chunk) => stdout.push(chunk));
    child.stderr.on('data', (chunk) => stderr.push(chunk));
    const sampler = child.pid ? startSampler(child.pid) : undefined;
    child.on('error', (error) => {
      sampler?.stop();
      reject(error);
    });
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      const cpuAfter = process.cpuUsage(cpuBefore);
      const tree = sampler?.stop() ?? { rootHwmKiB: 0, treeRssPeakKiB: 0, children: {}, samples: 0 };
      let self;
      if (rusage && existsSync(rusage)) self = JSON.parse(readFileSync(rusage, 'utf8'));
      const polledKiB = tree.rootHwmKiB;
      resolve({
        label,
        code,
        seconds,
        stdout: Buffer.concat(stdout).toString(),
        stderr: Buffer.concat(stderr).toString(),
        // Peak RSS of the spawned process itself: the larger of the polled and the at-exit VmHWM.
        peakRssMiB: Math.max(polledKiB, self?.vmHwmKiB ?? 0) / 1024,
        polledPeakRssMiB: polledKiB / 1024,
        // Largest anonymous (heap, buffers) part of its RSS seen by the polls; VmHWM also counts file pages.
        polledPeakAnonMiB: (tree.rootAnonPeakKiB ?? 0) / 1024,
        // CPU of this bench process meanwhile: almost all of it is the S3 server answering the uploads.
        benchCpuSeconds: (cpuAfter.user + cpuAfter.system) / 1e6,
        self,
        children: tree.children,
        treeRssPeakMiB: tree.treeRssPeakKiB / 1024,
        samples: tree.samples,
      });
    });
  });
}

const TICK = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on Linux

/** Polls /proc for the process and its descendants every POLL_MS. */
function startSampler(rootPid) {
  const started = performance.now();
  let rootHwmKiB = 0;
  let rootAnonPeakKiB = 0;
  let treeRssPeakKiB = 0;
  let samples = 0;
  const seen = new Map(); // pid -> { cmd, hwmKiB, cpuTicks, firstSeconds, lastSeconds }
  const sample = () => {
    samples++;
    const now = (performance.now() - started) / 1000;
    const table = processTable();
    const tree = [rootPid];
    for (let k = 0; k < tree.length; k++) {
      for (const [pid, info] of table) if (info.ppid === tree[k]) tree.push(pid);
    }
    let rss = 0;
    for (const pid of tree) {
      const status = readStatus(pid);
      if (!status) continue;
      rss += status.rssKiB;
      if (pid === rootPid) {
        rootHwmKiB = Math.max(rootHwmKiB, status.hwmKiB);
        rootAnonPeakKiB = Math.max(rootAnonPeakKiB, status.anonKiB);
        continue;
      }
      const info = table.get(pid);
      const entry = seen.get(pid);
      if (!entry) {
        seen.set(pid, {
          cmd: status.cmd,
          hwmKiB: status.hwmKiB,
          cpuTicks: info.cpuTicks,
          firstSeconds: now,
          lastSeconds: now,
        });
        continue;
      }
      // A process that has exited but is not reaped yet has no cmdline and no VmHWM: keep what we had.
      if (entry.cmd === '?') entry.cmd = status.cmd;
      entry.hwmKiB = Math.max(entry.hwmKiB, status.hwmKiB);
      entry.cpuTicks = Math.max(entry.cpuTicks, info.cpuTicks);
      entry.lastSeconds = now;
    }
    treeRssPeakKiB = Math.max(treeRssPeakKiB, rss);
  };
  sample();
  const timer = setInterval(sample, POLL_MS);
  return {
    stop() {
      clearInterval(timer);
      // Children grouped by command (e.g. `git bundle`, `git pack-objects`, `aws`).
      const children = {};
      for (const { hwmKiB, cpuTicks, cmd, firstSeconds, lastSeconds } of seen.values()) {
        const entry = (children[cmd] ??= {
          processes: 0,
          peakRssMiB: 0,
          cpuSeconds: 0,
          firstSeenSeconds: firstSeconds,
          lastSeenSeconds: lastSeconds,
        });
        entry.processes++;
        entry.peakRssMiB = Math.max(entry.peakRssMiB, hwmKiB / 1024);
        entry.cpuSeconds += cpuTicks / TICK;
        entry.firstSeenSeconds = Math.min(entry.firstSeenSeconds, firstSeconds);
        entry.lastSeenSeconds = Math.max(entry.lastSeenSeconds, lastSeconds);
      }
      return { rootHwmKiB, rootAnonPeakKiB, treeRssPeakKiB, children, samples };
    },
  };
}

function processTable() {
  const table = new Map();
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) > 57) continue; // not a pid
    let stat;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    table.set(Number(name), {
      comm: stat.slice(stat.indexOf('(') + 1, close),
      ppid: Number(fields[1]),
      cpuTicks: Number(fields[11]) + Number(fields[12]),
    });
  }
  return table;
}

function readStatus(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const kib = (field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    return {
      hwmKiB: kib('VmHWM'),
      rssKiB: kib('VmRSS'),
      anonKiB: kib('RssAnon'),
      cmd: cmdline.length ? describeCommand(cmdline) : '?',
    };
  } catch {
    return undefined;
  }
}

function describeCommand(argv) {
  const name = path.basename(argv[0] ?? '?');
  if (name === 'git') return `git ${argv.find((a, i) => i > 0 && !a.startsWith('-')) ?? ''}`.trim();
  if (/python/.test(name) && argv.some((a) => /\baws$/.test(a))) return 'aws';
  return name;
}

// ---------------------------------------------------------------------------------------------------
// S3 bookkeeping (the SDK, from the project's dependencies)

async function s3Client(endpoint) {
  const { S3Client, ListObjectsV2Command, DeleteObjectCommand } = await import('@aws-sdk/client-s3');
  const client = new S3Client({
    endpoint,
    region: CREDENTIALS.region,
    forcePathStyle: true,
    credentials: { accessKeyId: CREDENTIALS.accessKeyId, secretAccessKey: CREDENTIALS.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    async list(prefix) {
      const objects = [];
      let token;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken: token }),
        );
        objects.push(...(page.Contents ?? []));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return objects;
    },
    async remove(key) {
      await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    },
  };
}

async function prefixBytes(s3, prefix) {
  return (await s3.list(prefix)).reduce((sum, object) => sum + (object.Size ?? 0), 0);
}

async function deletePrefix(s3, prefix) {
  for (const object of await s3.list(prefix)) await s3.remove(object.Key);
}

// ---------------------------------------------------------------------------------------------------
// Output

function checkCli(result, expected) {
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
  const unit = { B: 1, KiB: 1024, MiB: MiB, GiB: 1024 * MiB, TiB: 1024 * 1024 * MiB }[match[4]];
  result.status = match[1];
  result.snapshot = match[2];
  result.reportedBytes = Math.round(Number(match[3]) * unit);
  result.reported = `${match[3]} ${match[4]}`;
  return result;
}

function median(numbers) {
  const sorted = [...numbers].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const max = (numbers) => Math.max(...numbers);
const s = (x) => (x === undefined || Number.isNaN(x) ? 'n/a' : x.toFixed(2));
const mib = (x) => (x === undefined || Number.isNaN(x) ? 'n/a' : x.toFixed(1));
const list = (numbers) => numbers.map((x) => x.toFixed(2)).join(', ');

function childSummary(results, match) {
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

function compact(result) {
  const rest = { ...result };
  delete rest.stdout;
  delete rest.stderr;
  return rest;
}

function report({ sizeMiB, runs, generation, versions, haveAws, results, work, tag, cli }) {
  const full = results.full;
  const hand = results.hand;
  const unchanged = results.unchanged;
  const bundleBytes = hand[0]?.bundleBytes ?? full[0].bundleBytes;
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
  const cpu = (r) => (r.self ? r.self.userSeconds + r.self.systemSeconds : NaN);
  const packDone = (r) => r.children['git pack-objects']?.lastSeenSeconds ?? NaN;
  const gitPeak = (r) =>
    max(Object.entries(r.children).map(([cmd, e]) => (cmd.startsWith('git') ? e.peakRssMiB : 0)));

  const rows = [
    [
      'backup-action, first run (clone --mirror + backup)',
      s(results.first.seconds),
      s(results.first.seconds),
      mib(results.first.peakRssMiB),
      `node CPU ${s(cpu(results.first))} s`,
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
      first: compact(results.first),
      full: full.map(compact),
      hand: hand.map((r) => ({ ...r, bundle: compact(r.bundle), copy: compact(r.copy) })),
      unchanged: unchanged.map(compact),
    },
  };
  writeFileSync(path.join(work, `results-${tag}.json`), JSON.stringify(json, null, 2) + '\n');
  console.log(JSON.stringify(json));
}

// ---------------------------------------------------------------------------------------------------
// Small helpers

function progress(message) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

function git(args, options = {}) {
  const result = spawnSync('git', args, { encoding: 'utf8', ...options });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

/** First line of a command's output (stdout or stderr), or undefined when it cannot run. */
function capture(command, args) {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error || result.status !== 0) return undefined;
  return `${result.stdout}${result.stderr}`.trim().split('\n')[0];
}

// Last, so that every class and constant above is initialized first.
if (isMainThread) {
  await main();
} else {
  await serverWorker();
}
