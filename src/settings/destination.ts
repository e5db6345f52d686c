import { InputError } from '../util/errors.js';
import { addSecret } from '../util/secrets.js';
import { type StorageSettings, validateDestination } from '../store/destination.js';
import { boolean, type InputReader, required, serverUrlOf } from './inputs.js';

/** Where snapshots are: the destination (placeholders unresolved) and how to reach its storage. */
export interface StoreSettings {
  /** `destination` as given, validated; {owner}/{repo} are resolved per repository. */
  destination: string;
  storage: StorageSettings;
  /** The GitHub server that owner/name is resolved against when finding a repository's snapshots. */
  serverUrl: string;
}

/** `destination` and the storage inputs (endpoint, credentials, region, R2), validated. */
export function readStoreSettings(read: InputReader, env: NodeJS.ProcessEnv = process.env): StoreSettings {
  const destination = required(read, 'destination');
  validateDestination(destination);
  return { destination, storage: readStorageSettings(read), serverUrl: serverUrlOf(env) };
}

function readStorageSettings(read: InputReader): StorageSettings {
  const endpoint = read('endpoint');
  if (endpoint && !isHttpUrl(endpoint)) {
    throw new InputError(
      'endpoint',
      `"${endpoint}" is not an http(s) URL. Example: https://s3.us-west-004.backblazeb2.com`,
    );
  }
  const r2AccountId = read('r2-account-id');
  addSecret(r2AccountId);
  if (r2AccountId && !/^[0-9a-f]{32}$/.test(r2AccountId)) {
    throw new InputError(
      'r2-account-id',
      'must be the 32 hexadecimal characters shown in the Cloudflare dashboard.',
    );
  }
  const r2Jurisdiction = (read('r2-jurisdiction') || 'default') as StorageSettings['r2Jurisdiction'];
  if (!['default', 'eu', 'fedramp'].includes(r2Jurisdiction!)) {
    throw new InputError('r2-jurisdiction', `"${r2Jurisdiction}" is not one of default, eu, fedramp.`);
  }
  const accessKeyId = read('access-key-id');
  const secretAccessKey = read('secret-access-key');
  const sessionToken = read('session-token');
  [accessKeyId, secretAccessKey, sessionToken].forEach(addSecret);
  if (Boolean(accessKeyId) !== Boolean(secretAccessKey)) {
    throw new InputError(
      accessKeyId ? 'secret-access-key' : 'access-key-id',
      'access-key-id and secret-access-key go together: give both, or neither to use the AWS environment.',
    );
  }
  if (sessionToken && !accessKeyId) {
    throw new InputError(
      'session-token',
      'belongs to the temporary access-key-id and secret-access-key it was issued with: give all three, or none to use the AWS environment.',
    );
  }
  const region = read('region');
  // AWS (eu-west-1), R2 (auto), B2 (us-west-004), MinIO (any such name): letters, digits and dashes.
  if (region && !/^[a-z0-9]+(-[a-z0-9]+)*$/.test(region)) {
    throw new InputError(
      'region',
      `"${region}" is not a region name. Examples: eu-west-1, us-west-004, auto.`,
    );
  }
  const forcePathStyle = read('force-path-style');
  return {
    region: region || undefined,
    endpoint: endpoint || undefined,
    forcePathStyle: forcePathStyle === '' ? undefined : boolean(read, 'force-path-style', false),
    r2AccountId: r2AccountId || undefined,
    r2Jurisdiction,
    credentials: accessKeyId
      ? { accessKeyId, secretAccessKey, sessionToken: sessionToken || undefined }
      : undefined,
  };
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && !/\s/.test(text);
  } catch {
    return false;
  }
}
