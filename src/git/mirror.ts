import { existsSync, type Stats } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { errorMessage, RepositoryError } from '../util/errors.js';
import * as log from '../log/log.js';
import { addSecret } from '../util/secrets.js';
import { configEnvironment, git, GitError } from './git.js';
import type { Source } from './source.js';

export interface GitAuth {
  /** URL prefix the token is sent to, e.g. `https://github.com/`; never to any other host. */
  serverUrl: string;
  token?: string;
}

export interface RefState {
  /** Full ref name → object id, as `git for-each-ref` lists them. */
  refs: Record<string, string>;
  /** Where HEAD points (`refs/heads/main`), or null when detached or unknown. */
  head: string | null;
  objectFormat: string;
}

/**
 * `http.<url>.extraheader` for the one host the credentials belong to, or nothing. Given to git
 * through GIT_CONFIG_* variables, so the token is never on a command line, in a URL, or in `.git/config`.
 */
function authConfig(source: Source, auth: GitAuth): Array<[string, string]> {
  let scope: string;
  let basic: string;
  if (source.urlCredentials) {
    scope = source.url;
    basic = `${source.urlCredentials.username}:${source.urlCredentials.password}`;
  } else if (auth.token && source.url.startsWith(auth.serverUrl.replace(/\/*$/, '/'))) {
    scope = auth.serverUrl.replace(/\/*$/, '/');
    basic = `x-access-token:${auth.token}`;
  } else {
    return [];
  }
  const encoded = Buffer.from(basic).toString('base64');
  addSecret(encoded);
  return [[`http.${scope}.extraheader`, `AUTHORIZATION: basic ${encoded}`]];
}

/** The environment that authenticates git to `source`'s host (empty when there is nothing to send). */
export function authEnvironment(source: Source, auth: GitAuth): NodeJS.ProcessEnv {
  return configEnvironment(authConfig(source, auth));
}

/** Git's automatic housekeeping in the foreground: a detached `gc` would race with bundle and cache. */
const FOREGROUND_MAINTENANCE: Array<[string, string]> = [
  ['gc.autoDetach', 'false'],
  ['maintenance.autoDetach', 'false'],
];

/** The folder of one repository's mirror below the mirror root. */
export function mirrorPath(mirrorRoot: string, source: Source): string {
  return path.join(mirrorRoot, ...source.name.split('/')) + '.git';
}

/**
 * Brings the mirror up to date: `clone --mirror` the first time, `fetch --prune` after that (the
 * mirror may come from the cache of an earlier run). A mirror that cannot be fetched into, or holds
 * no ref, is cloned afresh. A failed clone leaves no folder behind. Call it under `withMirrorLock`.
 */
export async function updateMirror(
  source: Source,
  dir: string,
  auth: GitAuth,
): Promise<'cloned' | 'fetched'> {
  const env = configEnvironment([...authConfig(source, auth), ...FOREGROUND_MAINTENANCE]);
  try {
    let how: 'cloned' | 'fetched' = 'fetched';
    if (await hasRefs(dir)) {
      try {
        await git(['remote', 'set-url', 'origin', source.url], { cwd: dir });
        await git(['fetch', '--prune', '--quiet', 'origin'], { cwd: dir, env });
        await followRemoteHead(dir, env);
      } catch (error) {
        if (isAccessProblem(error)) throw error;
        log.warning(
          `${source.spec}: the mirror could not be updated (${errorMessage(error)}); cloning afresh`,
        );
        how = 'cloned';
      }
    } else {
      how = 'cloned';
    }
    if (how === 'cloned') await cloneMirror(source, dir, env);
    if ((await git(['rev-parse', '--is-shallow-repository'], { cwd: dir })).trim() === 'true') {
      throw new RepositoryError(
        source.spec,
        `Input "repositories": ${source.spec} is a shallow clone, so its history cannot be backed up. ` +
          'Back up the remote repository instead, or check it out with fetch-depth: 0.',
      );
    }
    return how;
  } catch (error) {
    throw explainFetchError(source, error);
  }
}

/** True for a mirror with at least one ref (an empty one is re-cloned: cheap, and it fixes its hash format). */
async function hasRefs(dir: string): Promise<boolean> {
  if (!existsSync(path.join(dir, 'HEAD'))) return false;
  return (await git(['for-each-ref', '--count=1'], { cwd: dir }).catch(() => '')) !== '';
}

async function cloneMirror(source: Source, dir: string, env: NodeJS.ProcessEnv): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(path.dirname(dir), { recursive: true });
  const temp = `${dir}.cloning-${randomBytes(4).toString('hex')}`;
  try {
    await git(['clone', '--mirror', '--quiet', source.url, temp], { env });
    await fs.rename(temp, dir);
  } finally {
    await fs.rm(temp, { recursive: true, force: true });
  }
}

const LOCK_WAIT_MS = 10 * 60 * 1000;

/**
 * Only one run at a time may use a mirror folder (overlapping cron jobs, a persistent mirror-dir on a
 * self-hosted runner): a fetch between reading the refs and bundling would make the manifest lie.
 * The lock file holds the owner's pid; a lock whose owner is gone is taken over.
 */
export async function withMirrorLock<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const lock = `${dir}.lock`;
  await fs.mkdir(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await fs.writeFile(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (await isStale(lock)) {
      await fs.rm(lock, { force: true });
      continue;
    }
    if (Date.now() > deadline)
      throw new Error(`another backup has been using ${dir} for over 10 minutes (${lock})`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  try {
    return await work();
  } finally {
    await fs.rm(lock, { force: true });
  }
}

async function isStale(lock: string): Promise<boolean> {
  let text: string;
  let stat: Stats;
  try {
    [text, stat] = await Promise.all([fs.readFile(lock, 'utf8'), fs.stat(lock)]);
  } catch {
    return false; // just released: try again
  }
  const pid = Number(text);
  if (!pid) return Date.now() - stat.mtimeMs > 10_000; // an owner killed before it wrote its pid
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** `fetch` never moves a mirror's HEAD; follow the remote's default branch if it changed since the clone. */
async function followRemoteHead(dir: string, env: NodeJS.ProcessEnv): Promise<void> {
  const listing = await git(['ls-remote', '--symref', 'origin', 'HEAD'], { cwd: dir, env });
  const remoteHead = /^ref: (refs\/\S+)\tHEAD$/m.exec(listing)?.[1];
  if (remoteHead) await git(['symbolic-ref', 'HEAD', remoteHead], { cwd: dir });
}

const DENIED =
  /Authentication failed|could not read Username|terminal prompts disabled|403|401|Permission denied|Invalid username or password/i;
const MISSING = /not found|does not exist|does not appear to be a git repository|404|No such file/i;

/** Access denied or repository missing: a fresh clone would not help. */
function isAccessProblem(error: unknown): boolean {
  return error instanceof GitError && (DENIED.test(error.stderr) || MISSING.test(error.stderr));
}

function explainFetchError(source: Source, error: unknown): Error {
  if (!(error instanceof GitError)) return error as Error;
  if (isAccessProblem(error)) {
    const what = DENIED.test(error.stderr) ? 'access was denied' : 'the repository was not found';
    return new RepositoryError(
      source.spec,
      `Input "repositories": cannot read ${source.spec}: ${what}. Check the name, and that the token ` +
        `(input "token") can read it: a GITHUB_TOKEN reads only its own repository; for others give a ` +
        `token with contents:read on them.`,
    );
  }
  return new RepositoryError(source.spec, `cannot fetch ${source.spec}: ${error.message}`);
}

export async function readRefs(dir: string): Promise<RefState> {
  const listing = await git(['for-each-ref', '--format=%(objectname) %(refname)'], { cwd: dir });
  const refs: Record<string, string> = {};
  for (const line of listing.split('\n')) {
    if (!line) continue;
    const space = line.indexOf(' ');
    refs[line.slice(space + 1)] = line.slice(0, space);
  }
  const head = await git(['symbolic-ref', '-q', 'HEAD'], { cwd: dir }).then(
    (out) => out.trim() || null,
    () => null,
  );
  const objectFormat = (await git(['rev-parse', '--show-object-format'], { cwd: dir })).trim();
  return { refs, head, objectFormat };
}

/** True when both list the same refs at the same objects and HEAD points to the same place. */
export function sameRefs(a: RefState, b: RefState): boolean {
  const keysA = Object.keys(a.refs);
  if (keysA.length !== Object.keys(b.refs).length || a.head !== b.head) return false;
  return keysA.every((ref) => a.refs[ref] === b.refs[ref]);
}
