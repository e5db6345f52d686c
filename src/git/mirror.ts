import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { RepositoryError } from '../errors.js';
import { addSecret } from '../secrets.js';
import { git, GitError } from './git.js';
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
 * The environment that gives git an `http.<url>.extraheader` for one host. Passed through
 * GIT_CONFIG_* variables, so the token is never on a command line, in a URL, or in `.git/config`.
 */
export function authEnvironment(source: Source, auth: GitAuth): NodeJS.ProcessEnv {
  let scope: string;
  let basic: string;
  if (source.urlCredentials) {
    scope = source.url;
    basic = `${source.urlCredentials.username}:${source.urlCredentials.password}`;
  } else if (auth.token && source.url.startsWith(auth.serverUrl.replace(/\/*$/, '/'))) {
    scope = auth.serverUrl.replace(/\/*$/, '/');
    basic = `x-access-token:${auth.token}`;
  } else {
    return {};
  }
  const encoded = Buffer.from(basic).toString('base64');
  addSecret(encoded);
  return {
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: `http.${scope}.extraheader`,
    GIT_CONFIG_VALUE_0: `AUTHORIZATION: basic ${encoded}`,
  };
}

/** The folder of one repository's mirror below the mirror root. */
export function mirrorPath(mirrorRoot: string, source: Source): string {
  return path.join(mirrorRoot, ...source.name.split('/')) + '.git';
}

/**
 * Brings the mirror up to date: `clone --mirror` the first time, `fetch --prune` after that (the
 * mirror may come from the cache of an earlier run). A failed first clone leaves no folder behind.
 */
export async function updateMirror(
  source: Source,
  dir: string,
  auth: GitAuth,
): Promise<'cloned' | 'fetched'> {
  const env = authEnvironment(source, auth);
  try {
    if (existsSync(path.join(dir, 'HEAD'))) {
      await git(['remote', 'set-url', 'origin', source.url], { cwd: dir });
      await git(['fetch', '--prune', '--quiet', 'origin'], { cwd: dir, env });
      await followRemoteHead(dir, env);
      return 'fetched';
    }
    await fs.mkdir(path.dirname(dir), { recursive: true });
    const temp = `${dir}.cloning`;
    await fs.rm(temp, { recursive: true, force: true });
    try {
      await git(['clone', '--mirror', '--quiet', source.url, temp], { env });
    } catch (error) {
      await fs.rm(temp, { recursive: true, force: true });
      throw error;
    }
    await fs.rename(temp, dir);
    return 'cloned';
  } catch (error) {
    throw explainFetchError(source, error);
  }
}

/** `fetch` never moves a mirror's HEAD; follow the remote's default branch if it changed since the clone. */
async function followRemoteHead(dir: string, env: NodeJS.ProcessEnv): Promise<void> {
  const listing = await git(['ls-remote', '--symref', 'origin', 'HEAD'], { cwd: dir, env });
  const remoteHead = /^ref: (refs\/\S+)\tHEAD$/m.exec(listing)?.[1];
  if (remoteHead) await git(['symbolic-ref', 'HEAD', remoteHead], { cwd: dir });
}

function explainFetchError(source: Source, error: unknown): Error {
  if (!(error instanceof GitError)) return error as Error;
  const stderr = error.stderr;
  const denied =
    /Authentication failed|could not read Username|terminal prompts disabled|403|401|Permission denied|Invalid username or password/i;
  const missing = /not found|does not exist|does not appear to be a git repository|404|No such file/i;
  if (denied.test(stderr) || missing.test(stderr)) {
    const what = denied.test(stderr) ? 'access was denied' : 'the repository was not found';
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
