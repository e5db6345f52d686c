import { spawn } from 'node:child_process';
import { PassThrough, type Readable } from 'node:stream';
import { redact } from '../secrets.js';

/**
 * git as a subprocess. We spawn it ourselves (rather than through @actions/exec) because the bundle
 * must be read as a stream and because nothing, not even the command line, may be echoed to the log.
 */
export interface GitOptions {
  cwd?: string;
  /** Extra environment, e.g. the auth header from `authEnvironment`. */
  env?: NodeJS.ProcessEnv;
}

export class GitError extends Error {
  constructor(
    readonly args: string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(
      redact(`git ${args[0]} failed (exit ${exitCode}): ${stderr.trim().split('\n').slice(-3).join(' / ')}`),
    );
    this.name = 'GitError';
  }
}

function environment(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    ...process.env,
    // Never wait for a password prompt on a runner; fail instead.
    GIT_TERMINAL_PROMPT: '0',
    GIT_SSH_COMMAND: process.env.GIT_SSH_COMMAND ?? 'ssh -o BatchMode=yes',
    // Stable, parseable messages.
    LC_ALL: 'C',
    ...extra,
  };
}

/** Runs git to completion and returns its stdout. */
export function git(args: string[], options: GitOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: options.cwd, env: environment(options.env) });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(stdout).toString('utf8'));
      else reject(new GitError(args, code, Buffer.concat(stderr).toString('utf8')));
    });
  });
}

/**
 * Starts git with its stdout as a stream. The stream ends only after git exited 0, and errors when
 * it did not, so a failed git command can never look like a complete, short file to an uploader.
 */
export function gitStream(args: string[], options: GitOptions = {}): Readable {
  const child = spawn('git', args, { cwd: options.cwd, env: environment(options.env) });
  const stderr: Buffer[] = [];
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const output = new PassThrough({ highWaterMark: 1024 * 1024 });
  child.stdout.pipe(output, { end: false });
  child.on('error', (error) => output.destroy(error));
  child.on('close', (code) => {
    if (code === 0) output.end();
    else output.destroy(new GitError(args, code, Buffer.concat(stderr).toString('utf8')));
  });
  // A consumer that gives up (a failed upload) stops git too.
  output.on('close', () => {
    if (child.exitCode === null) child.kill();
  });
  return output;
}
