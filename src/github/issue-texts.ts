import { createHash } from 'node:crypto';
import { redact } from '../util/secrets.js';

/** What the texts of an issue and its comments say: the workflow, its run and the user's words. */
export interface IssueText {
  workflow: string;
  /** The run's page; undefined when GITHUB_RUN_ID is not set. */
  runUrl?: string;
  runId?: string;
  runAttempt: number;
  /** Extra text for the issue and each comment (e.g. the failing repositories); may be ''. */
  body: string;
  closeOnSuccess: boolean;
  /** sha256 of repository + workflow; marks this workflow's issue in its body. */
  fingerprint: string;
}

/** GitHub rejects bodies over 65536 characters; the user's text gets most of that. */
const MAX_EXTRA_BODY = 60000;

/** The hidden line that identifies this workflow's issue, whatever its title. */
export function fingerprintMarker(fingerprint: string): string {
  return `<!-- backup-action:fingerprint=${fingerprint} -->`;
}

export function issueFingerprint(repository: string, workflow: string): string {
  return createHash('sha256').update(`${repository.toLowerCase()}\n${workflow}`).digest('hex');
}

function runLink(settings: IssueText): string {
  if (!settings.runUrl) return 'a run';
  const attempt = settings.runAttempt > 1 ? `, attempt ${settings.runAttempt}` : '';
  return `[run ${settings.runId}${attempt}](${settings.runUrl})`;
}

/** The user's text, without secrets and short enough for GitHub. */
function extraText(settings: IssueText): string[] {
  if (!settings.body) return [];
  const text = redact(settings.body);
  return [
    '',
    text.length > MAX_EXTRA_BODY
      ? `${text.slice(0, MAX_EXTRA_BODY)}\n\n… (cut at ${MAX_EXTRA_BODY} characters)`
      : text,
  ];
}

export function newIssueText(settings: IssueText): string {
  return [
    fingerprintMarker(settings.fingerprint),
    `The workflow **${settings.workflow}** failed in ${runLink(settings)}.`,
    ...extraText(settings),
    '',
    settings.closeOnSuccess
      ? '_backup-action adds each further failure here as a comment and closes this issue when the workflow succeeds again._'
      : '_backup-action adds each further failure here as a comment._',
  ].join('\n');
}

export function failedAgainText(settings: IssueText, others: Array<{ number: number }>): string {
  const lines = [
    `The workflow **${settings.workflow}** failed again in ${runLink(settings)}.`,
    ...extraText(settings),
  ];
  if (others.length > 0) {
    lines.push(
      '',
      `_${others.map((i) => `#${i.number}`).join(', ')} ${others.length === 1 ? 'is' : 'are'} also open for this workflow. This issue, the oldest, is the one kept up to date: close the others._`,
    );
  }
  return lines.join('\n');
}

export function recoveredText(settings: IssueText): string {
  return `Recovered in ${runLink(settings)}: the workflow **${settings.workflow}** succeeded.`;
}
