import { InputError } from '../util/errors.js';
import * as log from '../log/log.js';
import { redact } from '../util/secrets.js';
import {
  type Api,
  type ApiOptions,
  createClient,
  DEFAULT_API,
  headerOf,
  messageOf,
  type Octokit,
  statusOf,
} from './client.js';

export type { ApiOptions };

export type RepositoryVisibility = 'public' | 'private' | 'internal';

/** One repository of an owner, as the listing endpoints describe it. */
export interface OwnerRepository {
  /** owner/name, as GitHub spells it. */
  fullName: string;
  name: string;
  owner: string;
  archived: boolean;
  fork: boolean;
  /** Disabled repositories (e.g. by billing or a takedown) cannot be cloned. */
  disabled: boolean;
  visibility: RepositoryVisibility;
}

export interface ListSettings {
  /** An organization or a user. */
  owner: string;
  /** Registered as a secret by the caller; never written anywhere. */
  token: string;
  /** GITHUB_API_URL, without a trailing slash. */
  apiUrl: string;
}

/** 100 repositories a page: a listing that never ends is a broken API, not 100,000 repositories. */
const MAX_PAGES = 1000;
const NEEDED =
  "a token that can read the organization's repositories: a fine-grained personal access token or a GitHub App token with the metadata: read permission on them";

/**
 * Every repository of an organization, or else of a user: `GET /orgs/{owner}/repos` first; its 404
 * means no such organization, so the user's. The token's own user is listed through `/user/repos`,
 * the only listing that includes that user's private repositories.
 */
export async function listOwnerRepositories(
  settings: ListSettings,
  options: ApiOptions = {},
): Promise<OwnerRepository[]> {
  const api = { ...DEFAULT_API, ...options };
  const octokit = createClient(settings.token, settings.apiUrl, api, 'plan');
  const { owner } = settings;
  try {
    return await listPages(octokit, 'GET /orgs/{org}/repos', { org: owner, type: 'all' });
  } catch (error) {
    if (statusOf(error) !== 404) throw apiError(error, `organization "${owner}"`, settings, api);
  }
  try {
    const login = await authenticatedLogin(octokit);
    if (login?.toLowerCase() === owner.toLowerCase()) {
      log.info(`${owner} is not an organization but the token's own user: listing all its repositories.`);
      return await listPages(octokit, 'GET /user/repos', { affiliation: 'owner', visibility: 'all' });
    }
    log.info(
      `${owner} is not an organization: listing the user's repositories (only public ones, as the token is not ${owner}'s).`,
    );
    return await listPages(octokit, 'GET /users/{username}/repos', { username: owner, type: 'owner' });
  } catch (error) {
    throw apiError(error, `user "${owner}"`, settings, api);
  }
}

/** The token's login; undefined for tokens without a user (GitHub App installations answer 403). */
async function authenticatedLogin(octokit: Octokit): Promise<string | undefined> {
  try {
    return (await octokit.request('GET /user')).data.login;
  } catch (error) {
    const status = statusOf(error);
    if (status === 403 || status === 404) return undefined;
    throw error;
  }
}

interface RawRepository {
  full_name: string;
  name: string;
  owner?: { login?: string } | null;
  archived?: boolean;
  fork: boolean;
  disabled?: boolean;
  private: boolean;
  visibility?: string;
}

async function listPages(
  octokit: Octokit,
  route: 'GET /orgs/{org}/repos' | 'GET /user/repos' | 'GET /users/{username}/repos',
  parameters: Record<string, string>,
): Promise<OwnerRepository[]> {
  let pages = 0;
  const items = await octokit.paginate(route, { ...parameters, per_page: 100 }, (response) => {
    if (++pages > MAX_PAGES) {
      throw new Error(
        `${route} went on for more than ${MAX_PAGES} pages: the API is not answering properly.`,
      );
    }
    return response.data as RawRepository[];
  });
  return items.map(toRepository);
}

function toRepository(raw: RawRepository): OwnerRepository {
  const visibility =
    raw.visibility === 'public' || raw.visibility === 'private' || raw.visibility === 'internal'
      ? raw.visibility
      : raw.private
        ? 'private'
        : 'public';
  return {
    fullName: raw.full_name,
    name: raw.name,
    owner: raw.owner?.login ?? raw.full_name.split('/')[0],
    archived: raw.archived === true,
    fork: raw.fork === true,
    disabled: raw.disabled === true,
    visibility,
  };
}

/** A failed listing as an error that says what to fix, without the token. */
function apiError(error: unknown, what: string, settings: ListSettings, api: Api): Error {
  const status = statusOf(error);
  if (status === undefined) return error instanceof Error ? error : new Error(String(error));
  const message = messageOf(error);
  const answered = `GitHub answered ${status} "${message}" when listing the repositories of ${what}`;
  if (status === 401) {
    return new InputError(
      'token',
      redact(`is not valid (expired, revoked or mistyped): ${answered}. Pass ${NEEDED}.`),
    );
  }
  if ((status === 403 || status === 429) && /rate limit/i.test(message)) {
    return new Error(
      redact(`${answered}, after up to ${api.rateLimitRetries} retries. Run the workflow again later.`),
    );
  }
  if (status === 403) {
    const accepted = headerOf(error, 'x-accepted-github-permissions');
    return new InputError(
      'token',
      redact(
        `may not read the repositories of ${settings.owner}: ${answered}. Pass ${NEEDED}${/SAML/i.test(message) ? ', authorized for SAML single sign-on' : ''}.${accepted ? ` GitHub asks for: ${accepted}.` : ''}`,
      ),
    );
  }
  if (status === 404) {
    return new InputError(
      'organization',
      redact(
        `no organization or user "${settings.owner}" is visible to the token (${answered}). Check the name, or pass in "token" ${NEEDED}.`,
      ),
    );
  }
  if (status >= 500 || status === 0) {
    return new Error(redact(`${answered}, also after ${api.retries} retries. Run the workflow again later.`));
  }
  return new Error(redact(`${answered}.`));
}
