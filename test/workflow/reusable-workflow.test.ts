import * as fs from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { git, tempDir } from '../support/fixtures.js';
import { startGitHttpServer, type GitHttpServer } from '../support/git-http-server.js';
import { type GitHubApi, startGitHubApi } from '../support/github-api.js';
import { startReposApi, type ReposApi } from '../support/repos-api.js';
import { type ActionRun, runCli } from '../support/run-action.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';
import {
  allExpressions,
  conditionSource,
  Ctx,
  evaluate,
  evaluatedSources,
  interpolate,
  parseExpression,
  type Scope,
} from '../support/workflow/expressions.js';
import {
  actionDir,
  type Caller,
  JOB_KEYS,
  type LegRecord,
  loadWorkflow,
  type Result,
  runWorkflow,
  STEP_KEYS,
  type StepRecord,
  WORKFLOW_KEYS,
  type WorkflowRun,
} from '../support/workflow/runner.js';

// The reusable workflow (.github/workflows/backup.yml) cannot run here, but its data flow can: this
// file reads the workflow, evaluates the expressions it uses with a small evaluator of GitHub's
// expression language (only the forms the file uses; any other form fails the test), and runs the
// bundled actions job by job — plan → one backup job per matrix entry → report → alert — with the
// inputs the workflow gives them, against a fake GitHub (repository listing and issues), a git
// smart-HTTP server serving the organization's repositories, and an S3-protocol server.
// The evaluator and the runner are in support/workflow/ (expressions.ts, runner.ts).

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
