// Shared by the benchmarks (scripts/bench.mjs, scripts/bench-peers.mjs): measuring one process (wall
// time, peak RSS polled from /proc, CPU of its children), medians and formatting, and the local
// S3-protocol server of the tests (test/support/s3-server.mjs) run in a worker thread.
//
// How a process is measured (measure):
// - wall time: from spawn to the child's exit (performance.now), start-up included.
// - peak RSS of the spawned process: its VmHWM, polled from /proc/<pid>/status every 50 ms (monotonic:
//   the last value read wins); a node process can also report its own VmHWM and CPU times on exit (a
//   tiny module preloaded with --import, see writePreload). getrusage's maxRSS is not used: Linux
//   carries the parent's high-water mark across fork + exec, so it shows the bench process's size.
// - descendants: the process tree below the spawned process is rescanned on every poll; each
//   descendant's largest VmHWM and last CPU ticks are kept (a child that lives < 50 ms may be missed).
//   git pack-objects' VmHWM is almost all file-backed (its mmap of the pack), not allocated memory.
// - the bench process's own CPU time meanwhile (process.cpuUsage): with the S3 server in a worker
//   thread of this process, that is almost all the server answering the measured client.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { clearInterval, setInterval } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

export const MiB = 1024 * 1024;
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BUCKET = 'bench';
export const CREDENTIALS = {
  accessKeyId: 'bench-access-key',
  secretAccessKey: 'bench-secret-key',
  region: 'us-east-1',
};
const POLL_MS = 50;
const TICK = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on Linux

// ---------------------------------------------------------------------------------------------------
// S3 server: in a worker thread, so that its request handling does not delay the sampling timer

async function serverWorker() {
  const { startS3Server } = await import(new URL('../test/support/s3-server.mjs', import.meta.url).href);
  const server = await startS3Server({ buckets: [BUCKET], ...CREDENTIALS, bodyLimit: workerData.bodyLimit });
  parentPort.postMessage({ endpoint: server.endpoint });
  parentPort.once('message', async () => {
    await server.stop();
    parentPort.postMessage({ stopped: true });
    parentPort.close();
  });
}

/** The environment for the measured commands: the server's credentials, no inherited AWS or Actions settings. */
export function awsEnvironment() {
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
  return env;
}

/**
 * Starts the S3 server (bucket `bench`, CREDENTIALS) in a worker thread; stop() ends it. `bodyLimit`
 * raises the largest request body it takes (default 128 MiB), for single-request uploads.
 */
export async function startServer({ bodyLimit } = {}) {
  const worker = new Worker(fileURLToPath(import.meta.url), {
    workerData: { benchS3Server: true, bodyLimit },
  });
  const [{ endpoint }] = await Promise.race([
    once(worker, 'message'),
    once(worker, 'error').then(([error]) => Promise.reject(error)),
  ]);
  let stopped = false;
  return {
    endpoint,
    async stop() {
      if (stopped) return;
      stopped = true;
      worker.postMessage('stop');
      await Promise.race([once(worker, 'message'), new Promise((resolve) => setTimeout(resolve, 5000))]);
      await worker.terminate();
    },
  };
}

/** Listing and deleting in the bench bucket, with the SDK of the project's dependencies. */
export async function s3Client(endpoint, bucket = BUCKET) {
  const { S3Client, ListObjectsV2Command, DeleteObjectsCommand, DeleteObjectCommand } =
    await import('@aws-sdk/client-s3');
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
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        objects.push(...(page.Contents ?? []));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return objects;
    },
    async remove(key) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
    async removeMany(keys) {
      for (let i = 0; i < keys.length; i += 1000) {
        const batch = keys.slice(i, i + 1000).map((Key) => ({ Key }));
        await client.send(
          new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch, Quiet: true } }),
        );
      }
    },
    destroy() {
      client.destroy();
    },
  };
}

export async function prefixBytes(s3, prefix) {
  return (await s3.list(prefix)).reduce((sum, object) => sum + (object.Size ?? 0), 0);
}

export async function deletePrefix(s3, prefix) {
  for (const object of await s3.list(prefix)) await s3.remove(object.Key);
}

// ---------------------------------------------------------------------------------------------------
// Measuring one process

/** A module preloaded into a measured node process: on exit it writes its own VmHWM and rusage. */
export function writePreload(work) {
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

/** Process groups of the measured children still running (spawned detached), for killChildren. */
const running = new Set();

/** Ends every measured child still running, with its whole process group (git's own children too). */
export function killChildren(signal = 'SIGTERM') {
  for (const pid of running) {
    try {
      process.kill(-pid, signal);
    } catch {
      // Already gone.
    }
  }
  running.clear();
}

/** GNU time, whose %M is the largest maxRSS of the processes it waited for (not for node: see above). */
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
let waitedSerial = 0;

/**
 * Spawns a process, samples its tree until it exits; resolves with time, output and peaks (also on a
 * non-zero exit: see `code`). `detached` puts it in its own process group, which killChildren ends.
 * `waitedRss` (a folder) runs it under /usr/bin/time -f %M when present: `waitedPeakMiB` is then the
 * exact peak RSS of the command and its waited-for descendants, even those too short-lived to be polled
 * (use it for small programs only: the fork of a big process would carry the big high-water mark).
 */
export function measure(label, command, args, { env, cwd, rusage, detached = false, stdin, waitedRss } = {}) {
  return new Promise((resolve, reject) => {
    if (rusage) rmSync(rusage, { force: true });
    const rootCmd = describeCommand([command, ...args]);
    let waitedFile;
    if (waitedRss && TIME) {
      mkdirSync(waitedRss, { recursive: true });
      waitedFile = path.join(waitedRss, `time-${process.pid}-${++waitedSerial}.txt`);
      args = ['-f', '%M', '-o', waitedFile, command, ...args];
      command = TIME;
    }
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const child = spawn(command, args, {
      cwd,
      env: rusage ? { ...env, BENCH_RUSAGE_FILE: rusage } : env,
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      detached,
    });
    if (stdin !== undefined) child.stdin.end(stdin);
    if (detached && child.pid) running.add(child.pid);
    const stdout = [];
    const stderr = [];
    child.stdout.on('data', (chunk) => stdout.push(chunk));
    child.stderr.on('data', (chunk) => stderr.push(chunk));
    const sampler = child.pid ? startSampler(child.pid) : undefined;
    child.on('error', (error) => {
      sampler?.stop();
      running.delete(child.pid);
      reject(error);
    });
    child.on('close', (code, signal) => {
      running.delete(child.pid);
      const seconds = (performance.now() - started) / 1000;
      const cpuAfter = process.cpuUsage(cpuBefore);
      const tree = sampler?.stop() ?? { rootHwmKiB: 0, treeRssPeakKiB: 0, children: {}, samples: 0 };
      let self;
      if (rusage && existsSync(rusage)) self = JSON.parse(readFileSync(rusage, 'utf8'));
      let waitedPeakMiB;
      if (waitedFile && existsSync(waitedFile)) {
        // "Command exited with non-zero status N" may come first; the number is the last line.
        const kib = Number(readFileSync(waitedFile, 'utf8').trim().split('\n').pop());
        if (kib > 0) waitedPeakMiB = kib / 1024;
        rmSync(waitedFile, { force: true });
      }
      const polledKiB = tree.rootHwmKiB;
      resolve({
        label,
        code: code ?? signal,
        seconds,
        rootCmd,
        // Set when run under /usr/bin/time: the peak of rootCmd and the children it waited for.
        waitedPeakMiB,
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

/** measure(), then an error with the output when the process failed. */
export async function measureOk(label, command, args, options) {
  const result = await measure(label, command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${label}: ${command} ${args.join(' ')} exited ${result.code}:\n${tail(result.stderr || result.stdout)}`,
    );
  }
  return result;
}

const isGit = (cmd) => cmd === 'git' || cmd.startsWith('git ') || cmd.startsWith('git-');

/** Largest peak RSS (MiB) of the processes of a measured tree whose command matches `match`. */
function peakOf(result, match) {
  // Under /usr/bin/time the polled root is `time` and the command one of its children.
  let peak = match(result.rootCmd) ? (result.waitedPeakMiB ?? result.peakRssMiB) : 0;
  for (const [cmd, entry] of Object.entries(result.children)) {
    if (cmd !== '?' && cmd !== 'time' && match(cmd)) peak = Math.max(peak, entry.peakRssMiB);
  }
  return peak;
}

/** Largest VmHWM (MiB) of a non-git process in a measured tree: the tool's own memory. */
export function toolPeakMiB(result) {
  return peakOf(result, (cmd) => !isGit(cmd));
}

/** Largest VmHWM (MiB) of a git process in a measured tree (pack-objects': mostly its mmap of the pack). */
export function gitPeakMiB(result) {
  return peakOf(result, isGit);
}

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
// Statistics and formatting

export function median(numbers) {
  const sorted = [...numbers].filter((x) => x !== undefined && !Number.isNaN(x)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export const max = (numbers) => Math.max(...numbers);
const missing = (x) => x === undefined || x === null || Number.isNaN(x);
/** Seconds with 2 decimals. */
export const s = (x) => (missing(x) ? 'n/a' : x.toFixed(2));
/** MiB with 1 decimal. */
export const mib = (x) => (missing(x) ? 'n/a' : x.toFixed(1));
/** MiB with 1 decimal, or a dash for nothing seen (no such process, or too short-lived to be polled). */
export const mibOrDash = (x) => (missing(x) || x === 0 ? '–' : x.toFixed(1));
export const list = (numbers) => numbers.map((x) => x.toFixed(2)).join(', ');

/** Bytes for people: B, then KiB, MiB, GiB with 3 significant digits (exact counts are in the JSON). */
export function bytes(n) {
  if (missing(n)) return 'n/a';
  if (Math.abs(n) < 1024) return `${Math.round(n)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toPrecision(3)} ${units[unit]}`;
}

/** A Markdown table (header row, alignment row of 'l' / 'r', rows). */
export function table(header, align, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [
    line(header),
    line(align.map((a) => (a === 'r' ? '---:' : '---'))),
    ...rows.map((row) => line(row.map((cell) => String(cell ?? '').replace(/\|/g, '\\|')))),
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------------
// Small helpers

export function progress(message) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

export function git(args, options = {}) {
  const result = spawnSync('git', args, { encoding: 'utf8', ...options });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

/** First line of a command's output (stdout or stderr), or undefined when it cannot run. */
export function capture(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (result.error || result.status !== 0) return undefined;
  return `${result.stdout}${result.stderr}`.trim().split('\n')[0];
}

/** Total size in bytes of the regular files below `dir` (0 when it does not exist). */
export function dirBytes(dir) {
  let total = 0;
  let stat;
  try {
    stat = lstatSync(dir);
  } catch {
    return 0;
  }
  if (stat.isFile()) return stat.size;
  if (!stat.isDirectory()) return 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += dirBytes(full);
    else if (entry.isFile()) total += lstatSync(full).size;
  }
  return total;
}

/** The last lines of a process's output, for error messages. */
export function tail(text, lines = 15) {
  return text.trim().split('\n').slice(-lines).join('\n');
}

// When loaded as the S3 server's worker thread.
if (!isMainThread && workerData?.benchS3Server) await serverWorker();
