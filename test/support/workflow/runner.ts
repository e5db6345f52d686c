// The reusable workflow (.github/workflows/backup.yml), run as GitHub would run one call of it, job by
// job with the bundled actions: jobs in order of `needs`, each job's and step's `if:`, a matrix job
// once per `include` entry, each step's `with:` evaluated (expressions.ts), our actions run from dist/
// (run-action.ts) with those inputs, then the job and workflow outputs. Only the keys the file uses
// are simulated: anything else in the file is an error, not silently ignored.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { mapLimit } from '../../../src/util/concurrency.js';
import { type ActionRun, runAction } from '../run-action.js';
import { condition, Ctx, inputText, interpolate, type Scope, type Value } from './expressions.js';

/** The workflow, from the repository's root (the tests' working directory). */
export const WORKFLOW_FILE = '.github/workflows/backup.yml';
/** How the workflow's steps name this repository's actions (`<REPOSITORY>/<folder>@<ref>`). */
export const REPOSITORY = 'backup-action/backup-action';

interface WorkflowInput {
  type: 'string' | 'boolean' | 'number';
  required?: boolean;
  default?: string | boolean | number;
}
export interface Step {
  id?: string;
  if?: unknown;
  uses?: string;
  with?: Record<string, unknown>;
}
export interface Job {
  needs?: string | string[];
  if?: unknown;
  'runs-on'?: unknown;
  permissions?: unknown;
  outputs?: Record<string, string>;
  strategy?: { 'fail-fast'?: unknown; 'max-parallel'?: unknown; matrix?: unknown };
  concurrency?: { group?: unknown; 'cancel-in-progress'?: unknown };
  steps: Step[];
}
export interface Workflow {
  on: {
    workflow_call: {
      inputs: Record<string, WorkflowInput>;
      secrets: Record<string, { required?: boolean }>;
      outputs: Record<string, { value: string }>;
    };
  };
  jobs: Record<string, Job>;
}

/** What the evaluator and the runner below handle; anything else in the file fails the test. */
export const WORKFLOW_KEYS = ['name', 'on', 'jobs'];
export const JOB_KEYS = [
  'needs',
  'if',
  'runs-on',
  'permissions',
  'outputs',
  'strategy',
  'concurrency',
  'steps',
];
export const STEP_KEYS = ['id', 'if', 'uses', 'with'];
export const STRATEGY_KEYS = ['fail-fast', 'max-parallel', 'matrix'];

export type Result = 'success' | 'failure' | 'cancelled' | 'skipped';

export interface StepRecord {
  id?: string;
  uses: string;
  /** The bundled action run for it (a folder of this repository); undefined when skipped. */
  dir?: string;
  inputs?: Record<string, string>;
  run?: ActionRun;
  outcome: 'success' | 'failure' | 'skipped';
}
export interface LegRecord {
  /** The matrix entry, or null for a job without a matrix. */
  matrix: Record<string, Value> | null;
  concurrencyGroup?: string;
  runsOn: Value;
  steps: StepRecord[];
  result: Result;
}
export interface JobRecord {
  result: Result;
  outputs: Record<string, string>;
  legs: LegRecord[];
  maxParallel?: Value;
}
export interface WorkflowRun {
  jobs: Record<string, JobRecord>;
  outputs: Record<string, string>;
}

export interface Caller {
  with: Record<string, string | boolean | number>;
  secrets: Record<string, string>;
}
export interface Runner {
  /** The runner's environment for every step (GITHUB_SERVER_URL, GITHUB_API_URL, ...). */
  env: Record<string, string>;
  /** github.repository: the calling repository. */
  repository: string;
  /** github.token: the calling workflow's GITHUB_TOKEN. */
  token: string;
}

export const loadWorkflow = () => parse(fs.readFileSync(WORKFLOW_FILE, 'utf8')) as Workflow;

/** The folder of our action a `uses:` names, or undefined for someone else's. */
export function actionDir(uses: string): string | undefined {
  const match = new RegExp(`^${REPOSITORY}(?:/(.+))?@[\\w./-]+$`).exec(uses);
  return match ? (match[1] ?? '.') : undefined;
}

function declaredOutputs(dir: string): string[] {
  const action = parse(fs.readFileSync(path.join(dir, 'action.yml'), 'utf8')) as {
    outputs?: Record<string, unknown>;
  };
  return Object.keys(action.outputs ?? {});
}

const declared = (names: string[], values: Record<string, string> = {}) =>
  Object.fromEntries(names.map((name) => [name, values[name]]));

/** The inputs context: the caller's values checked against workflow_call's inputs, defaults filled in. */
function inputsContext(workflow: Workflow, given: Caller['with']): Ctx {
  const inputs = workflow.on.workflow_call.inputs;
  const fields: Record<string, Value> = {};
  for (const name of Object.keys(given)) {
    if (!(name in inputs)) throw new Error(`the caller passes ${name}, which the workflow does not declare`);
  }
  for (const [name, spec] of Object.entries(inputs)) {
    const value = given[name] ?? spec.default;
    if (value === undefined) {
      if (spec.required) throw new Error(`the caller does not pass the required input ${name}`);
      fields[name] = { string: '', boolean: false, number: 0 }[spec.type];
    } else if (typeof value !== spec.type) {
      throw new Error(`input ${name} is a ${spec.type}; the caller passes ${JSON.stringify(value)}`);
    } else {
      fields[name] = value;
    }
  }
  return new Ctx('inputs', fields);
}

function secretsContext(workflow: Workflow, given: Caller['secrets']): Ctx {
  const secrets = workflow.on.workflow_call.secrets;
  for (const name of Object.keys(given)) {
    if (!(name in secrets))
      throw new Error(`the caller passes secret ${name}, which the workflow does not declare`);
  }
  // A secret the caller does not pass is the empty string.
  return new Ctx(
    'secrets',
    Object.fromEntries(Object.keys(secrets).map((name) => [name, given[name] ?? ''])),
  );
}

/**
 * Runs the reusable workflow as GitHub would for one call: jobs in order of `needs`, each job's `if`
 * (with GitHub's implicit success()), a matrix job once per `include` entry (up to max-parallel at a
 * time), each step's `if` and `with`, our actions from dist/ with those inputs, then the job outputs
 * and the workflow outputs.
 */
export async function runWorkflow(caller: Caller, runner: Runner): Promise<WorkflowRun> {
  const workflow = loadWorkflow();
  const unknownTop = Object.keys(workflow).filter((key) => !WORKFLOW_KEYS.includes(key));
  if (unknownTop.length) throw new Error(`the workflow's ${unknownTop.join(', ')} is not simulated`);
  if (Object.keys(workflow.on).join() !== 'workflow_call')
    throw new Error('only on: workflow_call is simulated');
  const inputs = inputsContext(workflow, caller.with);
  const secrets = secretsContext(workflow, caller.secrets);
  const github = new Ctx('github', { token: runner.token, repository: runner.repository });
  const jobs: Record<string, JobRecord> = {};

  const jobContext = (name: string, prefix: string) =>
    new Ctx(`${prefix}.${name}`, {
      result: jobs[name].result,
      outputs: new Ctx(
        `${prefix}.${name}.outputs`,
        declared(Object.keys(workflow.jobs[name].outputs ?? {}), jobs[name].outputs),
      ),
    });

  for (const [jobName, job] of Object.entries(workflow.jobs)) {
    const unknownKeys = Object.keys(job).filter((key) => !JOB_KEYS.includes(key));
    if (unknownKeys.length) throw new Error(`job ${jobName}: ${unknownKeys.join(', ')} not simulated`);
    const needs = job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs];
    for (const need of needs) {
      if (!jobs[need]) throw new Error(`job ${jobName} needs ${need}, which has not run before it`);
    }
    const needsContext = new Ctx(
      'needs',
      Object.fromEntries(needs.map((need) => [need, jobContext(need, 'needs')])),
    );
    const jobScope: Scope = { inputs, github, needs: needsContext };

    const allNeedsSucceeded = needs.every((need) => jobs[need].result === 'success');
    if (!condition(job.if, jobScope, allNeedsSucceeded)) {
      jobs[jobName] = { result: 'skipped', outputs: {}, legs: [] };
      continue;
    }

    let entries: Array<Record<string, Value> | null> = [null];
    let maxParallel: Value = null;
    if (job.strategy) {
      const unknown = Object.keys(job.strategy).filter((key) => !STRATEGY_KEYS.includes(key));
      if (unknown.length) throw new Error(`job ${jobName}: strategy.${unknown.join(', ')} not simulated`);
      // With fail-fast, GitHub would cancel the other entries when one fails: not simulated.
      if (interpolate(job.strategy['fail-fast'], jobScope) !== false) {
        throw new Error(`job ${jobName}: only fail-fast: false is simulated`);
      }
      maxParallel = interpolate(job.strategy['max-parallel'], jobScope);
      const matrix = interpolate(job.strategy.matrix, jobScope) as Record<string, unknown>;
      if (!matrix || typeof matrix !== 'object' || Object.keys(matrix).join() !== 'include') {
        throw new Error(`job ${jobName}: only a matrix of include entries is simulated`);
      }
      entries = matrix.include as Array<Record<string, Value>>;
      if (!Array.isArray(entries) || entries.length === 0) {
        throw new Error(`job ${jobName}: the matrix has no entries (GitHub fails the job)`);
      }
    }
    if (job.outputs && entries[0] !== null) throw new Error(`job ${jobName}: outputs of a matrix job`);

    const legs = await mapLimit(
      entries,
      // At least one at a time, whatever max-parallel says.
      Math.max(1, typeof maxParallel === 'number' ? maxParallel : entries.length),
      (entry) => runLeg(jobName, job, entry, { ...jobScope, secrets }, runner),
    );
    const outputs: Record<string, string> = {};
    if (job.outputs) {
      const scope: Scope = { ...jobScope, steps: legs[0].stepsContext };
      for (const [name, value] of Object.entries(job.outputs)) outputs[name] = inputText(value, scope);
    }
    jobs[jobName] = {
      result: legs.some((leg) => leg.record.result === 'failure') ? 'failure' : 'success',
      outputs,
      legs: legs.map((leg) => leg.record),
      maxParallel,
    };
  }

  const jobsContext = new Ctx(
    'jobs',
    Object.fromEntries(Object.keys(jobs).map((name) => [name, jobContext(name, 'jobs')])),
  );
  const outputs = Object.fromEntries(
    Object.entries(workflow.on.workflow_call.outputs).map(([name, output]) => [
      name,
      inputText(output.value, { inputs, github, jobs: jobsContext }),
    ]),
  );
  return { jobs, outputs };
}

export async function runLeg(
  jobName: string,
  job: Job,
  entry: Record<string, Value> | null,
  jobScope: Scope,
  runner: Runner,
): Promise<{ record: LegRecord; stepsContext: Ctx }> {
  const stepsFields: Record<string, Value> = {};
  const stepsContext = new Ctx('steps', stepsFields);
  const matrixScope: Scope = entry ? { matrix: new Ctx('matrix', entry) } : {};
  const base: Scope = { ...jobScope, ...matrixScope };
  const record: LegRecord = {
    matrix: entry,
    runsOn: interpolate(job['runs-on'], base),
    concurrencyGroup: job.concurrency ? inputText(job.concurrency.group, base) : undefined,
    steps: [],
    result: 'success',
  };
  if (job.concurrency && interpolate(job.concurrency['cancel-in-progress'], base) !== false) {
    throw new Error(`job ${jobName}: only cancel-in-progress: false is simulated`);
  }
  for (const step of job.steps) {
    const unknown = Object.keys(step).filter((key) => !STEP_KEYS.includes(key));
    if (unknown.length || !step.uses)
      throw new Error(`job ${jobName}: a step with ${unknown.join(', ') || 'no uses'}`);
    const scope: Scope = { ...base, steps: stepsContext };
    const succeeded = record.steps.every((done) => done.outcome !== 'failure');
    const stepRecord: StepRecord = { id: step.id, uses: step.uses, outcome: 'skipped' };
    if (condition(step.if, scope, succeeded)) {
      const dir = actionDir(step.uses);
      if (!dir) throw new Error(`job ${jobName}: ${step.uses} would run, and only our actions can run here`);
      const inputs = Object.fromEntries(
        Object.entries(step.with ?? {}).map(([name, value]) => [name, inputText(value, scope)]),
      );
      const run = await runAction(dir, inputs, {
        env: { ...runner.env, GITHUB_JOB: jobName },
        context: { repository: runner.repository, token: runner.token },
      });
      Object.assign(stepRecord, {
        dir,
        inputs,
        run,
        outcome: run.exitCode === 0 ? 'success' : 'failure',
      });
      if (step.id) {
        stepsFields[step.id] = new Ctx(`steps.${step.id}`, {
          outputs: new Ctx(`steps.${step.id}.outputs`, declared(declaredOutputs(dir), run.outputs)),
          outcome: stepRecord.outcome,
          conclusion: stepRecord.outcome,
        });
      }
    } else if (step.id) {
      const dir = actionDir(step.uses);
      stepsFields[step.id] = new Ctx(`steps.${step.id}`, {
        outputs: new Ctx(`steps.${step.id}.outputs`, declared(dir ? declaredOutputs(dir) : [])),
        outcome: 'skipped',
        conclusion: 'skipped',
      });
    }
    record.steps.push(stepRecord);
  }
  record.result = record.steps.some((step) => step.outcome === 'failure') ? 'failure' : 'success';
  return { record, stepsContext };
}
