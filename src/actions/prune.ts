import * as core from '@actions/core';
import type { InputReader } from '../settings/backup.js';
import { pruneSummary, runPrune } from '../commands/prune.js';
import type { SnapshotKind } from '../snapshot/manifest.js';

/** The `prune` action: retention per repository; outputs the decisions as JSON. */
export async function pruneAction(): Promise<void> {
  await runPruneStep((name) => core.getInput(name));
}

/** Prunes, sets the outputs and writes the summary. */
export async function runPruneStep(read: InputReader, kinds?: SnapshotKind[]): Promise<void> {
  const results = await runPrune(read, undefined, kinds);
  const units = results.flatMap((result) => result.units);
  core.setOutput('removed', String(results.reduce((sum, result) => sum + result.snapshotsRemoved, 0)));
  core.setOutput('kept', String(units.reduce((sum, unit) => sum + unit.kept, 0)));
  core.setOutput('bytes-freed', String(results.reduce((sum, result) => sum + result.bytesFreed, 0)));
  core.setOutput('decisions', JSON.stringify(units));
  await core.summary.addRaw(pruneSummary(results)).write();
}
