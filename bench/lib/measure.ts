// Measuring one process (bench/main.ts, bench/bundle.ts): wall time, peak RSS polled from /proc, CPU of
// its children.
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
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { clearInterval, setInterval } from 'node:timers';
import { pathToFileURL } from 'node:url';
import { tail } from './process.js';

const POLL_MS = 50;
const TICK = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on Linux

/** What the preloaded module of writePreload reports at the exit of a measured node process. */
export interface SelfUsage {
  vmHwmKiB: number;
  maxRssKiB: number;
  userSeconds: number;
  systemSeconds: number;
}

/** The descendants of a measured process with the same command. */
export interface ChildSummary {
  processes: number;
  peakRssMiB: number;
  cpuSeconds: number;
  firstSeenSeconds: number;
  lastSeenSeconds: number;
}

export interface Measured {
  label: string;
  /** Exit code, or the signal that ended the process. */
  code: number | NodeJS.Signals | null;
  seconds: number;
  rootCmd: string;
  /** Set when run under /usr/bin/time: the peak of rootCmd and the children it waited for. */
  waitedPeakMiB?: number;
  stdout: string;
  stderr: string;
  /** Peak RSS of the spawned process itself: the larger of the polled and the at-exit VmHWM. */
  peakRssMiB: number;
  polledPeakRssMiB: number;
  /** Largest anonymous (heap, buffers) part of its RSS seen by the polls; VmHWM also counts file pages. */
  polledPeakAnonMiB: number;
  /** CPU of this bench process meanwhile: almost all of it is the S3 server answering the uploads. */
  benchCpuSeconds: number;
  self?: SelfUsage;
  children: Record<string, ChildSummary>;
  treeRssPeakMiB: number;
  samples: number;
}

export interface MeasureOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** File the preloaded module writes the process's own usage to (see writePreload). */
  rusage?: string;
  /** In its own process group, which killChildren ends. */
  detached?: boolean;
  stdin?: string | Buffer;
  /** A folder: run under /usr/bin/time -f %M when present (see measure). */
  waitedRss?: string;
}

export interface Preload {
  /** file: URL of the module, for --import. */
  url: string;
  /** Where a measured process labelled `label` writes its usage (MeasureOptions.rusage). */
  resultFile(label: string): string;
}

// ---------------------------------------------------------------------------------------------------
// Measuring one process

/**
 * A module preloaded into a measured node process: on exit it writes its own VmHWM and rusage. It is
 * plain JavaScript written at run time, so that the measured process (the built CLI) loads nothing else.
 */
export function writePreload(work: string): Preload {
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
    url: pathToFileURL(file).href,
    resultFile: (label) => path.join(dir, `rusage-${label}.json`),
  };
}

/** Process groups of the measured children still running (spawned detached), for killChildren. */
const running = new Set<number>();

/** Ends every measured child still running, with its whole process group (git's own children too). */
export function killChildren(signal: NodeJS.Signals = 'SIGTERM'): void {
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
export function measure(
  label: string,
  command: string,
  args: string[],
  { env, cwd, rusage, detached = false, stdin, waitedRss }: MeasureOptions = {},
): Promise<Measured> {
  return new Promise((resolve, reject) => {
    if (rusage) rmSync(rusage, { force: true });
    const rootCmd = describeCommand([command, ...args]);
    let waitedFile: string | undefined;
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
    if (stdin !== undefined) child.stdin?.end(stdin);
    const pid = child.pid;
    if (detached && pid) running.add(pid);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    const sampler = pid ? startSampler(pid) : undefined;
    child.on('error', (error) => {
      sampler?.stop();
      if (pid) running.delete(pid);
      reject(error);
    });
    child.on('close', (code, signal) => {
      if (pid) running.delete(pid);
      const seconds = (performance.now() - started) / 1000;
      const cpuAfter = process.cpuUsage(cpuBefore);
      const tree = sampler?.stop() ?? {
        rootHwmKiB: 0,
        rootAnonPeakKiB: 0,
        treeRssPeakKiB: 0,
        children: {},
        samples: 0,
      };
      let self: SelfUsage | undefined;
      if (rusage && existsSync(rusage)) self = JSON.parse(readFileSync(rusage, 'utf8')) as SelfUsage;
      let waitedPeakMiB: number | undefined;
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
        waitedPeakMiB,
        stdout: Buffer.concat(stdout).toString(),
        stderr: Buffer.concat(stderr).toString(),
        peakRssMiB: Math.max(polledKiB, self?.vmHwmKiB ?? 0) / 1024,
        polledPeakRssMiB: polledKiB / 1024,
        polledPeakAnonMiB: (tree.rootAnonPeakKiB ?? 0) / 1024,
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
export async function measureOk(
  label: string,
  command: string,
  args: string[],
  options?: MeasureOptions,
): Promise<Measured> {
  const result = await measure(label, command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${label}: ${command} ${args.join(' ')} exited ${result.code}:\n${tail(result.stderr || result.stdout)}`,
    );
  }
  return result;
}

const isGit = (cmd: string) => cmd === 'git' || cmd.startsWith('git ') || cmd.startsWith('git-');

/** Largest peak RSS (MiB) of the processes of a measured tree whose command matches `match`. */
function peakOf(result: Measured, match: (cmd: string) => boolean): number {
  // Under /usr/bin/time the polled root is `time` and the command one of its children.
  let peak = match(result.rootCmd) ? (result.waitedPeakMiB ?? result.peakRssMiB) : 0;
  for (const [cmd, entry] of Object.entries(result.children)) {
    if (cmd !== '?' && cmd !== 'time' && match(cmd)) peak = Math.max(peak, entry.peakRssMiB);
  }
  return peak;
}

/** Largest VmHWM (MiB) of a non-git process in a measured tree: the tool's own memory. */
export function toolPeakMiB(result: Measured): number {
  return peakOf(result, (cmd) => !isGit(cmd));
}

/** Largest VmHWM (MiB) of a git process in a measured tree (pack-objects': mostly its mmap of the pack). */
export function gitPeakMiB(result: Measured): number {
  return peakOf(result, isGit);
}

// ---------------------------------------------------------------------------------------------------
// Sampling /proc

interface Seen {
  cmd: string;
  hwmKiB: number;
  cpuTicks: number;
  firstSeconds: number;
  lastSeconds: number;
}

interface TreeSample {
  rootHwmKiB: number;
  rootAnonPeakKiB: number;
  treeRssPeakKiB: number;
  children: Record<string, ChildSummary>;
  samples: number;
}

/** Polls /proc for the process and its descendants every POLL_MS. */
function startSampler(rootPid: number): { stop(): TreeSample } {
  const started = performance.now();
  let rootHwmKiB = 0;
  let rootAnonPeakKiB = 0;
  let treeRssPeakKiB = 0;
  let samples = 0;
  const seen = new Map<number, Seen>();
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
      if (!info) continue;
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
      // One first seen between fork and exec (a copy of node about to become git) is another program
      // now, with a new memory map whose VmHWM starts over: it takes the new command, and only its peak.
      if (status.cmd !== '?' && status.cmd !== entry.cmd) {
        if (entry.cmd !== '?') entry.hwmKiB = 0;
        entry.cmd = status.cmd;
      }
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
      const children: Record<string, ChildSummary> = {};
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

function processTable(): Map<number, { comm: string; ppid: number; cpuTicks: number }> {
  const table = new Map<number, { comm: string; ppid: number; cpuTicks: number }>();
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) > 57) continue; // not a pid
    let stat: string;
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

function readStatus(
  pid: number,
): { hwmKiB: number; rssKiB: number; anonKiB: number; cmd: string } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
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

function describeCommand(argv: string[]): string {
  const name = path.basename(argv[0] ?? '?');
  if (name === 'git') return `git ${argv.find((a, i) => i > 0 && !a.startsWith('-')) ?? ''}`.trim();
  if (/python/.test(name) && argv.some((a) => /\baws$/.test(a))) return 'aws';
  return name;
}
