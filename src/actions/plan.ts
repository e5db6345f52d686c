import * as core from '@actions/core';
import * as log from '../log/log.js';
import { runPlan } from '../commands/plan.js';
import { planSummary } from '../report/step-summaries.js';
import { readPlanSettings } from '../settings/plan.js';
import { actionInput } from './run.js';

/** GitHub keeps at most 1 MB of outputs per job; more and the matrix would be dropped. */
const MAX_OUTPUTS = 1024 * 1024;

/** The `plan` action: a repository set → a matrix of shards for a reusable backup workflow. */
export async function planAction(): Promise<void> {
  const plan = await runPlan(readPlanSettings(actionInput));
  const outputs: Record<string, string> = {
    matrix: JSON.stringify(plan.matrix),
    count: String(plan.repositories.length),
    shards: String(plan.shards.length),
    repositories: plan.repositories.join('\n'),
  };
  for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value);
  const size = Object.values(outputs).reduce((sum, value) => sum + Buffer.byteLength(value), 0);
  if (size > MAX_OUTPUTS) {
    log.warning(
      `The outputs take ${size} bytes, over GitHub's 1 MB per job: split the repositories over several plan jobs.`,
    );
  }
  for (const shard of plan.shards) {
    const names = shard.repositories.split('\n');
    log.info(`shard ${shard.shard}: ${shard.count} (${names[0]} … ${names[names.length - 1]})`);
  }
  await core.summary.addRaw(planSummary(plan)).write();
}
