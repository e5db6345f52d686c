// Side-by-side benchmark: backup-action's CLI (dist/cli.js, as built) against the tools people would
// otherwise use, on the same machine in the same run, alternating, medians of BENCH_REPS runs.
//
//   node scripts/bench-peers.mjs                    (npm run bench: every scenario, every size)
//   BENCH_SCENARIOS=1,2 BENCH_SIZES=10,200 BENCH_REPS=1 node scripts/bench-peers.mjs
//
// Scenarios (BENCH_SCENARIOS, default all):
//   0  scripts/bench.mjs (the acceptance bench: warm mirror, --force, vs git bundle + aws s3 cp) on the
//      largest size, its table copied in
//   1  first full backup (fresh mirror, fresh destination every run), each size, S3 and folder:
//      backup-action vs git clone --mirror + git bundle + aws s3 cp / cp / rclone copy, and vs
//      git clone --mirror + restic backup (local restic repository)
//   2  next day, nothing changed: time and bytes written, each size
//   3  next day, one new commit with a 100 KiB incompressible file, on the largest size
//   4  verify (read-data) and restore of the largest size: backup-action vs restic check --read-data /
//      restic restore
//   5  prune of 10,000 snapshots over 50 repositories (bench/prune.ts through scripts/bench-engine.mjs)
//   6  BENCH_TINY_REPOS (100) small repositories in one backup run, --concurrency BENCH_CONCURRENCY
//      (1,4,8), to S3: first run and the unchanged run after it
//   7  a file snapshot of BENCH_FILES (50,000) small files vs tar | zstd to a file vs restic backup
//
// Other settings (environment): BENCH_SIZES (MiB of pack, default 10,200,1024), BENCH_REPS (3),
// BENCH_STORES (s3,folder), BENCH_PEERS (hand,rclone,restic), BENCH_BIG_SIZE (size of scenarios 0, 3
// and 4; default the largest of BENCH_SIZES), BENCH_OUT (Markdown results, default
// bench/results/<UTC date>.md, appended to when it exists), BENCH_WORK (.bench), BENCH_CLI
// (dist/cli.js). Generated data is cached in BENCH_WORK; everything else is written under
// BENCH_WORK/peers-tmp and removed at the end (also on failure, SIGINT and SIGTERM).
//
// Measuring: scripts/bench-lib.mjs (wall time spawn to exit; peak RSS = VmHWM polled every 50 ms from
// /proc for the whole process tree; the peers' commands also run under /usr/bin/time -f %M when it
// exists, which catches processes too short-lived to be polled). "Peak RSS" is the largest peak of a
// non-git process of the contender (node, aws, rclone, restic, cp, tar, zstd), "git RSS" that of its
// git processes (mostly pack-objects' mmap of the pack, file-backed). "Written" is measured: the bytes of the objects or
// files a run added to its destination (S3 prefix, folder, restic repository).
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  awsEnvironment,
  bytes,
  capture,
  CREDENTIALS,
  killChildren,
  list,
  max,
  measure,
  measureOk,
  median,
  mib,
  MiB,
  mibOrDash,
  progress,
  ROOT,
  s,
  s3Client,
  startServer,
  table,
  tail,
  writePreload,
} from './bench-lib.mjs';
import { addCommit, ensureFileTree, ensureSource, ensureTinyRepos, sourceDir } from './bench-data.mjs';
import { BundlePipeline, Ours, Restic, tarZstd } from './bench-tools.mjs';

const SCENARIOS = {
  0: { title: 'Acceptance bench (scripts/bench.mjs)', run: scenarioAcceptance },
  1: { title: 'First full backup', run: scenarioFirstBackup },
  2: { title: 'Next day, nothing changed', run: scenarioUnchanged },
  3: { title: 'Next day, one new commit (100 KiB incompressible file)', run: scenarioOneCommit },
  4: { title: 'Verify (read-data) and restore', run: scenarioVerifyRestore },
  5: { title: 'Prune: 10,000 snapshots over 50 repositories', run: scenarioPrune },
  6: { title: 'Many small repositories in one run', run: scenarioManyRepos },
  7: { title: 'File snapshot of many small files', run: scenarioFiles },
};

// ---------------------------------------------------------------------------------------------------
// Settings

function readConfig(env = process.env) {
  const numbers = (name, fallback) =>
    (env[name] || fallback)
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean)
      .map(Number);
  const words = (name, fallback) =>
    (env[name] || fallback)
      .split(',')
      .map((v) => v.trim().toLowerCase())
      .filter(Boolean);
  const config = {
    scenarios: numbers('BENCH_SCENARIOS', '0,1,2,3,4,5,6,7'),
    sizes: numbers('BENCH_SIZES', '10,200,1024'),
    reps: Number(env.BENCH_REPS || 3),
    stores: words('BENCH_STORES', 's3,folder'),
    peers: words('BENCH_PEERS', 'hand,rclone,restic'),
    tinyRepos: Number(env.BENCH_TINY_REPOS || 100),
    concurrency: numbers('BENCH_CONCURRENCY', '1,4,8'),
    files: Number(env.BENCH_FILES || 50_000),
    work: path.resolve(env.BENCH_WORK || path.join(ROOT, '.bench')),
    cli: path.resolve(env.BENCH_CLI || path.join(ROOT, 'dist', 'cli.js')),
    out: env.BENCH_OUT
      ? path.resolve(env.BENCH_OUT)
      : path.join(ROOT, 'bench', 'results', `${new Date().toISOString().slice(0, 10)}.md`),
  };
  config.bigSize = Number(env.BENCH_BIG_SIZE || Math.max(...config.sizes));
  const bad = (what) => {
    throw new Error(`bench-peers: ${what}`);
  };
  for (const n of config.scenarios) if (!SCENARIOS[n]) bad(`unknown scenario ${n} in BENCH_SCENARIOS`);
  if (!config.sizes.every((n) => n > 0)) bad('BENCH_SIZES must be positive numbers (MiB)');
  if (!(config.bigSize > 0)) bad('BENCH_BIG_SIZE must be a positive number (MiB)');
  if (!Number.isInteger(config.reps) || config.reps < 1) bad('BENCH_REPS must be a positive integer');
  if (!config.stores.every((v) => v === 's3' || v === 'folder')) bad('BENCH_STORES: s3 and/or folder');
  if (!config.peers.every((v) => ['hand', 'rclone', 'restic'].includes(v)))
    bad('BENCH_PEERS: hand, rclone, restic');
  if (!(config.tinyRepos >= 1) || !(config.files >= 1)) bad('BENCH_TINY_REPOS and BENCH_FILES must be >= 1');
  if (!config.concurrency.every((n) => Number.isInteger(n) && n >= 1))
    bad('BENCH_CONCURRENCY: integers >= 1');
  if (!existsSync(config.cli)) bad(`${config.cli} is missing; build it first (npm run build)`);
  return config;
}

// ---------------------------------------------------------------------------------------------------
// Main

async function main() {
  if (process.argv.length > 2) {
    throw new Error(
      'bench-peers takes its settings from the environment (BENCH_SCENARIOS, BENCH_SIZES, BENCH_REPS, ...: ' +
        'see the top of scripts/bench-peers.mjs); for the flags of scripts/bench.mjs use npm run bench:bundle -- ...',
    );
  }
  const config = readConfig();
  const tmp = path.join(config.work, 'peers-tmp');
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(path.join(tmp, 'tmp'), { recursive: true });
  const startedAt = new Date();
  const machine = describeMachine();
  const versions = toolVersions();

  const ctx = { config, tmp, cli: config.cli, sources: new Map(), versions, timeDir: path.join(tmp, 'time') };
  ctx.preload = writePreload(tmp);
  let server;
  const teardown = async () => {
    killChildren('SIGKILL');
    ctx.s3?.destroy();
    await server?.stop();
    rmSync(tmp, { recursive: true, force: true });
  };
  let stopping = false;
  const onSignal = (signal) => {
    if (stopping) return;
    stopping = true;
    progress(`${signal}: stopping the measured processes and the S3 server`);
    teardown().finally(() => process.exit(130));
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, onSignal);
  process.on('exit', () => killChildren('SIGKILL'));

  const sections = [];
  const failures = [];
  try {
    // Single-request uploads up to 5 GiB: rclone's (see environments()).
    server = await startServer({ bodyLimit: 5 * 1024 * MiB });
    Object.assign(ctx, environments(tmp, server.endpoint, versions));
    ctx.endpoint = server.endpoint;
    ctx.s3 = await s3Client(server.endpoint);
    for (const n of config.scenarios) {
      const { title, run } = SCENARIOS[n];
      progress(`scenario ${n}: ${title}`);
      const started = Date.now();
      let section;
      try {
        section = await run(ctx, config);
      } catch (error) {
        if (stopping) return;
        failures.push(n);
        progress(`scenario ${n} FAILED: ${error.stack ?? error}`);
        section = {
          markdown: `**FAILED**: ${String(error.message ?? error).split('\n')[0]}\n`,
          data: { error: String(error) },
        };
        rmSync(path.join(tmp, 'scenario'), { recursive: true, force: true });
      }
      const minutes = ((Date.now() - started) / 60000).toFixed(1);
      sections.push({ n, title, minutes, ...section });
    }
  } finally {
    if (!stopping) await teardown();
  }

  const markdown = await formatMarkdown(
    render({ config, startedAt, machine, versions, sections }),
    config.out,
  );
  console.log(markdown);
  mkdirSync(path.dirname(config.out), { recursive: true });
  const before = existsSync(config.out)
    ? readFileSync(config.out, 'utf8').trimEnd()
    : `# Benchmark results, ${startedAt.toISOString().slice(0, 10)}`;
  writeFileSync(config.out, `${before}\n\n${markdown}`);
  const json = path.join(config.work, 'results-peers.json');
  writeFileSync(json, JSON.stringify({ config, startedAt, machine, versions, sections }, null, 2) + '\n');
  progress(`results: ${config.out} (details: ${json})`);
  if (failures.length) {
    progress(`scenario(s) ${failures.join(', ')} failed`);
    process.exitCode = 1;
  }
}

/** Formatted as `prettier --check .` (npm run lint) expects it, when prettier is installed. */
async function formatMarkdown(text, file) {
  try {
    const prettier = await import('prettier');
    const options = (await prettier.resolveConfig(file)) ?? {};
    return await prettier.format(text, { ...options, parser: 'markdown' });
  } catch {
    return text;
  }
}

function environments(tmp, endpoint, versions) {
  const env = awsEnvironment();
  const rcloneEnv = {
    ...env,
    RCLONE_CONFIG: path.join(tmp, 'rclone.conf'), // absent: no config file, the remote is below
    RCLONE_CONFIG_BENCH_TYPE: 's3',
    RCLONE_CONFIG_BENCH_PROVIDER: 'Other',
    RCLONE_CONFIG_BENCH_ENDPOINT: endpoint,
    RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    RCLONE_CONFIG_BENCH_REGION: CREDENTIALS.region,
    // rclone's multipart uploads fail against the test server: its CompleteMultipartUpload body escapes
    // the ETags' quotes as &#34;, which fauxqs's parser does not decode (InvalidPart). So rclone uploads
    // every file (up to 5 GiB) in one PUT, as it does by default below 200 MiB.
    RCLONE_CONFIG_BENCH_UPLOAD_CUTOFF: '5G',
  };
  delete rcloneEnv.AWS_CA_BUNDLE;
  const resticEnv = {
    ...env,
    RESTIC_PASSWORD: 'bench-password',
    RESTIC_CACHE_DIR: path.join(tmp, 'restic-cache'),
  };
  for (const name of [
    'RESTIC_REPOSITORY',
    'RESTIC_REPOSITORY_FILE',
    'RESTIC_PASSWORD_FILE',
    'RESTIC_PASSWORD_COMMAND',
  ]) {
    delete resticEnv[name];
  }
  return { env, rcloneEnv, resticEnv, aws: versions.awsPath };
}

function describeMachine() {
  const cpus = os.cpus();
  return {
    nproc: Number(capture('nproc', [])) || cpus.length,
    cpu: cpus[0]?.model ?? '?',
    memoryMiB: os.totalmem() / MiB,
    loadAverage: os.loadavg(),
    kernel: `${os.type()} ${os.release()}`,
  };
}

function toolVersions() {
  // pyenv's aws shim costs ~0.1 s of bash per call: use what it points to.
  const awsPath = capture('pyenv', ['which', 'aws']) ?? 'aws';
  const commit = capture('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT });
  const dirty = capture('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT });
  let dist;
  try {
    dist = statSync(path.join(ROOT, 'dist', 'engine', 'index.js')).mtime.toISOString();
  } catch {
    dist = undefined;
  }
  return {
    node: process.version,
    git: capture('git', ['--version']),
    aws: capture(awsPath, ['--version']),
    awsPath,
    rclone: capture('rclone', ['version']),
    restic: capture('restic', ['version']),
    zstd: capture('zstd', ['--version']),
    tar: capture('tar', ['--version']),
    backupAction: JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version,
    commit: commit ? `${commit}${dirty ? ' (with uncommitted changes)' : ''}` : undefined,
    distBuilt: dist,
  };
}

// ---------------------------------------------------------------------------------------------------
// Contenders

/** The source repository of a size (generated once, cached in BENCH_WORK). */
async function sourceFor(ctx, sizeMiB) {
  if (!ctx.sources.has(sizeMiB)) {
    const dir = sourceDir(ctx.config.work, sizeMiB);
    ctx.sources.set(sizeMiB, { dir, generation: await ensureSource(dir, sizeMiB) });
  }
  return ctx.sources.get(sizeMiB);
}

/**
 * The backup contenders selected by BENCH_STORES and BENCH_PEERS whose tools are installed, each with
 * its comparison group: 's3', or 'folder' (restic's local repository is compared with the folders).
 */
function backupContenders(ctx, { peers = true } = {}) {
  const { stores, peers: wanted } = ctx.config;
  const has = (tool) => ctx.versions[tool] !== undefined;
  const list = [];
  const add = (contender, group) => list.push(Object.assign(contender, { group }));
  if (stores.includes('s3')) add(new Ours(ctx, 's3'), 's3');
  if (stores.includes('folder')) add(new Ours(ctx, 'folder'), 'folder');
  if (!peers) return list;
  if (wanted.includes('hand') && stores.includes('s3') && has('aws'))
    add(new BundlePipeline(ctx, 'aws', 's3'), 's3');
  if (wanted.includes('hand') && stores.includes('folder'))
    add(new BundlePipeline(ctx, 'cp', 'folder'), 'folder');
  if (wanted.includes('rclone') && has('rclone')) {
    if (stores.includes('s3')) add(new BundlePipeline(ctx, 'rclone', 's3'), 's3');
    if (stores.includes('folder')) add(new BundlePipeline(ctx, 'rclone', 'folder'), 'folder');
  }
  if (wanted.includes('restic') && has('restic') && stores.includes('folder')) add(new Restic(ctx), 'folder');
  return list;
}

/** Which contenders were left out and why, for the notes. */
function missingPeers(ctx) {
  const notes = [];
  for (const tool of ['aws', 'rclone', 'restic', 'zstd']) {
    if (ctx.versions[tool] === undefined) notes.push(`${tool} is not installed: its rows are missing`);
  }
  return notes;
}

/** Rotates the order every repetition, so that no contender always runs first (or after the same one). */
function rotate(items, i) {
  const k = i % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

const label = (...parts) => parts.join('-').replace(/[^A-Za-z0-9_.-]+/g, '_');

function expectStatus(run, status, who) {
  const wrong = run.statuses.filter((s) => s !== status);
  if (wrong.length) throw new Error(`${who}: expected ${status}, got ${run.statuses.join(', ')}`);
}

/** One measured backup of a contender. */
async function backupOnce(contender, source, tag, expected) {
  progress(`  ${tag}: ${contender.name} → ${contender.storeLabel}`);
  const run = await contender.backup(source, { label: label(tag, contender.name, contender.store) });
  if (contender.kind === 'ours' && expected) expectStatus(run, expected, `${tag} backup-action`);
  return run;
}

// ---------------------------------------------------------------------------------------------------
// Scenario 0: the acceptance bench

async function scenarioAcceptance(ctx, config) {
  const size = config.bigSize;
  await sourceFor(ctx, size); // generated here, so that its time is not in the child's
  const args = [
    path.join(ROOT, 'scripts', 'bench.mjs'),
    '--size-mib',
    String(size),
    '--runs',
    String(config.reps),
  ];
  args.push('--work', config.work, '--cli', config.cli);
  progress(`  node ${args.map((a) => path.relative(ROOT, a) || a).join(' ')}`);
  const result = await measure('acceptance', process.execPath, args, {
    env: ctx.env,
    cwd: ROOT,
    detached: true,
  });
  process.stderr.write(result.stderr);
  if (result.code !== 0) throw new Error(`scripts/bench.mjs exited ${result.code}: ${tail(result.stderr)}`);
  // Its output: a Markdown part, then one JSON line.
  const lines = result.stdout.trimEnd().split('\n');
  const json = JSON.parse(lines.pop());
  const markdown = lines
    .join('\n')
    .replace(/^## .*\n\n/, '')
    .trim();
  return {
    markdown:
      `\`node scripts/bench.mjs --size-mib ${size} --runs ${config.reps}\`: backup-action with a warm mirror ` +
      '(`--force`) vs `git bundle create --all` + `aws s3 cp` on the same mirror, to S3.\n\n' +
      `${markdown}\n`,
    data: {
      medians: json.medians,
      ratio: json.ratio,
      peakRssMiB: json.peakRssMiB,
      acceptance: json.acceptance,
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Scenario 1: first full backup

async function scenarioFirstBackup(ctx, config) {
  const out = [];
  const data = {};
  out.push(
    'Every run starts from nothing: a fresh mirror (`git clone --mirror` of the source, a local path, so the ' +
      'clone hard-links the pack and costs almost nothing for every contender) and a fresh destination. ' +
      'backup-action runs `backup --to <dest> --repo <source> --mirror-dir <fresh>`; the hand pipelines run ' +
      '`git clone --mirror`, `git bundle create --all` to a file, then copy the file; restic backs the mirror ' +
      'folder up into a new local repository (`restic init` not timed).\n',
  );
  for (const size of config.sizes) {
    const { dir: source, generation } = await sourceFor(ctx, size);
    const contenders = backupContenders(ctx);
    const runs = new Map(contenders.map((c) => [c, []]));
    for (let i = 0; i < config.reps; i++) {
      for (const contender of rotate(contenders, i)) {
        await contender.reset();
        try {
          runs.get(contender).push(await backupOnce(contender, source, `s1-${size}mib-r${i + 1}`, 'created'));
        } finally {
          await contender.dispose();
        }
      }
    }
    out.push(`#### ${size} MiB repository (pack ${mib(generation.packBytes / MiB)} MiB)\n`);
    out.push(backupTable(contenders, runs), '');
    out.push(...bestPeerLines(contenders, runs), '');
    data[size] = runsData(contenders, runs);
  }
  out.push(...missingPeers(ctx).map((note) => `- ${note}`));
  return { markdown: out.join('\n'), data };
}

// ---------------------------------------------------------------------------------------------------
// Scenarios 2 and 3: the next day

async function scenarioUnchanged(ctx, config) {
  const out = [
    'Each contender first makes its day-1 backup (not timed); then every repetition is one more day with ' +
      'nothing changed in the source. backup-action fetches into its mirror, sees the same refs and writes ' +
      'nothing; the hand pipelines `git fetch` into their mirror, bundle and copy the whole bundle again (to a ' +
      "new day's key: a backup keeps earlier days); restic `git fetch`es and backs the mirror folder up again.\n",
  ];
  const data = {};
  for (const size of config.sizes) {
    const { dir: source } = await sourceFor(ctx, size);
    const result = await nextDays(ctx, config, { source, tag: `s2-${size}mib`, expected: 'unchanged' });
    out.push(`#### ${size} MiB repository\n`, result.markdown);
    data[size] = result.data;
  }
  return { markdown: out.join('\n'), data };
}

async function scenarioOneCommit(ctx, config) {
  const size = config.bigSize;
  const { dir: original } = await sourceFor(ctx, size);
  // A copy of the cached source (hard-linked objects), so that the cache is never changed.
  const source = path.join(ctx.tmp, 'scenario', `change-${size}mib.git`);
  rmSync(source, { recursive: true, force: true });
  mkdirSync(path.dirname(source), { recursive: true });
  await measureOk('s3-copy', 'git', ['clone', '--mirror', '--quiet', original, source], { env: ctx.env });
  try {
    const result = await nextDays(ctx, config, {
      source,
      tag: `s3-${size}mib`,
      expected: 'created',
      change: (i) => addCommit(source, i + 1),
    });
    return {
      markdown:
        `${size} MiB repository. After the day-1 backup (not timed), every repetition adds one commit on main ` +
        'with one new 100 KiB incompressible file, then runs every contender once (each sees exactly that ' +
        'change). backup-action writes a whole new bundle (a snapshot is a full `git bundle`); so do the ' +
        'hand pipelines; restic uploads only the chunks of the files that changed in the mirror folder ' +
        '(the new objects, refs).\n\n' +
        result.markdown,
      data: result.data,
    };
  } finally {
    rmSync(path.join(ctx.tmp, 'scenario'), { recursive: true, force: true });
  }
}

/** Day 1 for every contender (not timed), then BENCH_REPS more days, with `change(i)` before each. */
async function nextDays(ctx, config, { source, tag, expected, change }) {
  const contenders = backupContenders(ctx);
  const runs = new Map(contenders.map((c) => [c, []]));
  const firstDay = new Map();
  try {
    for (const contender of contenders) {
      await contender.reset();
      firstDay.set(contender, await backupOnce(contender, source, `${tag}-day1`, 'created'));
      await contender.dropOld();
    }
    for (let i = 0; i < config.reps; i++) {
      if (change) await change(i);
      for (const contender of rotate(contenders, i)) {
        runs.get(contender).push(await backupOnce(contender, source, `${tag}-day${i + 2}`, expected));
        await contender.dropOld();
      }
    }
  } finally {
    for (const contender of contenders) await contender.dispose();
  }
  const markdown = [
    backupTable(contenders, runs, { firstDay }),
    '',
    ...bestPeerLines(contenders, runs),
    ...missingPeers(ctx).map((note) => `- ${note}`),
    '',
  ].join('\n');
  return { markdown, data: runsData(contenders, runs) };
}

// ---------------------------------------------------------------------------------------------------
// Scenario 4: verify and restore

async function scenarioVerifyRestore(ctx, config) {
  const size = config.bigSize;
  const { dir: source } = await sourceFor(ctx, size);
  const repository = `local/${path.basename(source).replace(/\.git$/, '')}`;
  const ours = backupContenders(ctx, { peers: false });
  const restic = config.peers.includes('restic') && ctx.versions.restic ? [new Restic(ctx)] : [];
  const contenders = [...ours, ...restic];
  const targets = path.join(ctx.tmp, 'scenario', 'restore');
  const rows = { verify: new Map(), restore: new Map(), proof: new Map() };
  try {
    for (const contender of contenders) {
      await contender.reset();
      await backupOnce(contender, source, `s4-${size}mib-setup`, 'created');
    }
    for (let i = 0; i < config.reps; i++) {
      const tag = `s4-${size}mib-r${i + 1}`;
      for (const contender of rotate(contenders, i)) {
        const name = label(tag, 'verify', contender.name, contender.store);
        progress(`  ${tag}: verify, ${contender.name} → ${contender.storeLabel}`);
        const run =
          contender.kind === 'ours'
            ? await contender.verify(repository, 'read-data', { label: name })
            : await contender.check({ label: name });
        push(rows.verify, contender, run);
      }
      for (const contender of rotate(contenders, i)) {
        const name = label(tag, 'restore', contender.name, contender.store);
        const target = path.join(targets, name);
        progress(`  ${tag}: restore, ${contender.name} → ${contender.storeLabel}`);
        try {
          const run =
            contender.kind === 'ours'
              ? await contender.restore(repository, target, { label: name })
              : await contender.restore(target, { label: name });
          push(rows.restore, contender, run);
        } finally {
          rmSync(target, { recursive: true, force: true });
        }
      }
      for (const contender of rotate(ours, i)) {
        const name = label(tag, 'proof', contender.name, contender.store);
        progress(`  ${tag}: verify --level restore, ${contender.name} → ${contender.storeLabel}`);
        push(rows.proof, contender, await contender.verify(repository, 'restore', { label: name }));
      }
    }
  } finally {
    for (const contender of contenders) await contender.dispose();
    rmSync(path.join(ctx.tmp, 'scenario'), { recursive: true, force: true });
  }
  const line = (operation, contender, runs, best) => [
    operation,
    contender.shortName,
    contender.storeLabel,
    s(median(runs.map((r) => r.seconds))),
    list(runs.map((r) => r.seconds)),
    mib(max(runs.map((r) => r.toolPeakMiB))),
    mibOrDash(max(runs.map((r) => r.gitPeakMiB))),
    best ? ratio(median(runs.map((r) => r.seconds)), best) : '',
  ];
  const bestOf = (map) => {
    const peers = [...map]
      .filter(([c]) => c.kind === 'peer')
      .map(([, runs]) => median(runs.map((r) => r.seconds)));
    return peers.length ? Math.min(...peers) : undefined;
  };
  const body = [];
  for (const [operation, key] of [
    ['verify: read and check every byte', 'verify'],
    ['restore into an empty folder', 'restore'],
  ]) {
    const best = bestOf(rows[key]);
    for (const [contender, runs] of rows[key])
      body.push(line(operation, contender, runs, contender.kind === 'ours' ? best : undefined));
  }
  for (const [contender, runs] of rows.proof)
    body.push(line('verify --level restore (clone + fsck + refs)', contender, runs));
  const markdown = [
    `${size} MiB snapshot, made once before the repetitions. backup-action: \`verify --level read-data\` ` +
      '(downloads every part and checks its SHA-256) and `restore --target` (downloads the bundle, ' +
      '`git clone --mirror` from it, `git fsck`, compares every ref with the manifest); restic: ' +
      "`restic check --read-data` and `restic restore latest --target` (writes the mirror folder's files " +
      'back). `verify --level restore` (a full restore into a temporary folder, then deleted) is listed ' +
      'for reference.\n',
    table(
      [
        'Operation',
        'Contender',
        'Store',
        'Median (s)',
        'Runs (s)',
        'Peak RSS (MiB)',
        'git RSS (MiB)',
        'vs best peer',
      ],
      ['l', 'l', 'l', 'r', 'l', 'r', 'r', 'r'],
      body,
    ),
    '',
  ].join('\n');
  const data = Object.fromEntries(
    Object.entries(rows).map(([key, map]) => [
      key,
      [...map].map(([c, runs]) => ({ contender: c.name, store: c.store, runs })),
    ]),
  );
  return { markdown, data };
}

function push(map, key, value) {
  if (!map.has(key)) map.set(key, []);
  map.get(key).push(value);
}

// ---------------------------------------------------------------------------------------------------
// Scenario 5: prune (bench/prune.ts)

async function scenarioPrune(ctx, config) {
  const built = path.join(ROOT, '.bench', 'engine-build', 'bench', 'prune.js');
  const runs = [];
  for (let i = 0; i < config.reps; i++) {
    // The first run compiles bench/prune.ts (scripts/bench-engine.mjs); later ones import the build.
    const args =
      i === 0
        ? [path.join(ROOT, 'scripts', 'bench-engine.mjs'), 'prune']
        : [
            '--input-type=module',
            '-e',
            `const m = await import(${JSON.stringify(pathToFileURL(built).href)}); await m.benchPrune();`,
          ];
    progress(
      `  s5 run ${i + 1}/${config.reps}: ${i === 0 ? 'npm run bench:prune' : 'bench/prune.ts (built)'}`,
    );
    const result = await measureOk(label('s5-prune', i + 1), process.execPath, args, {
      env: ctx.env,
      cwd: ROOT,
      detached: true,
    });
    const json = result.stdout
      .split('\n')
      .filter((l) => l.startsWith('{"repos"'))
      .map((l) => JSON.parse(l))
      .pop();
    if (!json) throw new Error(`no result line from bench/prune.ts:\n${tail(result.stdout)}`);
    runs.push({ ...json, peakRssMiB: result.peakRssMiB, wallSeconds: result.seconds });
  }
  const m = (key) => median(runs.map((r) => r[key]));
  const series = (key) => list(runs.map((r) => r[key]));
  const r = runs[0];
  const markdown = [
    `\`npm run bench:prune\` (bench/prune.ts): ${r.snapshots} snapshots (a manifest and a 1 KiB part each) over ` +
      `${r.repos} repositories in the S3 server, which runs in the same process (its time and memory are ` +
      "included); policy keep-daily 7, keep-weekly 4, keep-monthly 6. No peer: restic's `forget --prune` " +
      'works on its own repository format, not on snapshots of this layout.\n',
    table(
      ['Step', 'Median (s)', 'Runs (s)', 'Requests'],
      ['l', 'r', 'l', 'r'],
      [
        [
          `seeding (${2 * r.snapshots} objects, not part of prune)`,
          s(m('seedSeconds')),
          series('seedSeconds'),
          '',
        ],
        [
          'dry run with keep-tag (reads every manifest)',
          s(m('tagPlanSeconds')),
          series('tagPlanSeconds'),
          r.tagPlanRequests,
        ],
        ['planning (list + decide)', s(m('planSeconds')), series('planSeconds'), r.listRequests],
        [
          `deleting (${r.snapshotsRemoved} snapshots, ${r.keysDeleted} keys)`,
          s(m('deleteSeconds')),
          series('deleteSeconds'),
          r.deleteRequests,
        ],
      ],
    ),
    '',
    `- Peak RSS of the node process (prune engine + S3 server holding ${2 * r.snapshots} objects): ` +
      `${mib(max(runs.map((x) => x.peakRssMiB)))} MiB`,
    '',
  ].join('\n');
  return { markdown, data: runs };
}

// ---------------------------------------------------------------------------------------------------
// Scenario 6: many small repositories in one run

async function scenarioManyRepos(ctx, config) {
  const count = config.tinyRepos;
  const repos = await ensureTinyRepos(path.join(config.work, `tiny-${count}`), count);
  const levels = config.concurrency;
  const first = new Map();
  const again = new Map();
  for (let i = 0; i < config.reps; i++) {
    for (const concurrency of rotate(levels, i)) {
      const ours = new Ours(ctx, 's3');
      await ours.reset();
      const tag = label('s6', `${count}repos`, `c${concurrency}`, `r${i + 1}`);
      try {
        progress(`  ${tag}: first run (fresh mirrors)`);
        const run = await ours.backup(repos, { label: `${tag}-first`, concurrency });
        expectStatus(run, 'created', tag);
        push(first, concurrency, run);
        progress(`  ${tag}: next run, nothing changed`);
        const next = await ours.backup(repos, { label: `${tag}-next`, concurrency });
        expectStatus(next, 'unchanged', tag);
        push(again, concurrency, next);
      } finally {
        await ours.dispose();
      }
    }
  }
  const rows = levels.map((c) => {
    const a = first.get(c);
    const b = again.get(c);
    return [
      c,
      s(median(a.map((r) => r.seconds))),
      list(a.map((r) => r.seconds)),
      s(median(b.map((r) => r.seconds))),
      list(b.map((r) => r.seconds)),
      mib(max([...a, ...b].map((r) => r.toolPeakMiB))),
      bytes(median(a.map((r) => r.uploadedBytes))),
      bytes(median(b.map((r) => r.uploadedBytes))),
    ];
  });
  const markdown = [
    `${count} small repositories (3 commits, 6 files of 2-8 KiB each; ` +
      `${bytes(median(first.get(levels[0]).map((r) => r.uploadedBytes)) / count)} written per repository) backed up by one ` +
      '`backup` run to S3 (`--repo` given once per repository) with each `--concurrency`: first with fresh ' +
      'mirrors and a fresh prefix (clone + bundle + upload of each), then the next run with nothing ' +
      'changed (fetch + compare). No peer.\n',
    table(
      [
        '--concurrency',
        'First run, median (s)',
        'Runs (s)',
        'Unchanged run, median (s)',
        'Runs (s)',
        'Peak RSS (MiB)',
        'Written, first',
        'Written, unchanged',
      ],
      ['r', 'r', 'l', 'r', 'l', 'r', 'r', 'r'],
      rows,
    ),
    '',
  ].join('\n');
  const data = levels.map((c) => ({ concurrency: c, first: first.get(c), unchanged: again.get(c) }));
  return { markdown, data };
}

// ---------------------------------------------------------------------------------------------------
// Scenario 7: a file snapshot of many small files

async function scenarioFiles(ctx, config) {
  const {
    tree,
    files,
    bytes: inputBytes,
    folders,
  } = ensureFileTree(path.join(config.work, `files-${config.files}`), config.files);
  const parent = path.dirname(tree);
  const name = path.basename(tree);
  const contenders = [];
  const add = (kind, who, store, run) => contenders.push({ kind, name: who, storeLabel: store, run });
  for (const store of config.stores) {
    const ours = new Ours(ctx, store);
    add('ours', 'backup-action snapshot (zstd)', ours.storeLabel, async (tag) => {
      await ours.reset();
      try {
        return await ours.snapshot(parent, 'bench-files', `${name}/**`, { label: label(tag, 'ours', store) });
      } finally {
        await ours.dispose();
      }
    });
  }
  if (ctx.versions.zstd) {
    const out = path.join(ctx.tmp, 'scenario', 'files.tar.zst');
    add('peer', 'tar -cf - | zstd', 'file', (tag) =>
      tarZstd(ctx, parent, name, out, { label: label(tag, 'tar') }),
    );
  }
  if (config.peers.includes('restic') && ctx.versions.restic) {
    const restic = new Restic(ctx);
    add('peer', 'restic backup (new repository)', 'local restic repo', async (tag) => {
      await restic.reset();
      try {
        return await restic.backupFolder(tree, { label: label(tag, 'restic') });
      } finally {
        await restic.dispose();
      }
    });
  }
  const runs = new Map(contenders.map((c) => [c, []]));
  try {
    for (let i = 0; i < config.reps; i++) {
      for (const contender of rotate(contenders, i)) {
        progress(`  s7 r${i + 1}: ${contender.name} → ${contender.storeLabel}`);
        runs.get(contender).push(await contender.run(`s7-${files}files-r${i + 1}`));
      }
    }
  } finally {
    rmSync(path.join(ctx.tmp, 'scenario'), { recursive: true, force: true });
  }
  const peerMedians = contenders
    .filter((c) => c.kind === 'peer')
    .map((c) => median(runs.get(c).map((r) => r.seconds)));
  const best = peerMedians.length ? Math.min(...peerMedians) : undefined;
  const rows = contenders.map((c) => {
    const r = runs.get(c);
    const med = median(r.map((x) => x.seconds));
    return [
      c.name,
      c.storeLabel,
      s(med),
      list(r.map((x) => x.seconds)),
      bytes(median(r.map((x) => x.uploadedBytes))),
      mib(max(r.map((x) => x.toolPeakMiB))),
      c.kind === 'ours' && best ? ratio(med, best) : '',
    ];
  });
  const markdown = [
    `${files} text files of 1-4 KiB (${bytes(inputBytes)} in all; base64 text, compresses to about 3/4) in ` +
      `${folders ?? 'nested'} folders (tree/dNN/sN). backup-action: \`snapshot --name bench-files --path 'tree/**' ` +
      "--compression zstd` (one streamed tar, compressed by node's zlib on Node >= 22.15, else by the `zstd` " +
      'command, uploaded with its manifest); ' +
      '`tar -cf - | zstd -o <file>` (zstd level 3); `restic backup` of the folder into a new local ' +
      'repository (`restic init` not timed; restic compresses with zstd too). Output: bytes written.\n',
    table(
      ['Contender', 'Output', 'Median (s)', 'Runs (s)', 'Output bytes', 'Peak RSS (MiB)', 'vs best peer'],
      ['l', 'l', 'r', 'l', 'r', 'r', 'r'],
      rows,
    ),
    '',
  ].join('\n');
  const data = contenders.map((c) => ({ contender: c.name, output: c.storeLabel, runs: runs.get(c) }));
  return { markdown, data };
}

// ---------------------------------------------------------------------------------------------------
// Tables

function ratio(value, best) {
  return `${(value / best).toFixed(2)}×`;
}

/** The backup table of scenarios 1-3: one row per contender, S3 group first. */
function backupTable(contenders, runs, { firstDay } = {}) {
  const rows = [];
  for (const contender of contenders) {
    const r = runs.get(contender);
    const med = median(r.map((x) => x.seconds));
    const ours = contenders.find((c) => c.kind === 'ours' && c.group === contender.group);
    const oursMedian = ours ? median(runs.get(ours).map((x) => x.seconds)) : undefined;
    const stepNames = [...new Set(r.flatMap((x) => Object.keys(x.steps)))];
    const steps =
      stepNames.length > 1
        ? stepNames.map((name) => `${name} ${s(median(r.map((x) => x.steps[name])))}`).join(' + ')
        : '';
    const written = bytes(median(r.map((x) => x.uploadedBytes)));
    const added =
      r[0]?.dataAdded !== undefined ? ` (data_added ${bytes(median(r.map((x) => x.dataAdded)))})` : '';
    const row = [
      contender.name,
      contender.storeLabel,
      s(med),
      list(r.map((x) => x.seconds)),
      steps,
      mib(max(r.map((x) => x.toolPeakMiB))),
      mibOrDash(max(r.map((x) => x.gitPeakMiB))),
      written + added,
      contender.kind === 'ours' || !oursMedian ? '' : ratio(med, oursMedian),
    ];
    if (firstDay) row.splice(4, 0, bytes(firstDay.get(contender)?.uploadedBytes));
    rows.push({ group: contender.group, kind: contender.kind, row });
  }
  rows.sort((a, b) =>
    a.group === b.group ? (a.kind === 'ours' ? -1 : b.kind === 'ours' ? 1 : 0) : a.group === 's3' ? -1 : 1,
  );
  const header = [
    'Contender',
    'Store',
    'Median (s)',
    'Runs (s)',
    'Steps, medians (s)',
    'Peak RSS (MiB)',
    'git RSS (MiB)',
    'Written (median)',
    '× backup-action',
  ];
  const align = ['l', 'l', 'r', 'l', 'l', 'r', 'r', 'r', 'r'];
  if (firstDay) {
    header.splice(4, 0, 'Day 1 written');
    align.splice(4, 0, 'r');
  }
  return table(
    header,
    align,
    rows.map((x) => x.row),
  );
}

/** "backup-action / best peer" per store group. */
function bestPeerLines(contenders, runs) {
  const lines = [];
  for (const group of ['s3', 'folder']) {
    const ours = contenders.find((c) => c.kind === 'ours' && c.group === group);
    const peers = contenders.filter((c) => c.kind === 'peer' && c.group === group);
    if (!ours || peers.length === 0) continue;
    const med = (c) => median(runs.get(c).map((x) => x.seconds));
    const best = peers.reduce((a, b) => (med(b) < med(a) ? b : a));
    lines.push(
      `- ${group === 's3' ? 'S3' : 'Folder'}: backup-action ${s(med(ours))} s / best peer ${s(med(best))} s ` +
        `(${best.name}${best.group !== best.store ? `, ${best.storeLabel}` : ''}) = **${(med(ours) / med(best)).toFixed(2)}**`,
    );
  }
  return lines;
}

function runsData(contenders, runs) {
  return contenders.map((c) => ({ contender: c.name, store: c.store, runs: runs.get(c) }));
}

function render({ config, startedAt, machine, versions, sections }) {
  const out = [];
  out.push(
    `## Side-by-side with other tools (scripts/bench-peers.mjs), ${startedAt.toISOString().slice(0, 16)}Z`,
  );
  out.push('');
  out.push(
    `\`BENCH_SCENARIOS=${config.scenarios.join(',')} BENCH_SIZES=${config.sizes.join(',')} ` +
      `BENCH_REPS=${config.reps} BENCH_STORES=${config.stores.join(',')} BENCH_PEERS=${config.peers.join(',')}` +
      `${config.scenarios.some((n) => n === 0 || n === 3 || n === 4) ? ` BENCH_BIG_SIZE=${config.bigSize}` : ''}` +
      `${config.scenarios.includes(6) ? ` BENCH_TINY_REPOS=${config.tinyRepos} BENCH_CONCURRENCY=${config.concurrency.join(',')}` : ''}` +
      `${config.scenarios.includes(7) ? ` BENCH_FILES=${config.files}` : ''} node scripts/bench-peers.mjs\`` +
      `${versions.commit ? ` at ${versions.commit}` : ''}; CLI measured: ${path.relative(ROOT, config.cli) || config.cli}` +
      `${versions.distBuilt ? ` (built ${versions.distBuilt.slice(0, 16)}Z)` : ''}.`,
  );
  out.push('');
  out.push(
    `- Machine: ${machine.nproc} cores (nproc; ${machine.cpu}), ${mib(machine.memoryMiB)} MiB RAM, ` +
      `${machine.kernel}; load average at start ${machine.loadAverage.map((x) => x.toFixed(2)).join(' / ')}`,
  );
  out.push(
    `- Versions: node ${versions.node}; ${versions.git ?? 'git: missing'}; ${versions.aws ?? 'aws: not installed'}; ` +
      `${versions.rclone ?? 'rclone: not installed'}; ${versions.restic ?? 'restic: not installed'}; ` +
      `${versions.zstd ?? 'zstd: not installed'}; ${versions.tar ?? 'tar: not installed'}; backup-action ${versions.backupAction}`,
  );
  out.push(
    '- S3: the local S3-protocol server of the tests (test/support/s3-server.mjs, in-memory, over plain http on ' +
      '127.0.0.1), in a worker thread of the bench process: it shares the cores with the contenders. Folder: a ' +
      'folder on the same disk. restic 0.14 cannot use a plain-http S3 endpoint, so its repository is a local ' +
      'folder and it is compared with the folder destinations. rclone uploads to S3 with ' +
      '`--s3-upload-cutoff 5G` (one PUT per file): its multipart uploads fail against this server ' +
      '(the ETags in its CompleteMultipartUpload are escaped as `&#34;`, which the server does not decode).',
  );
  out.push(
    '- Times: wall time from spawn to exit, medians of the repetitions, contenders in a rotating order. ' +
      'Peak RSS: largest VmHWM of a non-git process of the contender (node, aws, rclone, restic, cp, tar, ' +
      "zstd), polled every 50 ms from /proc (and, for the peers' commands, `/usr/bin/time -f %M`); git RSS: the largest of its git processes (mostly pack-objects' mmap of the " +
      'pack, file-backed). Written: bytes the run added to its destination (objects listed, files summed), ' +
      'not what a tool reports.',
  );
  out.push('');
  for (const section of sections) {
    out.push(`### ${section.n}. ${section.title}`);
    out.push('');
    out.push(section.markdown.trimEnd());
    out.push('');
    out.push(`_(${section.minutes} min)_`);
    out.push('');
  }
  return out.join('\n').trimEnd() + '\n';
}

await main();
