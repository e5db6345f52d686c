import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../util/errors.js';
import { LocalStore } from './local-store.js';
import { S3Store } from './s3-store.js';
import type { Store } from './store.js';

export type Destination =
  { kind: 'local'; path: string } | { kind: 's3' | 'r2'; bucket: string; prefix: string; url: string };

/** How to reach object storage; shared by every destination of a run. */
export interface StorageSettings {
  region?: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  r2AccountId?: string;
  r2Jurisdiction?: 'default' | 'eu' | 'fedramp';
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

export interface PlaceholderValues {
  owner: string;
  repo: string;
}

const PLACEHOLDER = /\{([^}]*)\}/g;
const KNOWN_PLACEHOLDERS = ['owner', 'repo'];
// S3's bucket naming rules (R2 and B2 are stricter subsets in practice).
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const R2_BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

/** Validates a destination template once, before any work, with sample placeholder values. */
export function validateDestination(template: string): void {
  if (!template.trim()) {
    throw new InputError('destination', 'is empty. Give s3://bucket/prefix, r2://bucket/prefix or a folder.');
  }
  for (const [, name] of template.matchAll(PLACEHOLDER)) {
    if (!KNOWN_PLACEHOLDERS.includes(name)) {
      throw new InputError(
        'destination',
        `unknown placeholder {${name}}. Only {owner} and {repo} are replaced.`,
      );
    }
  }
  parseDestination(resolvePlaceholders(template, { owner: 'owner', repo: 'repo' }));
}

/**
 * Fills in {owner} and {repo}. In a bucket name they are made bucket-safe (lower case, runs of other
 * characters as one hyphen: `octo/.github` gives `github`); in the prefix they are kept as they are.
 */
export function resolvePlaceholders(template: string, values: PlaceholderValues): string {
  const fill = (text: string, transform: (value: string) => string) =>
    text.replace(PLACEHOLDER, (_, name: keyof PlaceholderValues) => transform(values[name]));
  const scheme = /^(s3|r2):\/\//i.exec(template)?.[0];
  if (!scheme) return fill(template, (value) => value);
  const rest = template.slice(scheme.length);
  const slash = rest.includes('/') ? rest.indexOf('/') : rest.length;
  return scheme + fill(rest.slice(0, slash), bucketSafe) + fill(rest.slice(slash), (value) => value);
}

function bucketSafe(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

export function parseDestination(destination: string): Destination {
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(destination)?.[1]?.toLowerCase();
  if (!scheme) return { kind: 'local', path: path.resolve(destination) };
  if (scheme === 'file') {
    try {
      return { kind: 'local', path: fileURLToPath(destination) };
    } catch {
      throw new InputError(
        'destination',
        `"${destination}" is not a local file URL: write file:///absolute/path.`,
      );
    }
  }
  if (scheme !== 's3' && scheme !== 'r2') {
    throw new InputError(
      'destination',
      `unknown scheme "${scheme}://". Use s3://bucket/prefix (AWS S3, MinIO, B2 with endpoint), ` +
        'r2://bucket/prefix (Cloudflare R2), or a local folder (path or file:///path).',
    );
  }
  const rest = destination.slice(scheme.length + 3);
  const slash = rest.indexOf('/');
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  const prefix = slash === -1 ? '' : rest.slice(slash + 1).replace(/^\/+|\/+$/g, '');
  if (!bucket) {
    throw new InputError(
      'destination',
      `no bucket in "${destination}". Write ${scheme}://<bucket>/<prefix>.`,
    );
  }
  if (scheme === 'r2' && !R2_BUCKET_NAME.test(bucket)) {
    throw new InputError(
      'destination',
      `"${bucket}" is not a valid R2 bucket name: use 3-63 lower-case letters, digits and hyphens.`,
    );
  }
  if (!BUCKET_NAME.test(bucket) || bucket.includes('..')) {
    throw new InputError(
      'destination',
      `"${bucket}" is not a valid bucket name: use 3-63 lower-case letters, digits, dots and hyphens.`,
    );
  }
  if (prefix && prefix.split('/').some((segment) => segment === '..' || segment === '.' || segment === '')) {
    throw new InputError('destination', `the prefix "${prefix}" has an empty, "." or ".." segment.`);
  }
  return { kind: scheme, bucket, prefix, url: `${scheme}://${bucket}${prefix ? `/${prefix}` : ''}` };
}

export function openStore(destination: Destination, storage: StorageSettings): Store {
  if (destination.kind === 'local') return new LocalStore(destination.path);
  const common = {
    bucket: destination.bucket,
    prefix: destination.prefix,
    location: destination.url,
    credentials: storage.credentials,
  };
  if (destination.kind === 'r2') {
    if (!storage.r2AccountId && !storage.endpoint) {
      throw new InputError(
        'r2-account-id',
        'is required for r2:// destinations. Copy the account id from the Cloudflare dashboard (R2 > Overview).',
      );
    }
    const jurisdiction =
      storage.r2Jurisdiction && storage.r2Jurisdiction !== 'default' ? `.${storage.r2Jurisdiction}` : '';
    return new S3Store({
      ...common,
      region: 'auto',
      endpoint: storage.endpoint ?? `https://${storage.r2AccountId}${jurisdiction}.r2.cloudflarestorage.com`,
      forcePathStyle: true,
      endpointInput: storage.endpoint ? 'endpoint' : 'r2-account-id',
    });
  }
  return new S3Store({
    ...common,
    region: storage.region || process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1',
    endpoint: storage.endpoint,
    forcePathStyle: storage.forcePathStyle ?? Boolean(storage.endpoint),
    endpointInput: storage.endpoint ? 'endpoint' : 'region',
  });
}
