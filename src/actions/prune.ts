import * as core from '@actions/core';
import { runPrune } from '../commands/prune.js';
import { pruneSummary } from '../report/step-summaries.js';
import { type PruneSettings, readPruneSettings } from '../settings/prune.js';
import type { SnapshotKind } from '../snapshot/manifest.js';
import { actionInput } from './run.js';

/** The `prune` action: retention per repository; outputs the decisions as JSON. */
export async function pruneAction(): Promise<void> {
  await runPruneStep(readPruneSettings(actionInput));
}

/** Prunes, sets the outputs and writes the summary. */
export async function runPruneStep(settings: PruneSettings, kinds?: SnapshotKind[]): Promise<void> {
  const results = await runPrune(settings, undefined, kinds);
  const units = results.flatMap((result) => result.units);
  core.setOutput('removed', String(results.reduce((sum, result) => sum + result.snapshotsRemoved, 0)));
  core.setOutput('kept', String(units.reduce((sum, unit) => sum + unit.kept, 0)));
  core.setOutput('bytes-freed', String(results.reduce((sum, result) => sum + result.bytesFreed, 0)));
  core.setOutput('decisions', JSON.stringify(units));
  await core.summary.addRaw(pruneSummary(results)).write();
}
