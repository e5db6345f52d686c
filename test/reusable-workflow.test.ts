import * as fs from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { parse } from 'yaml';
import { git, tempDir } from './support/fixtures.js';
import { startGitHttpServer, type GitHttpServer } from './support/git-http-server.js';
import { type GitHubApi, startGitHubApi } from './support/github-api.js';
import { startReposApi, type ReposApi } from './support/repos-api.js';
import { type ActionRun, runAction, runCli } from './support/run-action.js';
import { startS3Server, type S3Server } from './support/s3-server.js';

// The reusable workflow (.github/workflows/backup.yml) cannot run here, but its data flow can: this
// file reads the workflow, evaluates the expressions it uses with a small evaluator of GitHub's
// expression language (only the forms the file uses; any other form fails the test), and runs the
// bundled actions job by job — plan → one backup job per matrix entry → report → alert — with the
// inputs the workflow gives them, against a fake GitHub (repository listing and issues), a git
// smart-HTTP server serving the organization's repositories, and an S3-protocol server.

const WORKFLOW_FILE = '.github/workflows/backup.yml';
const REPOSITORY = 'backup-action/backup-action';

// ================================================================================================
// GitHub Actions expressions: the forms backup.yml uses, and nothing more.
// ================================================================================================

/** Functions the evaluator knows (GitHub's names are case-insensitive). */
const FUNCTIONS = ['always', 'contains', 'fromJSON'];
/** Contexts the evaluator knows; which are available where is decided by the scope given. */
const CONTEXTS = ['inputs', 'secrets', 'github', 'needs', 'matrix', 'steps', 'jobs'];
const STATUS_FUNCTIONS = ['always', 'success', 'failure', 'cancelled'];
const ARITY: Record<string, number> = { always: 0, contains: 2, fromJSON: 1 };

class ExpressionError extends Error {}

/** A context object: reading a property it does not declare is an error, not null (catches typos). */
class Ctx {
  constructor(
    readonly name: string,
    /** Declared properties; undefined = declared but not set (reads as null, as on GitHub). */
    readonly fields: Record<string, Value | undefined>,
  ) {}
}

/** The result of a `*` filter (`needs.*.result`). */
class Filtered {
  constructor(readonly items: Value[]) {}
}

type Value = null | boolean | number | string | Value[] | { [key: string]: Value } | Ctx | Filtered;
type Scope = Record<string, Ctx>;

const KEYWORDS: Record<string, Value> = { true: true, false: false, null: null };

type Node =
  | { kind: 'literal'; value: Value }
  | { kind: 'context'; name: string }
  | { kind: 'member'; object: Node; name: string }
  | { kind: 'call'; name: string; args: Node[] }
  | { kind: 'not'; operand: Node }
  | { kind: 'binary'; op: '||' | '&&' | '==' | '!='; left: Node; right: Node };

interface Token {
  type: 'string' | 'number' | 'ident' | 'punct';
  text: string;
}

const TOKEN =
  /\s*(?:('(?:[^']|'')*')|(\d+(?:\.\d+)?)(?![\w.])|([A-Za-z_][A-Za-z0-9_-]*)|(\|\||&&|==|!=|!|\(|\)|,|\.|\*))/y;

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < source.length) {
    if (/^\s*$/.test(source.slice(TOKEN.lastIndex))) break;
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(source);
    if (!match) {
      throw new ExpressionError(
        `"${source}": "${source.slice(at).trim()}" is a form this evaluator does not know (only ' strings, integers, names, . * ( ) , ! == != && ||)`,
      );
    }
    if (match[1] !== undefined) tokens.push({ type: 'string', text: match[1] });
    else if (match[2] !== undefined) tokens.push({ type: 'number', text: match[2] });
    else if (match[3] !== undefined) tokens.push({ type: 'ident', text: match[3] });
    else tokens.push({ type: 'punct', text: match[4] });
  }
  return tokens;
}

/** Parses one expression (the text inside `${{ }}`, or an `if:`); throws on any form not listed above. */
function parseExpression(source: string): Node {
  const tokens = tokenize(source);
  let pos = 0;
  const fail = (problem: string): never => {
    throw new ExpressionError(`"${source}": ${problem}`);
  };
  const peek = () => tokens[pos];
  const accept = (text: string) => {
    if (peek()?.type === 'punct' && peek().text === text) {
      pos++;
      return true;
    }
    return false;
  };
  const expect = (text: string) => accept(text) || fail(`expected "${text}" at token ${pos + 1}`);

  const or = (): Node => {
    let left = and();
    while (accept('||')) left = { kind: 'binary', op: '||', left, right: and() };
    return left;
  };
  const and = (): Node => {
    let left = equality();
    while (accept('&&')) left = { kind: 'binary', op: '&&', left, right: equality() };
    return left;
  };
  const equality = (): Node => {
    const left = unary();
    for (const op of ['==', '!='] as const) {
      if (accept(op)) return { kind: 'binary', op, left, right: unary() };
    }
    return left;
  };
  const unary = (): Node => (accept('!') ? { kind: 'not', operand: unary() } : postfix());
  const postfix = (): Node => {
    let node = primary();
    while (accept('.')) {
      const token = tokens[pos++];
      if (token?.type === 'ident' || (token?.type === 'punct' && token.text === '*')) {
        node = { kind: 'member', object: node, name: token.text };
      } else {
        fail('a property name or * must follow "."');
      }
    }
    return node;
  };
  const primary = (): Node => {
    const token = tokens[pos++];
    if (!token) return fail('unexpected end');
    if (token.type === 'string') {
      return { kind: 'literal', value: token.text.slice(1, -1).replace(/''/g, "'") };
    }
    if (token.type === 'number') return { kind: 'literal', value: Number(token.text) };
    if (token.type === 'punct' && token.text === '(') {
      const inner = or();
      expect(')');
      return inner;
    }
    if (token.type !== 'ident') return fail(`"${token.text}" is a form this evaluator does not know`);
    if (Object.hasOwn(KEYWORDS, token.text)) return { kind: 'literal', value: KEYWORDS[token.text] };
    if (accept('(')) {
      const name = FUNCTIONS.find((known) => known.toLowerCase() === token.text.toLowerCase());
      if (!name) {
        fail(
          `the function ${token.text}() is not known to this evaluator (it knows ${FUNCTIONS.join(', ')})`,
        );
      }
      const args: Node[] = [];
      if (!accept(')')) {
        do args.push(or());
        while (accept(','));
        expect(')');
      }
      return { kind: 'call', name: name!, args };
    }
    if (!CONTEXTS.includes(token.text)) {
      fail(`the context "${token.text}" is not known to this evaluator (it knows ${CONTEXTS.join(', ')})`);
    }
    return { kind: 'context', name: token.text };
  };

  const node = or();
  if (pos < tokens.length) fail(`unexpected "${tokens[pos].text}"`);
  return node;
}

function truthy(value: Value): boolean {
  if (value === null) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0 && !Number.isNaN(value);
  if (typeof value === 'string') return value !== '';
  return true;
}

function toNumber(value: Value): number {
  if (value === null) return 0;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return value.trim() === '' ? 0 : Number(value.trim());
  return NaN;
}

const kindOf = (value: Value) =>
  value === null ? 'null' : typeof value === 'object' ? 'object' : (typeof value as string);

/** GitHub's ==: different types compare as numbers; strings ignore case; objects by identity. */
function equals(a: Value, b: Value): boolean {
  if (kindOf(a) !== kindOf(b)) return toNumber(a) === toNumber(b);
  if (typeof a === 'string') return a.toUpperCase() === (b as string).toUpperCase();
  return a === b;
}

/** A value written into a string (`with:` inputs, text around `${{ }}`). */
function toText(value: Value): string {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean' || typeof value === 'number') return String(value);
  throw new ExpressionError('an object or array would be written into a string: not a form this file uses');
}

function member(object: Value, name: string): Value {
  if (object instanceof Filtered) {
    return new Filtered(
      object.items.flatMap((item) => {
        const value = member(item, name);
        return value instanceof Filtered ? value.items : value === null ? [] : [value];
      }),
    );
  }
  if (object instanceof Ctx) {
    if (name === '*') return new Filtered(Object.values(object.fields).map((value) => value ?? null));
    const key = Object.keys(object.fields).find((field) => field.toLowerCase() === name.toLowerCase());
    if (key === undefined) {
      const known = Object.keys(object.fields);
      throw new ExpressionError(
        `${object.name}.${name} does not exist (${object.name} has ${known.length ? known.join(', ') : 'nothing'})`,
      );
    }
    return object.fields[key] ?? null;
  }
  if (object === null || typeof object !== 'object') return null;
  if (name === '*') return new Filtered(Array.isArray(object) ? object : Object.values(object));
  if (Array.isArray(object)) return null;
  const key = Object.keys(object).find((field) => field.toLowerCase() === name.toLowerCase());
  return key === undefined ? null : object[key];
}

function evaluate(node: Node, scope: Scope): Value {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'context': {
      const context = scope[node.name];
      if (!context) throw new ExpressionError(`the ${node.name} context is not available here`);
      return context;
    }
    case 'member':
      return member(evaluate(node.object, scope), node.name);
    case 'not':
      return !truthy(evaluate(node.operand, scope));
    case 'binary': {
      const left = evaluate(node.left, scope);
      if (node.op === '||') return truthy(left) ? left : evaluate(node.right, scope);
      if (node.op === '&&') return truthy(left) ? evaluate(node.right, scope) : left;
      const same = equals(left, evaluate(node.right, scope));
      return node.op === '==' ? same : !same;
    }
    case 'call': {
      const args = node.args.map((arg) => evaluate(arg, scope));
      if (args.length !== ARITY[node.name]) {
        throw new ExpressionError(`${node.name}() takes ${ARITY[node.name]} arguments`);
      }
      if (node.name === 'always') return true;
      if (node.name === 'fromJSON') return JSON.parse(toText(args[0])) as Value;
      const [search, item] = args;
      if (search instanceof Filtered || Array.isArray(search)) {
        return (search instanceof Filtered ? search.items : search).some((element) => equals(element, item));
      }
      return toText(search).toUpperCase().includes(toText(item).toUpperCase());
    }
  }
}

/** The `${{ }}` in a string: where each is and the expression inside (quotes may hold `}}`). */
function expressionsIn(text: string): Array<{ start: number; end: number; source: string }> {
  const found: Array<{ start: number; end: number; source: string }> = [];
  let from = 0;
  for (let start = text.indexOf('${{', from); start >= 0; start = text.indexOf('${{', from)) {
    let i = start + 3;
    let quoted = false;
    for (; i < text.length; i++) {
      if (text[i] === "'") quoted = !quoted;
      else if (!quoted && text.startsWith('}}', i)) break;
    }
    if (i >= text.length) throw new ExpressionError(`"${text}": a \${{ without its }}`);
    found.push({ start, end: i + 2, source: text.slice(start + 3, i).trim() });
    from = i + 2;
  }
  return found;
}

/** Every expression evaluated during the runs (to show that none went unchecked). */
const evaluatedSources = new Set<string>();

function evaluateSource(source: string, scope: Scope): Value {
  evaluatedSources.add(source);
  return evaluate(parseExpression(source), scope);
}

/** A YAML value with `${{ }}`: one expression alone keeps its type (matrix, max-parallel); else text. */
function interpolate(text: unknown, scope: Scope): Value {
  if (typeof text !== 'string') return text as Value;
  const expressions = expressionsIn(text);
  if (expressions.length === 1 && expressions[0].start === 0 && expressions[0].end === text.length) {
    return evaluateSource(expressions[0].source, scope);
  }
  let result = '';
  let at = 0;
  for (const { start, end, source } of expressions) {
    result += text.slice(at, start) + toText(evaluateSource(source, scope));
    at = end;
  }
  return result + text.slice(at);
}

/** Step inputs are strings, whatever the expression's type. */
const inputText = (text: unknown, scope: Scope) => toText(interpolate(text, scope));

/** The expression of an `if:` (bare, or one `${{ }}` around all of it). */
function conditionSource(value: unknown): string {
  if (typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') throw new ExpressionError(`if: ${String(value)} is not an expression`);
  const expressions = expressionsIn(value);
  if (expressions.length === 0) return value.trim();
  const whole = expressions.length === 1 && value.slice(0, expressions[0].start).trim() === '';
  if (!whole || value.slice(expressions[0].end).trim() !== '') {
    // GitHub would take this as a non-empty string: always true.
    throw new ExpressionError(`if: ${value} has text around \${{ }}: it would always be true`);
  }
  return expressions[0].source;
}

function usesStatusFunction(node: Node): boolean {
  switch (node.kind) {
    case 'call':
      return STATUS_FUNCTIONS.includes(node.name) || node.args.some(usesStatusFunction);
    case 'member':
      return usesStatusFunction(node.object);
    case 'not':
      return usesStatusFunction(node.operand);
    case 'binary':
      return usesStatusFunction(node.left) || usesStatusFunction(node.right);
    default:
      return false;
  }
}

/** An `if:`; without a status function GitHub prepends `success() &&` (everything before succeeded). */
function condition(value: unknown, scope: Scope, succeeded: boolean): boolean {
  if (value === undefined) return succeeded;
  const source = conditionSource(value);
  evaluatedSources.add(source);
  const node = parseExpression(source);
  if (!usesStatusFunction(node) && !succeeded) return false;
  return truthy(evaluate(node, scope));
}

/** Every expression of a YAML tree: each `${{ }}`, and every bare `if:`. */
function allExpressions(value: unknown, where: string, out: Array<{ where: string; source: string }> = []) {
  if (typeof value === 'string') {
    for (const { source } of expressionsIn(value)) out.push({ where, source });
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => allExpressions(item, `${where}[${index}]`, out));
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key === 'if') out.push({ where: `${where}.if`, source: conditionSource(item) });
      else allExpressions(item, `${where}.${key}`, out);
    }
  }
  return out;
}

// ================================================================================================
// The workflow, run job by job with the bundled actions.
// ================================================================================================

interface WorkflowInput {
  type: 'string' | 'boolean' | 'number';
  required?: boolean;
  default?: string | boolean | number;
}
interface Step {
  id?: string;
  if?: unknown;
  uses?: string;
  with?: Record<string, unknown>;
}
interface Job {
  needs?: string | string[];
  if?: unknown;
  'runs-on'?: unknown;
  permissions?: unknown;
  outputs?: Record<string, string>;
  strategy?: { 'fail-fast'?: unknown; 'max-parallel'?: unknown; matrix?: unknown };
  concurrency?: { group?: unknown; 'cancel-in-progress'?: unknown };
  steps: Step[];
}
interface Workflow {
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
const WORKFLOW_KEYS = ['name', 'on', 'jobs'];
const JOB_KEYS = ['needs', 'if', 'runs-on', 'permissions', 'outputs', 'strategy', 'concurrency', 'steps'];
const STEP_KEYS = ['id', 'if', 'uses', 'with'];
const STRATEGY_KEYS = ['fail-fast', 'max-parallel', 'matrix'];

type Result = 'success' | 'failure' | 'cancelled' | 'skipped';

interface StepRecord {
  id?: string;
  uses: string;
  /** The bundled action run for it (a folder of this repository); undefined when skipped. */
  dir?: string;
  inputs?: Record<string, string>;
  run?: ActionRun;
  outcome: 'success' | 'failure' | 'skipped';
}
interface LegRecord {
  /** The matrix entry, or null for a job without a matrix. */
  matrix: Record<string, Value> | null;
  concurrencyGroup?: string;
  runsOn: Value;
  steps: StepRecord[];
  result: Result;
}
interface JobRecord {
  result: Result;
  outputs: Record<string, string>;
  legs: LegRecord[];
  maxParallel?: Value;
}
interface WorkflowRun {
  jobs: Record<string, JobRecord>;
  outputs: Record<string, string>;
}

interface Caller {
  with: Record<string, string | boolean | number>;
  secrets: Record<string, string>;
}
interface Runner {
  /** The runner's environment for every step (GITHUB_SERVER_URL, GITHUB_API_URL, ...). */
  env: Record<string, string>;
  /** github.repository: the calling repository. */
  repository: string;
  /** github.token: the calling workflow's GITHUB_TOKEN. */
  token: string;
}

const loadWorkflow = () => parse(fs.readFileSync(WORKFLOW_FILE, 'utf8')) as Workflow;

/** The folder of our action a `uses:` names, or undefined for someone else's. */
function actionDir(uses: string): string | undefined {
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

async function pool<T, R>(items: T[], limit: number, body: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await body(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/**
 * Runs the reusable workflow as GitHub would for one call: jobs in order of `needs`, each job's `if`
 * (with GitHub's implicit success()), a matrix job once per `include` entry (up to max-parallel at a
 * time), each step's `if` and `with`, our actions from dist/ with those inputs, then the job outputs
 * and the workflow outputs.
 */
async function runWorkflow(caller: Caller, runner: Runner): Promise<WorkflowRun> {
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

    const legs = await pool(
      entries,
      typeof maxParallel === 'number' ? maxParallel : entries.length,
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

async function runLeg(
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

// ================================================================================================
// The services: repositories on a git server, a fake GitHub API, an S3 server.
// ================================================================================================

const READ_TOKEN = 'ghp_orgReadToken0123456789abcdefghijKLMNOP';
const JOB_TOKEN = 'ghs_callerJobToken0123456789abcdefghijKLMN';
const SECRET_KEY = 'Reusable-Workflow-Secret-Key-do-not-leak';
const ORG = 'octo-org';
/** Listed in a scrambled order and mixed case: the plan sorts them itself. */
const REPOSITORIES = ['worker', 'Web', 'api', 'tools', 'docs', 'infra', 'app'];
const ARCHIVED = 'legacy';
const PLANNED = ['api', 'app', 'docs', 'infra', 'tools', 'Web', 'worker'].map((name) => `${ORG}/${name}`);

let work: string;
let served: string;
let gitServer: GitHttpServer;
let reposApi: ReposApi;
let issuesApi: GitHubApi;
let router: Server;
let routerUrl: string;
let s3: S3Server;
let runId = 1000;

/** One GITHUB_API_URL, as on GitHub: issues go to the issues API, repository listings to the other. */
function startRouter(): Promise<void> {
  router = createServer((req, res) => {
    const target = /^\/(repos|repositories)\//.test(req.url ?? '') ? issuesApi.url : reposApi.url;
    const upstream = httpRequest(
      `${target}${req.url}`,
      { method: req.method, headers: { ...req.headers, host: new URL(target).host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  return new Promise((resolve) =>
    router.listen(0, '127.0.0.1', () => {
      routerUrl = `http://127.0.0.1:${(router.address() as AddressInfo).port}`;
      resolve();
    }),
  );
}

beforeAll(async () => {
  work = tempDir('backup-action-reusable-');
  served = path.join(work, 'served');
  for (const name of [...REPOSITORIES, ARCHIVED]) {
    const source = path.join(work, 'sources', name);
    fs.mkdirSync(source, { recursive: true });
    git(source, 'init', '--quiet', '--initial-branch=main');
    fs.writeFileSync(path.join(source, 'README.md'), `# ${name}\n`);
    git(source, 'add', '.');
    git(source, 'commit', '--quiet', '-m', `${name}: first`);
    git(source, 'tag', 'v1');
    git(work, 'clone', '--quiet', '--mirror', source, path.join(served, ORG, `${name}.git`));
  }
  gitServer = await startGitHttpServer({ root: served, token: READ_TOKEN });
  reposApi = await startReposApi({ [READ_TOKEN]: { login: 'backup-bot', member: [ORG] } });
  reposApi.addOwner('Organization', ORG, [
    ...REPOSITORIES.map((name, i) => ({
      name,
      visibility: i % 2 ? ('private' as const) : ('public' as const),
    })),
    { name: ARCHIVED, archived: true },
  ]);
  issuesApi = await startGitHubApi({ tokens: { [JOB_TOKEN]: 'write' } });
  await startRouter();
  s3 = await startS3Server({ secretAccessKey: SECRET_KEY, buckets: ['backups'] });
});

afterAll(async () => {
  await new Promise<void>((resolve) => (router ? router.close(() => resolve()) : resolve()));
  router?.closeAllConnections();
  await Promise.all([gitServer?.stop(), reposApi?.stop(), issuesApi?.stop(), s3?.stop()]);
  fs.rmSync(work, { recursive: true, force: true });
});

function call(inputs: Caller['with'], workflowName = 'Nightly organization backup'): Promise<WorkflowRun> {
  return runWorkflow(
    {
      with: { endpoint: s3.endpoint, ...inputs },
      secrets: { token: READ_TOKEN, 'access-key-id': s3.accessKeyId, 'secret-access-key': SECRET_KEY },
    },
    {
      repository: `${ORG}/backups`,
      token: JOB_TOKEN,
      env: {
        GITHUB_SERVER_URL: gitServer.url,
        GITHUB_API_URL: routerUrl,
        GITHUB_WORKFLOW: workflowName,
        GITHUB_RUN_ID: String(runId++),
        GITHUB_RUN_ATTEMPT: '1',
      },
    },
  );
}

/** How the git server's host appears in stored names (`127.0.0.1_<port>`). */
const storedName = (repository: string) => `${new URL(gitServer.url).host.replace(':', '_')}/${repository}`;

const storageArgs = (destination: string) => ['--to', destination, '--endpoint', s3.endpoint];
const storageEnv = () => ({ AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: SECRET_KEY });

/** The one step of our action in a job leg (the others are someone else's, skipped here). */
function ourStep(leg: LegRecord): StepRecord & { run: ActionRun; inputs: Record<string, string> } {
  const ran = leg.steps.filter((step) => step.run);
  expect(ran).toHaveLength(1);
  return ran[0] as StepRecord & { run: ActionRun; inputs: Record<string, string> };
}

function everyRun(run: WorkflowRun): ActionRun[] {
  return Object.values(run.jobs).flatMap((job) =>
    job.legs.flatMap((leg) => leg.steps.flatMap((step) => (step.run ? [step.run] : []))),
  );
}

/** No secret in anything a step printed or output, except in the ::add-mask:: commands that hide them. */
function expectNoSecrets(run: WorkflowRun) {
  for (const action of everyRun(run)) {
    const text = [
      ...action.stdout.split('\n').filter((line) => !line.startsWith('::add-mask::')),
      action.stderr,
      JSON.stringify(action.outputs),
      action.summary,
    ].join('\n');
    for (const secret of [READ_TOKEN, JOB_TOKEN, SECRET_KEY]) expect(text).not.toContain(secret);
  }
}

// ================================================================================================
// Tests
// ================================================================================================

describe('the evaluator', () => {
  const scope = (): Scope => ({
    inputs: new Ctx('inputs', { organization: '', alert: true, 'shard-size': 20, 'aws-role-to-assume': '' }),
    github: new Ctx('github', { repository: 'octo/app', token: 't' }),
    needs: new Ctx('needs', {
      plan: new Ctx('needs.plan', {
        result: 'success',
        outputs: new Ctx('needs.plan.outputs', { count: '7' }),
      }),
      backup: new Ctx('needs.backup', { result: 'failure', outputs: new Ctx('needs.backup.outputs', {}) }),
    }),
  });
  const value = (source: string) => evaluate(parseExpression(source), scope());

  test('GitHub’s semantics for the forms the workflow uses', () => {
    expect(value('inputs.organization || github.repository')).toBe('octo/app');
    expect(value("needs.plan.outputs.count || 'the planned'")).toBe('7');
    expect(value("inputs.aws-role-to-assume != ''")).toBe(false);
    expect(value("needs.plan.result == 'SUCCESS'")).toBe(true); // strings compare ignoring case
    expect(value('always() && inputs.alert')).toBe(true);
    expect(value('inputs.shard-size')).toBe(20);
    expect(value("contains(needs.*.result, 'failure') && 'failure' || 'success'")).toBe('failure');
    expect(value("contains(needs.*.result, 'cancelled')")).toBe(false);
    expect(value('fromJSON(\'{"include":[{"shard":1}]}\')')).toEqual({ include: [{ shard: 1 }] });
    expect(value("'it''s'")).toBe("it's");
    expect(value("!(needs.plan.result == 'failure')")).toBe(true);
    expect(value("null == ''")).toBe(true); // different types compare as numbers
    expect(interpolate('a ${{ inputs.shard-size }} b ${{ inputs.alert }}', scope())).toBe('a 20 b true');
    expect(interpolate("${{ '}}' }}", scope())).toBe('}}');
  });

  test.each([
    ["format('{0}', inputs.organization)", /function format\(\) is not known/],
    ['success()', /function success\(\) is not known/],
    ['vars.BACKUP_ROLE', /context "vars" is not known/],
    ['env.HOME', /context "env" is not known/],
    ["steps.plan.outputs['matrix']", /does not know/],
    ['inputs.shard-size > 3', /does not know/],
    ["needs.plan.result == 'success' == true", /unexpected "=="/],
    ['0x10', /does not know/],
  ])('a form it does not know fails, not passes: %s', (source, message) => {
    expect(() => parseExpression(source)).toThrow(message);
  });

  test('a property a context does not declare is an error, not an empty string', () => {
    expect(() => value('inputs.organisation')).toThrow(/inputs.organisation does not exist/);
    expect(() => value('needs.plan.outputs.repos')).toThrow(/needs.plan.outputs.repos does not exist/);
    expect(() => value('needs.report.result')).toThrow(/needs.report does not exist/);
    expect(() => evaluate(parseExpression('matrix.shard'), scope())).toThrow(
      /matrix context is not available/,
    );
  });

  test('an `if:` with text around ${{ }} (always true on GitHub) is refused', () => {
    expect(() => conditionSource("${{ inputs.alert }} && needs.plan.result == 'success'")).toThrow(
      /always be true/,
    );
    expect(conditionSource("${{ needs.plan.result == 'success' }}")).toBe("needs.plan.result == 'success'");
  });
});

describe('the workflow file', () => {
  const workflow = loadWorkflow();

  test('every expression in it is a form the evaluator knows', () => {
    const expressions = allExpressions(workflow, 'backup.yml');
    expect(expressions.length).toBeGreaterThan(40);
    const unknown = expressions.flatMap(({ where, source }) => {
      try {
        parseExpression(source);
        return [];
      } catch (error) {
        return [`${where}: ${(error as Error).message}`];
      }
    });
    expect(unknown).toEqual([]);
  });

  test('jobs, steps and strategy use only keys the runner simulates; our steps name our actions', () => {
    expect(Object.keys(workflow).filter((key) => !WORKFLOW_KEYS.includes(key))).toEqual([]);
    expect(Object.keys(workflow.on)).toEqual(['workflow_call']);
    for (const [name, job] of Object.entries(workflow.jobs)) {
      expect([name, Object.keys(job).filter((key) => !JOB_KEYS.includes(key))]).toEqual([name, []]);
      for (const step of job.steps) {
        expect(Object.keys(step).filter((key) => !STEP_KEYS.includes(key))).toEqual([]);
        const dir = actionDir(step.uses!);
        if (dir) expect(fs.existsSync(path.join(dir, 'action.yml'))).toBe(true);
        else expect(step.if).toBeDefined(); // someone else's step must be optional to simulate the job
      }
    }
  });

  test("the alert's status: failure before cancelled before success (a cancelled run without failures opens nothing), whatever the combination", () => {
    const status = workflow.jobs.alert.steps.find((step) => actionDir(step.uses!))!.with!.status;
    const evaluateWith = (plan: Result, backup: Result, report: Result) =>
      interpolate(status, {
        needs: new Ctx('needs', {
          plan: new Ctx('needs.plan', { result: plan, outputs: new Ctx('o', {}) }),
          backup: new Ctx('needs.backup', { result: backup, outputs: new Ctx('o', {}) }),
          report: new Ctx('needs.report', { result: report, outputs: new Ctx('o', {}) }),
        }),
      });
    expect(evaluateWith('success', 'success', 'success')).toBe('success');
    expect(evaluateWith('success', 'failure', 'failure')).toBe('failure');
    expect(evaluateWith('success', 'failure', 'success')).toBe('failure');
    expect(evaluateWith('success', 'success', 'failure')).toBe('failure');
    expect(evaluateWith('failure', 'skipped', 'skipped')).toBe('failure');
    expect(evaluateWith('success', 'cancelled', 'success')).toBe('cancelled');
    expect(evaluateWith('success', 'cancelled', 'failure')).toBe('failure');
    expect(evaluateWith('cancelled', 'skipped', 'skipped')).toBe('cancelled');
  });
});

describe('an organization, end to end', () => {
  test('7 repositories in 3 shards: each backed up, proven and fresh; the archived one left out; no issue', async () => {
    const run = await call({ organization: ORG, destination: 's3://backups/nightly', 'shard-size': 3 });
    const { plan, backup, report, alert } = run.jobs;

    // plan: the organization listed with the caller's token (not the job's), sharded.
    expect(plan.result).toBe('success');
    const planStep = ourStep(plan.legs[0]);
    expect(planStep.dir).toBe('actions/plan');
    expect(planStep.inputs).toMatchObject({
      organization: ORG,
      repositories: '',
      archived: 'false',
      forks: 'false',
      visibility: 'all',
      'shard-size': '3',
      token: READ_TOKEN,
    });
    expect(planStep.run.errors).toEqual([]);
    const listing = reposApi.requests.filter((r) => r.path === `/orgs/${ORG}/repos`);
    expect(listing.length).toBeGreaterThan(0);
    expect(listing.every((r) => r.authorization === `token ${READ_TOKEN}`)).toBe(true);
    expect(plan.outputs.count).toBe('7');
    expect(plan.outputs.repositories.split('\n')).toEqual(PLANNED);
    const shards = (JSON.parse(plan.outputs.matrix) as { include: Array<Record<string, unknown>> }).include;
    expect(shards).toEqual([
      { shard: 1, count: 3, repositories: PLANNED.slice(0, 3).join('\n') },
      { shard: 2, count: 2, repositories: PLANNED.slice(3, 5).join('\n') },
      { shard: 3, count: 2, repositories: PLANNED.slice(5).join('\n') },
    ]);

    // backup: one job per shard, each with its shard's repositories, in its own concurrency group.
    expect(backup.result).toBe('success');
    expect(backup.maxParallel).toBe(4);
    expect(backup.legs.map((leg) => leg.matrix)).toEqual(shards);
    expect(new Set(backup.legs.map((leg) => leg.concurrencyGroup)).size).toBe(3);
    expect(backup.legs[1].concurrencyGroup).toBe('backup-action-s3://backups/nightly-shard-2');
    const snapshotIds: string[] = [];
    const verified: string[] = [];
    for (const [index, leg] of backup.legs.entries()) {
      expect(leg.runsOn).toBe('ubuntu-latest');
      expect(leg.steps[0]).toMatchObject({
        uses: 'aws-actions/configure-aws-credentials@v4',
        outcome: 'skipped',
      });
      const step = ourStep(leg);
      expect(step.dir).toBe('.');
      expect(step.inputs).toMatchObject({
        destination: 's3://backups/nightly',
        repositories: shards[index].repositories,
        token: READ_TOKEN,
        concurrency: '4',
        'verify-level': 'read-data',
        'max-age': '26h',
        endpoint: s3.endpoint,
        'access-key-id': s3.accessKeyId,
        'secret-access-key': SECRET_KEY,
      });
      expect(step.run.errors).toEqual([]);
      expect(step.run.exitCode).toBe(0);
      expect(step.run.outputs).toMatchObject({
        updated: 'true',
        'verify-ok': 'true',
        'verify-failed': '0',
        stale: '0',
      });
      const results = JSON.parse(step.run.outputs.results) as Array<{ repository: string; status: string }>;
      expect(results.map((r) => [r.repository, r.status])).toEqual(
        String(shards[index].repositories)
          .split('\n')
          .map((name) => [name, 'created']),
      );
      snapshotIds.push(...(JSON.parse(step.run.outputs['snapshot-ids']) as string[]));
      verified.push(
        ...(JSON.parse(step.run.outputs['verify-results']) as Array<{ source: string; ok: boolean }>)
          .filter((result) => result.ok)
          .map((result) => result.source),
      );
    }
    expect(snapshotIds).toHaveLength(7);
    expect(verified.sort()).toEqual(PLANNED.map(storedName).sort());

    // report: every planned repository fresh.
    expect(report.result).toBe('success');
    const reportStep = ourStep(report.legs[0]);
    expect(reportStep.inputs).toMatchObject({ repositories: plan.outputs.repositories, 'max-age': '26h' });
    expect(reportStep.run.errors).toEqual([]);
    const json = JSON.parse(fs.readFileSync(reportStep.run.outputs.json, 'utf8')) as {
      counts: Record<string, number>;
      units: Array<{ source: string; verdict: string; latest?: { id: string } }>;
    };
    expect(json.counts).toMatchObject({ units: 7, fresh: 7, stale: 0, never: 0 });
    expect(json.units.map((unit) => unit.source).sort()).toEqual(PLANNED.map(storedName).sort());
    expect(json.units.map((unit) => unit.latest?.id).sort()).toEqual([...snapshotIds].sort());

    // alert: runs (always), evaluates to success, opens nothing.
    const alertStep = ourStep(alert.legs[0]);
    expect(alert.result).toBe('success');
    expect(alertStep.inputs.status).toBe('success');
    expect(alertStep.inputs.title).toBe(`Backup failing: ${ORG}`);
    expect(alertStep.inputs.body).toBe(
      'Backup of 7 repositories to `s3://backups/nightly`.\nplan: success · backup: success · report: success (stale: 0)\n',
    );
    expect(alertStep.run.outputs).toMatchObject({ action: 'none', 'issue-number': '' });
    expect(issuesApi.issues(`${ORG}/backups`)).toEqual([]);

    expect(run.outputs).toEqual({ count: '7', stale: '0' });
    expectNoSecrets(run);

    // Independently of the actions' own outputs: the store holds one snapshot of each planned
    // repository and nothing of the archived one, and each restores (clone from the bundle + fsck).
    const listed = await runCli(['list', ...storageArgs('s3://backups/nightly'), '--json'], storageEnv());
    expect(listed.exitCode).toBe(0);
    const snapshots = JSON.parse(listed.stdout) as Array<{ repository: string; id: string }>;
    expect(snapshots.map((s) => s.repository).sort()).toEqual(PLANNED.map(storedName).sort());
    expect(snapshots.map((s) => s.id).sort()).toEqual([...snapshotIds].sort());
    const proof = await runCli(
      ['verify', ...storageArgs('s3://backups/nightly'), '--level', 'restore', '--json'],
      storageEnv(),
    );
    expect(proof.exitCode).toBe(0);
    const proven = (JSON.parse(proof.stdout) as Array<{ results: Array<{ source: string; ok: boolean }> }>)
      .flatMap((r) => r.results)
      .filter((r) => r.ok)
      .map((r) => r.source);
    expect(proven.sort()).toEqual(PLANNED.map(storedName).sort());
  }, 180_000);

  test('a repository gone from the server: its shard and the report fail naming it, an issue is opened; fixed, the issue is closed', async () => {
    const destination = 's3://backups/broken';
    const repository = path.join(served, ORG, 'Web.git');
    const aside = path.join(work, 'aside.git');
    fs.renameSync(repository, aside);
    let run: WorkflowRun;
    try {
      run = await call({ organization: ORG, destination, 'shard-size': 3 });
    } finally {
      fs.renameSync(aside, repository);
    }
    const { plan, backup, report, alert } = run.jobs;
    expect(plan.result).toBe('success');

    // The shard holding octo-org/Web fails by name; the other two succeed (fail-fast: false).
    expect(backup.result).toBe('failure');
    expect(backup.legs.map((leg) => leg.result)).toEqual(['success', 'success', 'failure']);
    const failed = ourStep(backup.legs[2]);
    expect(failed.inputs.repositories).toBe(`${ORG}/Web\n${ORG}/worker`);
    expect(failed.run.exitCode).toBe(1);
    expect(failed.run.errors.join('\n')).toContain(`${ORG}/Web`);
    const results = JSON.parse(failed.run.outputs.results) as Array<{ repository: string; status: string }>;
    expect(results.map((r) => [r.repository, r.status])).toEqual([
      [`${ORG}/Web`, 'failed'],
      [`${ORG}/worker`, 'created'],
    ]);

    // The report still runs (plan succeeded) and fails naming the repository.
    expect(report.result).toBe('failure');
    const reportStep = ourStep(report.legs[0]);
    expect(reportStep.run.exitCode).toBe(1);
    expect(reportStep.run.outputs.stale).toBe('1');
    expect(reportStep.run.errors.join('\n')).toContain(`${storedName(`${ORG}/Web`)}: never backed up`);
    expect(reportStep.run.errors.join('\n')).not.toContain('worker');

    // The alert: status failure, one issue in the calling repository, made with the job's token.
    const alertStep = ourStep(alert.legs[0]);
    expect(alertStep.inputs.status).toBe('failure');
    expect(alertStep.run.errors).toEqual([]);
    expect(alertStep.run.outputs.action).toBe('created');
    const [issue, ...others] = issuesApi.issues(`${ORG}/backups`);
    expect(others).toEqual([]);
    expect(issue).toMatchObject({ state: 'open', title: `Backup failing: ${ORG}` });
    expect(String(issue.number)).toBe(alertStep.run.outputs['issue-number']);
    expect(issue.body).toContain('Backup of 7 repositories to `s3://backups/broken`.');
    expect(issue.body).toContain('plan: success · backup: failure · report: failure (stale: 1)');
    expect(issue.labels.map((label) => label.name)).toEqual(['backup-failure']);
    expect(run.outputs).toEqual({ count: '7', stale: '1' });
    expectNoSecrets(run);

    // Fixed (the repository is back): the rerun passes everywhere and closes the issue.
    const rerun = await call({ organization: ORG, destination, 'shard-size': 3 });
    expect(Object.fromEntries(Object.entries(rerun.jobs).map(([name, job]) => [name, job.result]))).toEqual({
      plan: 'success',
      backup: 'success',
      report: 'success',
      alert: 'success',
    });
    const recovered = ourStep(rerun.jobs.alert.legs[0]);
    expect(recovered.inputs.status).toBe('success');
    expect(recovered.run.outputs).toMatchObject({ action: 'closed', 'issue-number': String(issue.number) });
    expect(issuesApi.issues(`${ORG}/backups`).map((i) => [i.number, i.state])).toEqual([
      [issue.number, 'closed'],
    ]);
    expect(rerun.outputs).toEqual({ count: '7', stale: '0' });
  }, 240_000);

  test('an explicit list: the filter inputs’ defaults pass through the plan; one shard; the title names the caller', async () => {
    const run = await call({
      repositories: `${ORG}/docs\n${ORG}/api\n${ORG}/docs`,
      destination: 's3://backups/listed',
    });
    expect(Object.fromEntries(Object.entries(run.jobs).map(([name, job]) => [name, job.result]))).toEqual({
      plan: 'success',
      backup: 'success',
      report: 'success',
      alert: 'success',
    });
    expect(ourStep(run.jobs.plan.legs[0]).inputs).toMatchObject({ organization: '', 'shard-size': '20' });
    expect(run.jobs.backup.legs.map((leg) => leg.matrix)).toEqual([
      { shard: 1, count: 2, repositories: `${ORG}/api\n${ORG}/docs` },
    ]);
    expect(ourStep(run.jobs.alert.legs[0]).inputs.title).toBe(`Backup failing: ${ORG}/backups`);
    expect(run.outputs).toEqual({ count: '2', stale: '0' });
  });

  test('a plan that fails: backup and report are skipped, and the alert still opens an issue', async () => {
    const workflow = 'Backup of a missing organization';
    const run = await call({ organization: 'no-such-org', destination: 's3://backups/none' }, workflow);
    expect(Object.fromEntries(Object.entries(run.jobs).map(([name, job]) => [name, job.result]))).toEqual({
      plan: 'failure',
      backup: 'skipped',
      report: 'skipped',
      alert: 'success',
    });
    expect(ourStep(run.jobs.plan.legs[0]).run.errors.join('\n')).toMatch(/no-such-org/);
    const alertStep = ourStep(run.jobs.alert.legs[0]);
    expect(alertStep.inputs).toMatchObject({
      status: 'failure',
      title: 'Backup failing: no-such-org',
      body: 'Backup of the planned repositories to `s3://backups/none`.\nplan: failure · backup: skipped · report: skipped (stale: unknown)\n',
    });
    expect(alertStep.run.outputs.action).toBe('created');
    const opened = issuesApi.issues(`${ORG}/backups`).filter((issue) => issue.state === 'open');
    expect(opened.map((issue) => issue.title)).toEqual(['Backup failing: no-such-org']);
    expect(run.outputs).toEqual({ count: '', stale: '' });
  });

  test('alert: false skips the alert job', async () => {
    const run = await call({ organization: 'no-such-org', destination: 's3://backups/none', alert: false });
    expect(run.jobs.plan.result).toBe('failure');
    expect(run.jobs.alert).toMatchObject({ result: 'skipped', legs: [] });
  });
});

test('every expression of the workflow was evaluated by the runs above, but the aws steps’ inputs', () => {
  // Those steps never run here (no aws-role-to-assume); their `if:` was evaluated.
  const all = allExpressions(loadWorkflow(), 'backup.yml').map((e) => e.source);
  const notEvaluated = [...new Set(all)].filter((source) => !evaluatedSources.has(source));
  expect(notEvaluated.sort()).toEqual(['inputs.aws-region', 'inputs.aws-role-to-assume']);
});
