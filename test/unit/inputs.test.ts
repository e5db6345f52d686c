import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { resolveSource } from '../../src/git/source.js';
import { readBackupSettings } from '../../src/settings/backup.js';
import { parseList } from '../../src/settings/inputs.js';
import { parseDestination, resolvePlaceholders, validateDestination } from '../../src/store/destination.js';
import { inputErrorOf, reader } from '../support/helpers.js';

describe('destination', () => {
  test('parses s3, r2, file URLs and folders', () => {
    expect(parseDestination('s3://my-bucket/a/b/')).toEqual({
      kind: 's3',
      bucket: 'my-bucket',
      prefix: 'a/b',
      url: 's3://my-bucket/a/b',
    });
    expect(parseDestination('r2://bucket')).toMatchObject({ kind: 'r2', bucket: 'bucket', prefix: '' });
    expect(parseDestination('file:///srv/backups')).toEqual({ kind: 'local', path: '/srv/backups' });
    expect(parseDestination('/srv/backups')).toEqual({ kind: 'local', path: '/srv/backups' });
  });

  test.each([
    ['gs://bucket/x', /unknown scheme "gs:\/\/"/],
    ['s3:///prefix', /no bucket/],
    ['s3://Bad_Bucket/x', /not a valid bucket name/],
    ['s3://bucket/a/../b', /"\.\." segment/],
    ['s3://{team}-backups', /unknown placeholder \{team\}/],
    ['', /is empty/],
  ])('rejects %j naming the input', (destination, message) => {
    const error = inputErrorOf(() => validateDestination(destination));
    expect(error.input).toBe('destination');
    expect(error.message).toMatch(message);
  });

  test('placeholders give per-owner buckets: bucket-safe in the bucket, as they are in the prefix', () => {
    expect(resolvePlaceholders('s3://{owner}-backups/{repo}', { owner: 'My_Org', repo: 'API' })).toBe(
      's3://my-org-backups/API',
    );
    expect(resolvePlaceholders('r2://bk-{repo}/x', { owner: 'octo', repo: '.github' })).toBe(
      'r2://bk-github/x',
    );
    expect(resolvePlaceholders('/srv/{owner}/{repo}', { owner: 'Octo', repo: 'a.b' })).toBe('/srv/Octo/a.b');
  });

  test('R2 bucket names have no dots', () => {
    expect(inputErrorOf(() => parseDestination('r2://my.bucket/x')).message).toMatch(
      /not a valid R2 bucket name/,
    );
  });
});

describe('repositories', () => {
  test('owner/name resolves on the GitHub server', () => {
    expect(resolveSource('octo/hello-world', 'https://github.com')).toMatchObject({
      name: 'github.com/octo/hello-world',
      url: 'https://github.com/octo/hello-world.git',
      owner: 'octo',
      repo: 'hello-world',
    });
  });

  test('URLs keep their host and path; credentials in them are stripped', () => {
    const source = resolveSource(
      'https://user:s3cret-pass@gitlab.example.com/group/sub/proj.git',
      'https://github.com',
    );
    expect(source.name).toBe('gitlab.example.com/group/sub/proj');
    expect(source.url).toBe('https://gitlab.example.com/group/sub/proj.git');
    expect(source.urlCredentials).toEqual({ username: 'user', password: 's3cret-pass' });
    expect(JSON.stringify({ ...source, urlCredentials: undefined })).not.toContain('s3cret-pass');
    expect(resolveSource('git@github.com:octo/repo.git', 'https://github.com').name).toBe(
      'github.com/octo/repo',
    );
  });

  test('owner/name.git, a token as the URL user name, and file URLs with escapes', () => {
    expect(resolveSource('octo/repo.git', 'https://github.com').url).toBe('https://github.com/octo/repo.git');
    const tokenAsUser = resolveSource('https://ghp_tokenAsUser123@github.com/o/r.git', 'https://github.com');
    expect(tokenAsUser.url).toBe('https://github.com/o/r.git');
    expect(tokenAsUser.urlCredentials).toEqual({ username: 'ghp_tokenAsUser123', password: '' });
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'my repo '));
    expect(resolveSource(pathToFileURL(folder).href, 'https://github.com').url).toBe(folder);
  });

  test('two different repositories stored under one name are refused', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'same-name-'));
    const [a, b] = ['a', 'b'].map((side) => path.join(root, side, 'project'));
    [a, b].forEach((dir) => fs.mkdirSync(dir, { recursive: true }));
    const error = inputErrorOf(() =>
      readBackupSettings(reader({ destination: '/tmp/x', repositories: `${a}\n${b}` }), {}),
    );
    expect(error.message).toMatch(/would both be stored as local\/project/);
    // The same repository twice is simply backed up once.
    const settings = readBackupSettings(reader({ destination: '/tmp/x', repositories: `${a}\n${a}` }), {});
    expect(settings.sources).toHaveLength(1);
  });

  test('a line that names nothing is an input error', () => {
    expect(inputErrorOf(() => resolveSource('not a repo', 'https://github.com')).input).toBe('repositories');
  });

  test('lists split on lines and commas and drop comments', () => {
    expect(parseList('a/b\n  c/d , e/f # old\n# all commented\n')).toEqual(['a/b', 'c/d', 'e/f']);
  });
});

describe('backup settings', () => {
  const valid = { destination: '/tmp/x', repositories: 'octo/repo' };

  test('defaults', () => {
    const settings = readBackupSettings(reader(valid), {});
    expect(settings.options).toMatchObject({ force: false, concurrency: 4, cacheMirrors: true, tags: [] });
    expect(settings.sources.map((source) => source.name)).toEqual(['github.com/octo/repo']);
  });

  test('the workflow repository is the default', () => {
    expect(
      readBackupSettings(reader({ destination: '/tmp/x' }), { GITHUB_REPOSITORY: 'o/r' }).sources.map(
        (s) => s.spec,
      ),
    ).toEqual(['o/r']);
  });

  test.each([
    [{ concurrency: '0' }, 'concurrency', /whole number from 1 to 64/],
    [{ concurrency: 'many' }, 'concurrency', /whole number/],
    [{ force: 'yes' }, 'force', /not a boolean/],
    [{ 'cache-mirrors': 'maybe' }, 'cache-mirrors', /not a boolean/],
    [{ tags: 'ok, not ok' }, 'tags', /not a valid tag/],
    [{ endpoint: 'minio:9000' }, 'endpoint', /not an http\(s\) URL/],
    [{ 'r2-account-id': 'xyz' }, 'r2-account-id', /32 hexadecimal/],
    [{ 'r2-jurisdiction': 'moon' }, 'r2-jurisdiction', /not one of/],
    [{ 'access-key-id': 'AKIAEXAMPLE' }, 'secret-access-key', /go together/],
    [{ destination: '' }, 'destination', /is required/],
    [{ repositories: '' }, 'repositories', /is empty/],
  ])('%j is rejected', (override, input, message) => {
    const error = inputErrorOf(() => readBackupSettings(reader({ ...valid, ...override }), {}));
    expect(error.input).toBe(input);
    expect(error.message).toMatch(message);
    expect(error.message).toContain(`Input "${input}"`);
  });
});
