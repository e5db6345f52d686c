import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { tempDir } from './fixtures.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

export interface ActionRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  /** The `::error::` lines the run printed. */
  errors: string[];
  /** The runner's temp folder the run used (mirrors live below it). */
  runnerTemp: string;
}

interface ActionYaml {
  inputs?: Record<string, { default?: string }>;
  runs: { using: string; main: string };
}

/**
 * Runs a bundled action the way the runner does: `node <action dir>/<runs.main>` with INPUT_* from
 * action.yml's defaults (the `github` expressions evaluated from `context`) and the given inputs,
 * GITHUB_OUTPUT / GITHUB_STEP_SUMMARY / GITHUB_ENV / GITHUB_STATE files, and cwd = GITHUB_WORKSPACE.
 */
export async function runAction(
  actionDir: string,
  inputs: Record<string, string>,
  options: {
    env?: Record<string, string>;
    context?: { repository?: string; token?: string };
    /** GITHUB_WORKSPACE and cwd; default: a new empty folder. */
    workspace?: string;
  } = {},
): Promise<ActionRun> {
  const dir = path.join(ROOT, actionDir);
  const action = parse(fs.readFileSync(path.join(dir, 'action.yml'), 'utf8')) as ActionYaml;
  const work = tempDir('backup-action-run-');
  const files = {
    GITHUB_OUTPUT: path.join(work, 'output'),
    GITHUB_STEP_SUMMARY: path.join(work, 'summary'),
    GITHUB_ENV: path.join(work, 'env'),
    GITHUB_STATE: path.join(work, 'state'),
  };
  Object.values(files).forEach((file) => fs.writeFileSync(file, ''));
  const runnerTemp = path.join(work, 'runner-temp');
  const workspace = options.workspace ?? path.join(work, 'workspace');
  fs.mkdirSync(runnerTemp);
  fs.mkdirSync(workspace, { recursive: true });

  const context = {
    'github.repository': options.context?.repository ?? '',
    'github.token': options.context?.token ?? '',
  };
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    GITHUB_ACTIONS: 'true',
    RUNNER_TEMP: runnerTemp,
    GITHUB_WORKSPACE: workspace,
    GITHUB_REPOSITORY: options.context?.repository ?? '',
    ...files,
    ...options.env,
  };
  for (const [name, input] of Object.entries(action.inputs ?? {})) {
    const value = String(input.default ?? '').replace(
      /\$\{\{\s*([\w.]+)\s*\}\}/g,
      (_, key: string) => context[key as keyof typeof context] ?? '',
    );
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  }
  for (const [name, value] of Object.entries(inputs))
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;

  return {
    ...(await runNode([path.join(dir, action.runs.main)], env, workspace)),
    outputs: parseOutputFile(fs.readFileSync(files.GITHUB_OUTPUT, 'utf8')),
    summary: fs.readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
    runnerTemp,
  };
}

/** Reads `name<<DELIMITER\nvalue\nDELIMITER` blocks, as the runner does. */
function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const match = /^([^<]+)<<(.+)$/.exec(lines[i]);
    if (!match) continue;
    const value: string[] = [];
    for (i++; i < lines.length && lines[i] !== match[2]; i++) value.push(lines[i]);
    outputs[match[1]] = value.join('\n');
  }
  return outputs;
}

export type ProcessRun = Pick<ActionRun, 'exitCode' | 'stdout' | 'stderr' | 'errors'>;

/** Runs the bundled CLI (dist/cli.js) with the given arguments. */
export function runCli(args: string[], env: Record<string, string> = {}, cwd = ROOT): Promise<ProcessRun> {
  const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
  return runNode([path.join(ROOT, 'dist', 'cli.js'), ...args], { ...base, ...env }, cwd);
}

/** Spawned, not exec'd synchronously: the S3 server the child talks to runs in this process. */
async function runNode(args: string[], env: Record<string, string>, cwd: string): Promise<ProcessRun> {
  const child = spawn('node', args, { cwd, env });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const exitCode = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const out = Buffer.concat(stdout).toString('utf8');
  return {
    exitCode,
    stdout: out,
    stderr: Buffer.concat(stderr).toString('utf8'),
    errors: out.split('\n').filter((line) => line.startsWith('::error')),
  };
}
