// Small helpers of the benchmarks: where the project is, progress lines, running git and short commands,
// sizes on disk.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { lstatSync, readdirSync, type Stats } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const MiB = 1024 * 1024;
/** The project's root folder (bench/lib/../..). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function progress(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

export function git(args: string[], options: SpawnSyncOptions = {}): string {
  const result = spawnSync('git', args, { encoding: 'utf8', ...options });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${result.stderr}`);
  return String(result.stdout);
}

/** First line of a command's output (stdout or stderr), or undefined when it cannot run. */
export function capture(command: string, args: string[], options: SpawnSyncOptions = {}): string | undefined {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (result.error || result.status !== 0) return undefined;
  return `${result.stdout}${result.stderr}`.trim().split('\n')[0];
}

/** Total size in bytes of the regular files below `dir` (0 when it does not exist). */
export function dirBytes(dir: string): number {
  let total = 0;
  let stat: Stats;
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
export function tail(text: string, lines = 15): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

/** The message of a thrown value. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The node arguments that run a TypeScript script (`node <these>`): tsx's loader, registered with
 * --import (what `tsx <script>` does, without the extra process of its command line).
 */
export function typeScriptArgs(script: string, args: string[] = []): string[] {
  return [`--import=${import.meta.resolve('tsx')}`, script, ...args];
}
