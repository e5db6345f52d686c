import * as core from '@actions/core';
import { pruneSummary, runPrune } from '../prune-command.js';

/** The `prune` action: retention per repository; outputs the decisions as JSON. */
export async function pruneAction(): Promise<void> {
  const results = await runPrune((name) => core.getInput(name));
  const units = results.flatMap((result) => result.units);
  core.setOutput('removed', String(results.reduce((sum, result) => sum + result.snapshotsRemoved, 0)));
  core.setOutput('kept', String(units.reduce((sum, unit) => sum + unit.kept, 0)));
  core.setOutput('bytes-freed', String(results.reduce((sum, result) => sum + result.bytesFreed, 0)));
  core.setOutput('decisions', JSON.stringify(units));
  await core.summary.addRaw(pruneSummary(results)).write();
}
