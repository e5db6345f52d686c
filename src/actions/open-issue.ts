import * as core from '@actions/core';
import { runIssueOnFailure } from '../github/issues.js';
import { readIssueSettings } from '../settings/open-issue.js';
import { actionInput } from './run.js';
import * as log from '../log/log.js';

/** The `open-issue-on-failure` action: one open issue per failing workflow, closed on recovery. */
export async function openIssueAction(): Promise<void> {
  const result = await runIssueOnFailure(readIssueSettings(actionInput));
  core.setOutput('issue-number', String(result.issueNumber ?? ''));
  core.setOutput('action', result.action);
  if (result.issueUrl) log.info(`${result.action} ${result.issueUrl}`);
}
