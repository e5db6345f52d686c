import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../util/errors.js';
import { addSecret } from '../util/secrets.js';

/** One repository to back up, resolved from what the user wrote in `repositories`. */
export interface Source {
  /** What the user wrote. */
  spec: string;
  /** Where its snapshots live in the store: `github.com/owner/repo`, `gitlab.com/group/sub/repo`, `local/name`. */
  name: string;
  /** Clone URL or path, never with credentials in it. */
  url: string;
  owner: string;
  repo: string;
  /** Credentials embedded in the URL the user gave (stripped from `url`), sent as a header instead. */
  urlCredentials?: { username: string; password: string };
}

const OWNER_NAME = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;
const SCP_LIKE = /^[\w.-]+@([\w.-]+):(.+)$/;

export function resolveSource(spec: string, serverUrl: string): Source {
  const trimmed = spec.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) return fromUrl(trimmed);
  const scp = SCP_LIKE.exec(trimmed);
  if (scp) return named(trimmed, trimmed, scp[1], scp[2]);
  if (OWNER_NAME.test(trimmed) && !existsSync(trimmed)) {
    const host = new URL(serverUrl).host;
    const ownerName = trimmed.replace(/\.git$/, '');
    return named(trimmed, `${serverUrl.replace(/\/+$/, '')}/${ownerName}.git`, host, ownerName);
  }
  if (existsSync(trimmed)) {
    const full = path.resolve(trimmed);
    return named(trimmed, full, 'local', path.basename(full));
  }
  throw new InputError(
    'repositories',
    `"${trimmed}" is neither owner/name, a git URL, nor an existing local path. Fix or remove that line.`,
  );
}

function fromUrl(spec: string): Source {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw new InputError('repositories', `"${spec}" is not a valid URL. Fix or remove that line.`);
  }
  if (url.protocol === 'file:') {
    const file = localPath(url);
    return named(spec, file, 'local', path.basename(file));
  }
  // Credentials in the URL (https://user:token@host/..., or a token as the user name) are taken out
  // of it and sent as a header, so they never reach a log, a manifest or the mirror's .git/config.
  let urlCredentials: Source['urlCredentials'];
  if (url.username || url.password) {
    urlCredentials = {
      username: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
    };
    if (url.password) [url.password, urlCredentials.password].forEach(addSecret);
    else [url.username, urlCredentials.username].forEach(addSecret);
    url.username = '';
    url.password = '';
  }
  const clean = url.toString();
  return { ...named(clean, clean, url.host, url.pathname), urlCredentials };
}

function localPath(url: URL): string {
  try {
    return fileURLToPath(url);
  } catch {
    throw new InputError('repositories', `"${url}" is not a local file URL: write file:///absolute/path.`);
  }
}

function named(spec: string, url: string, host: string, repoPath: string): Source {
  const segments = repoPath
    .replace(/\.git\/?$/, '')
    .split('/')
    .filter((segment) => segment !== '');
  const safe = [host.replace(/:/g, '_'), ...segments].map((segment) =>
    segment.replace(/[^A-Za-z0-9._-]/g, '_'),
  );
  if (segments.length === 0 || safe.some((segment) => segment === '.' || segment === '..')) {
    throw new InputError(
      'repositories',
      `"${spec}" does not name a repository. Write owner/name or a full URL.`,
    );
  }
  const repo = safe[safe.length - 1];
  const owner = safe.length > 2 ? safe[safe.length - 2] : safe[0];
  return { spec, name: safe.join('/'), url, owner, repo };
}
