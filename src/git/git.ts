import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { PassThrough, type Readable } from 'node:stream';
import { redact } from '../util/secrets.js';

/**
 * git as a subprocess. We spawn it ourselves (rather than through @actions/exec) because the bundle
 * must be read as a stream and because nothing, not even the command line, may be echoed to the log.
 */
export interface GitOptions {
  cwd?: string;
  /** Extra environment, e.g. GIT_CONFIG_* entries with the auth header. */
  env?: NodeJS.ProcessEnv;
  /** Written to git's stdin (which is closed either way). */
  input?: string;
}

export class GitError extends Error {
  constructor(
    readonly args: string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly signal: NodeJS.Signals | null = null,
  ) {
    const how = exitCode === null && signal ? `killed by ${signal}` : `exit ${exitCode}`;
    super(redact(`git ${args[0]} failed (${how}): ${stderr.trim().split('\n').slice(-3).join(' / ')}`));
    this.name = 'GitError';
  }
}

/**
 * Variables that point git at another repository (`git rev-parse --local-env-vars`). Inherited from a
 * hook or a wrapper, GIT_DIR would make us back up, and fetch into, the wrong repository.
 */
const REPOSITORY_VARIABLES = [
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_CONFIG',
  'GIT_CONFIG_PARAMETERS',
  'GIT_CONFIG_COUNT',
  'GIT_OBJECT_DIRECTORY',
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_IMPLICIT_WORK_TREE',
  'GIT_GRAFT_FILE',
  'GIT_INDEX_FILE',
  'GIT_NO_REPLACE_OBJECTS',
  'GIT_REPLACE_REF_BASE',
  'GIT_PREFIX',
  'GIT_INTERNAL_SUPER_PREFIX',
  'GIT_SHALLOW_FILE',
  'GIT_COMMON_DIR',
];

function environment(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of REPOSITORY_VARIABLES) delete env[name];
  return {
    ...env,
    // Never wait for a password prompt on a runner; fail instead.
    GIT_TERMINAL_PROMPT: '0',
    GIT_SSH_COMMAND: process.env.GIT_SSH_COMMAND ?? 'ssh -o BatchMode=yes',
    // A stalled transfer (under 1 KB/s for a minute) fails instead of hanging the job.
    GIT_HTTP_LOW_SPEED_LIMIT: process.env.GIT_HTTP_LOW_SPEED_LIMIT ?? '1000',
    GIT_HTTP_LOW_SPEED_TIME: process.env.GIT_HTTP_LOW_SPEED_TIME ?? '60',
    // Stable, parseable messages.
    LC_ALL: 'C',
    ...extra,
  };
}

/** Configuration for one git command, through GIT_CONFIG_* (never on the command line or on disk). */
export function configEnvironment(entries: Array<[string, string]>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { GIT_CONFIG_COUNT: String(entries.length) };
  entries.forEach(([key, value], index) => {
    env[`GIT_CONFIG_KEY_${index}`] = key;
    env[`GIT_CONFIG_VALUE_${index}`] = value;
  });
  return env;
}

function start(
  args: string[],
  options: GitOptions,
): { child: ChildProcessWithoutNullStreams; stderr: () => string } {
  const child = spawn('git', args, { cwd: options.cwd, env: environment(options.env) });
  const chunks: Buffer[] = [];
  child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stdin.on('error', () => {}); // git may exit before reading it all; its exit code says why
  child.stdin.end(options.input ?? '');
  return { child, stderr: () => Buffer.concat(chunks).toString('utf8') };
}

/** Runs git to completion and returns its stdout. */
export function git(args: string[], options: GitOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const { child, stderr } = start(args, options);
    const stdout: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve(Buffer.concat(stdout).toString('utf8'));
      else reject(new GitError(args, code, stderr(), signal));
    });
  });
}

/**
 * Starts git with its stdout as a stream. The stream ends only after git exited 0, and errors when
 * it did not, so a failed git command can never look like a complete, short file to an uploader.
 */
export function gitStream(args: string[], options: GitOptions = {}): Readable {
  const { child, stderr } = start(args, options);
  const output = new PassThrough({ highWaterMark: 1024 * 1024 });
  child.stdout.pipe(output, { end: false });
  child.on('error', (error) => output.destroy(error));
  child.on('close', (code, signal) => {
    if (code === 0) output.end();
    else output.destroy(new GitError(args, code, stderr(), signal));
  });
  // A consumer that gives up (a failed upload) stops git too.
  output.on('close', () => {
    if (child.exitCode === null) child.kill();
  });
  return output;
}
