// The scenarios of `npm run bench` (bench/main.ts), by number (BENCH_SCENARIOS).
import type { Scenario } from '../context.js';
import * as acceptance from './acceptance.js';
import * as files from './files.js';
import * as firstBackup from './first-backup.js';
import * as manyRepos from './many-repos.js';
import * as oneCommit from './one-commit.js';
import * as prune from './prune.js';
import * as unchanged from './unchanged.js';
import * as verifyRestore from './verify-restore.js';

export const SCENARIOS: Record<number, Scenario> = {
  0: { title: acceptance.title, run: acceptance.scenarioAcceptance },
  1: { title: firstBackup.title, run: firstBackup.scenarioFirstBackup },
  2: { title: unchanged.title, run: unchanged.scenarioUnchanged },
  3: { title: oneCommit.title, run: oneCommit.scenarioOneCommit },
  4: { title: verifyRestore.title, run: verifyRestore.scenarioVerifyRestore },
  5: { title: prune.title, run: prune.scenarioPrune },
  6: { title: manyRepos.title, run: manyRepos.scenarioManyRepos },
  7: { title: files.title, run: files.scenarioFiles },
};
