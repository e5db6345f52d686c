import { jest } from '@jest/globals';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backupAll, type BackupOptions } from '../../src/git/backup.js';
import { runCli as cliInProcess } from '../../src/cli.js';
import { InputError } from '../../src/util/errors.js';
import { snapshotFiles } from '../../src/files/backup.js';
import { resolveSource } from '../../src/git/source.js';
import { runRestore } from '../../src/commands/restore.js';
import { readRestoreSettings } from '../../src/settings/restore.js';
import {
  listSnapshots,
  MAX_MANIFEST_BYTES,
  readManifest,
  type SnapshotRef,
} from '../../src/snapshot/catalog.js';
import { isRefName, parseManifest, type SnapshotKind, snapshotPrefix } from '../../src/snapshot/manifest.js';
import { LocalStore } from '../../src/store/local-store.js';
import { S3Store } from '../../src/store/s3-store.js';
import type { Store } from '../../src/store/store.js';
import { type VerifyLevel, verifyStore } from '../../src/verify/checker.js';
import { commitFile, createRichRepository, git, refsOf, tempDir } from '../support/fixtures.js';
import { s3Client } from '../support/helpers.js';
import { runCli } from '../support/run-action.js';
import { writeBundleSnapshot } from '../support/v1-snapshot.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';

// Hostile store content, written behind the store's back (fs, or a plain S3 client) over real snapshots:
// list, verify and restore must each fail with a message naming the snapshot (never a TypeError, never a
// stack trace), restore must write nothing anywhere, and the good snapshots next to the hostile one
// must still list, verify and restore. The engine runs in-process (the fixes are in src/, and dist/ is
// not rebuilt here); one test runs the bundled CLI for what a user sees in a terminal.
const BUCKET = 'hostile';
const MiB = 1024 * 1024;

let s3: S3Server;
let client: S3Client;
let work: string;
const savedEnv = { ...process.env };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** A store, and a way to read and change its objects behind its back. */
interface Backend {
  name: 'local folder' | 'S3';
  store: Store;
  /** The destination and storage inputs, as the restore action and CLI take them. */
  inputs: Record<string, string>;
  cliArgs: string[];
  read(key: string): Promise<Buffer>;
  write(key: string, data: Buffer): Promise<void>;
  remove(key: string): Promise<void>;
  keys(prefix: string): Promise<string[]>;
}

/** The snapshots made in each store: two of each hostile target (the newest is tampered with), one good. */
interface Made {
  victim: { old: string; new: string };
  site: { old: string; new: string };
  good: string;
}

const backends: Backend[] = [];
const made = new Map<string, Made>();

beforeAll(async () => {
  work = tempDir('backup-action-hostile-');
  // A body limit above the manifest limit, to store a manifest larger than any reader will read.
  s3 = await startS3Server({ buckets: [BUCKET], bodyLimit: MAX_MANIFEST_BYTES + 16 * MiB });
  client = s3Client(s3);
  // The in-process CLI takes S3 credentials from the environment, as the bundled one does.
  process.env.AWS_ACCESS_KEY_ID = s3.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = s3.secretAccessKey;

  const victim = createRichRepository(path.join(work, 'repos', 'victim'));
  const good = path.join(work, 'repos', 'good');
  fs.mkdirSync(good, { recursive: true });
  git(good, 'init', '--quiet', '--initial-branch=main');
  commitFile(good, 'README.md', '# good\n');
  const site = path.join(work, 'site');
  fs.mkdirSync(path.join(site, 'public', 'css'), { recursive: true });
  fs.writeFileSync(path.join(site, 'public', 'index.html'), '<h1>hi</h1>\n');
  fs.writeFileSync(path.join(site, 'public', 'css', 'site.css'), 'h1 { color: red }\n');

  const localRoot = path.join(work, 'stores', 'local');
  const localFile = (key: string) => path.join(localRoot, ...key.split('/'));
  backends.push({
    name: 'local folder',
    store: new LocalStore(localRoot),
    inputs: { destination: localRoot },
    cliArgs: ['--to', localRoot],
    read: async (key) => fs.readFileSync(localFile(key)),
    write: async (key, data) => fs.writeFileSync(localFile(key), data),
    remove: async (key) => fs.rmSync(localFile(key)),
    keys: async (prefix) =>
      fs
        .readdirSync(localFile(prefix))
        .map((name) => `${prefix}${name}`)
        .sort(),
  });
  backends.push({
    name: 'S3',
    store: new S3Store({
      bucket: BUCKET,
      prefix: 'h',
      location: `s3://${BUCKET}/h`,
      region: s3.region,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      endpointInput: 'endpoint',
    }),
    inputs: {
      destination: `s3://${BUCKET}/h`,
      endpoint: s3.endpoint,
      'access-key-id': s3.accessKeyId,
      'secret-access-key': s3.secretAccessKey,
    },
    cliArgs: ['--to', `s3://${BUCKET}/h`, '--endpoint', s3.endpoint],
    read: async (key) => {
      const response = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: `h/${key}` }));
      return Buffer.from(await response.Body!.transformToByteArray());
    },
    write: async (key, data) => {
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `h/${key}`, Body: data }));
    },
    remove: async (key) => {
      await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `h/${key}` }));
    },
    keys: async (prefix) => {
      const page = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `h/${prefix}` }));
      return (page.Contents ?? []).map((object) => object.Key!.slice(2)).sort();
    },
  });

  const options: BackupOptions = {
    auth: { serverUrl: 'https://github.com' },
    force: true,
    tags: ['nightly'],
    concurrency: 2,
    mirrorRoot: path.join(work, 'mirrors'),
    cacheMirrors: false,
  };
  const files = { name: 'site', patterns: 'public', baseDir: site, compression: 'gzip' as const, tags: [] };
  for (const backend of backends) {
    const jobs = [victim, good].map((dir) => ({
      source: resolveSource(dir, 'https://github.com'),
      store: backend.store,
    }));
    // The victim is in format 1 (one bundle, as 0.1 wrote): what a reader must refuse is the same in
    // both formats, and format 1 stays readable; format 2's pack parts: hostile-packs.test.ts.
    const victimSource = jobs[0].source;
    const started = Date.now();
    const oldVictim = {
      snapshotId: await writeBundleSnapshot(backend.store, victimSource, victim, {
        now: new Date(started),
        tags: options.tags,
      }),
    };
    const [goodResult] = await backupAll(jobs.slice(1), options);
    const newVictim = {
      snapshotId: await writeBundleSnapshot(backend.store, victimSource, victim, {
        now: new Date(started + 1),
        tags: options.tags,
      }),
    };
    const oldSite = await snapshotFiles(backend.store, files);
    const newSite = await snapshotFiles(backend.store, files);
    made.set(backend.name, {
      victim: { old: oldVictim.snapshotId!, new: newVictim.snapshotId! },
      site: { old: oldSite.snapshotId, new: newSite.snapshotId },
      good: goodResult.snapshotId!,
    });
  }
}, 120_000);

afterAll(async () => {
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
    if (savedEnv[name] === undefined) delete process.env[name];
    else process.env[name] = savedEnv[name];
  }
  client?.destroy();
  await s3?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

const SOURCE: Record<SnapshotKind, string> = { git: 'local/victim', files: 'site' };

/** What each operation must say about the hostile snapshot: 'ok', or a failure matching the pattern. */
interface Expected {
  list: RegExp | 'ok';
  manifest: RegExp | 'ok';
  'read-data': RegExp | 'ok';
  restore: RegExp | 'ok';
}

/** The manifest cannot be used at all: every operation says why. */
const refused = (message: RegExp): Expected => ({
  list: message,
  manifest: message,
  'read-data': message,
  restore: message,
});

/** A valid manifest whose part does not match the stored object. */
const partMismatch = (restore: RegExp): Expected => ({
  list: 'ok',
  manifest: /^has \d+ bytes; the manifest says \d+$/,
  'read-data': /^has \d+ bytes; the manifest says \d+$/,
  restore,
});

/** What a tampering gets: the manifest to edit, and the snapshot folder's key. */
interface Scene {
  manifest: Json;
  folder: string;
  backend: Backend;
  partSize: number;
}

/** Replaces the manifest by what `change` returns (text, bytes, or a value written as JSON). */
type Tampering = (scene: Scene) => Json | string | Buffer | Promise<Json | string | Buffer>;

interface Case {
  name: string;
  kind: SnapshotKind;
  tamper: Tampering;
  expected: Expected;
}

const edit =
  (change: (manifest: Json, scene: Scene) => void): Tampering =>
  (scene) => {
    change(scene.manifest, scene);
    return scene.manifest;
  };
const part = (change: (part: Json, scene: Scene) => void) =>
  edit((manifest, scene) => change(manifest.parts[0], scene));
const refs = (value: Json) =>
  edit((manifest) => {
    manifest.git.refs = value;
  });
const sha1 = 'a'.repeat(40);

/** Names that would land outside the folder (or the target) if a part's name were used as a path. */
const escapingNames = (kind: SnapshotKind): Array<[string, string]> => [
  ['"../../escape"', '../../escape'],
  ['"../../../../../escape-far" (above the work folder)', '../../../../../escape-far'],
  ['"/etc/x" (absolute)', '/etc/x'],
  ['that is absolute, inside the work folder', `WORK/abs-escape-${kind}`],
  ['"a/../../b"', 'a/../../b'],
  ['with a NUL', 'repo\u0000.bundle'],
  ['with backslashes ("..\\..\\escape")', '..\\..\\escape'],
  ['starting with a dot', '.hidden'],
  ['that is empty', ''],
];

const gitCases: Case[] = [
  // Not a manifest at all.
  ['a manifest that is not JSON', () => '{"format": "backup-', /is not valid JSON/],
  ['an empty manifest', () => '', /is not valid JSON/],
  ['a manifest of random bytes', () => randomBytes(4096), /is not valid JSON/],
  [
    'JSON nested a million arrays deep',
    () => '['.repeat(1e6) + ']'.repeat(1e6),
    /not a backup-action manifest/,
  ],
  ['JSON null', () => 'null', /is not a backup-action manifest/],
  ['a JSON array', () => '[]', /is not a backup-action manifest/],
  ['a JSON string', () => '"backup-action-snapshot"', /is not a backup-action manifest/],
  ['a JSON number', () => '42', /is not a backup-action manifest/],
  ['no format', edit((m) => delete m.format), /is not a backup-action manifest/],
  ['an unknown format', edit((m) => (m.format = 'restic-snapshot')), /is not a backup-action manifest/],
  [
    'format version 99',
    edit((m) => (m.formatVersion = 99)),
    /format version 99; this version reads up to 2\. Upgrade/,
  ],
  ['format version "1" (a string)', edit((m) => (m.formatVersion = '1')), /invalid format version "1"/],
  ['format version 0', edit((m) => (m.formatVersion = 0)), /invalid format version 0/],
  ['format version 1.5', edit((m) => (m.formatVersion = 1.5)), /invalid format version 1\.5/],
  ['no format version', edit((m) => delete m.formatVersion), /invalid format version undefined/],
  // Fields missing or of the wrong type.
  ['no id', edit((m) => delete m.id), /is incomplete \(id, kind or parts missing\)/],
  ['no kind', edit((m) => delete m.kind), /is incomplete/],
  ['an unknown kind', edit((m) => (m.kind = 'svn')), /is incomplete/],
  ['no parts', edit((m) => delete m.parts), /is incomplete/],
  ['parts as an object', edit((m) => (m.parts = { 0: m.parts[0] })), /is incomplete/],
  [
    'a part that is null',
    edit((m) => (m.parts = [null])),
    /has a part that is not \{name, type, size, sha256\}/,
  ],
  ['a part that is a string', edit((m) => (m.parts = ['repo.bundle'])), /has a part that is not/],
  ['a part name that is an array', part((p) => (p.name = ['repo.bundle'])), /has a part that is not/],
  ['a part name that is a number', part((p) => (p.name = 123)), /has a part that is not/],
  ['no git section', edit((m) => delete m.git), /is incomplete \(git\.refs missing\)/],
  ['git.refs null', refs(null), /is incomplete \(git\.refs missing\)/],
  ['no url', edit((m) => delete m.url), /has an invalid git\.head or url/],
  [
    'a url that is an option',
    edit((m) => (m.url = '--upload-pack=touch /tmp/x')),
    /invalid git\.head or url/,
  ],
  // Parts: names, sizes, hashes, types.
  ...escapingNames('git').map(([what, name]): [string, Tampering, RegExp] => [
    `a part name ${what}`,
    part((p) => (p.name = name.replace('WORK', work))),
    /names an unsafe part/,
  ]),
  [
    'a part claiming 1e18 bytes',
    part((p) => (p.size = 1e18)),
    /invalid size or sha256 for part repo\.bundle/,
  ],
  ['a part claiming -1 bytes', part((p) => (p.size = -1)), /invalid size or sha256/],
  ['a part claiming 1.5 bytes', part((p) => (p.size = 1.5)), /invalid size or sha256/],
  ['a part size that is a string', part((p) => (p.size = '100')), /invalid size or sha256/],
  ['a part without a size', part((p) => delete p.size), /invalid size or sha256/],
  ['a malformed sha256', part((p) => (p.sha256 = 'xyz')), /invalid size or sha256/],
  ['an upper-case sha256', part((p) => (p.sha256 = p.sha256.toUpperCase())), /invalid size or sha256/],
  ['a part without a sha256', part((p) => delete p.sha256), /invalid size or sha256/],
  ['an unknown part type', part((p) => (p.type = 'zip')), /unknown type or compression; upgrade/],
  ['an unknown compression', part((p) => (p.compression = 'lzma')), /unknown type or compression/],
  // The manifest is of another snapshot than its folder says.
  [
    'an id that disagrees with the folder',
    edit((m) => (m.id = '20200101T000000.000Z-00000000')),
    /names another snapshot \(git "local\/victim" 20200101T000000\.000Z-00000000\)/,
  ],
  [
    'a source that disagrees with the folder',
    edit((m) => (m.source = 'github.com/octo/other')),
    /names another snapshot \(git "github\.com\/octo\/other"/,
  ],
  [
    'a kind that disagrees with the folder',
    edit((m) => Object.assign(m, { kind: 'files', files: { count: 0, bytes: 0 }, parts: [] })),
    /names another snapshot \(files /,
  ],
  [
    'a source 100 kB long',
    edit((m) => (m.source = 'x'.repeat(100_000))),
    /names another snapshot \(git "x{99}… /,
  ],
  // Refs git never writes, and object ids that are not.
  [
    'a ref name with ".."',
    refs({ 'refs/heads/a..b': sha1 }),
    /has an invalid ref name "refs\/heads\/a\.\.b"/,
  ],
  ['a ref outside refs/', refs({ HEAD: sha1 }), /has an invalid ref name "HEAD"/],
  ['a ref going up', refs({ 'refs/heads/../../../../x': sha1 }), /has an invalid ref name/],
  ['a ref with a space', refs({ 'refs/heads/x y': sha1 }), /has an invalid ref name/],
  [
    'a ref with a NUL',
    refs({ 'refs/heads/x\u0000': sha1 }),
    /has an invalid ref name "refs\/heads\/x\\u0000"/,
  ],
  ['a ref ending in .lock', refs({ 'refs/heads/x.lock': sha1 }), /has an invalid ref name/],
  ['a ref that is an option', refs({ '--upload-pack=x': sha1 }), /has an invalid ref name/],
  ['refs as an array', refs([sha1]), /has an invalid ref name "0"/],
  [
    'an object id that is not hex',
    refs({ 'refs/heads/main': 'xyz' }),
    /has an invalid sha1 object id for "refs\/heads\/main": "xyz"/,
  ],
  ['an upper-case object id', refs({ 'refs/heads/main': 'A'.repeat(40) }), /invalid sha1 object id/],
  ['a sha256 id in a sha1 repository', refs({ 'refs/heads/main': 'a'.repeat(64) }), /invalid sha1 object id/],
  [
    'an object id that is a number',
    refs({ 'refs/heads/main': 42 }),
    /invalid sha1 object id for "refs\/heads\/main": 42/,
  ],
  ['a HEAD that goes up', edit((m) => (m.git.head = 'refs/heads/../../x')), /invalid git\.head or url/],
  ['a HEAD that is an option', edit((m) => (m.git.head = '--output=/tmp/x')), /invalid git\.head or url/],
  ['a HEAD that is a number', edit((m) => (m.git.head = 42)), /invalid git\.head or url/],
  ['an unknown object format', edit((m) => (m.git.objectFormat = 'md5')), /unknown git\.objectFormat "md5"/],
  [
    'an object format that is an option',
    edit((m) => (m.git.objectFormat = '--bare')),
    /unknown git\.objectFormat/,
  ],
  ['sha256 with sha1 object ids', edit((m) => (m.git.objectFormat = 'sha256')), /invalid sha256 object id/],
  // Enormous.
  [
    'a 50 MB manifest (under the limit: read, and refused for what it holds)',
    () => `{"format":"backup-action-snapshot","formatVersion":1,"padding":"${'x'.repeat(50 * MiB)}"}`,
    /is incomplete/,
  ],
].map(([name, tamper, message]) => ({
  name: name as string,
  kind: 'git' as const,
  tamper: tamper as Tampering,
  expected: refused(message as RegExp),
}));

const corrupt = /part repo\.bundle of local\/victim \S+ is corrupt: expected \d+ bytes/;

const gitDataCases: Case[] = [
  {
    name: 'a part claiming more bytes than stored',
    kind: 'git',
    tamper: part((p, scene) => (p.size = scene.partSize + 1)),
    expected: partMismatch(corrupt),
  },
  {
    name: 'a part claiming fewer bytes than stored',
    kind: 'git',
    tamper: part((p, scene) => (p.size = scene.partSize - 1)),
    expected: partMismatch(/is corrupt: .* read more than that/),
  },
  {
    name: 'a part claiming 0 bytes',
    kind: 'git',
    tamper: part((p) => (p.size = 0)),
    expected: partMismatch(/is corrupt: expected 0 bytes/),
  },
  {
    name: 'a part whose object is missing',
    kind: 'git',
    tamper: async (scene) => {
      await scene.backend.remove(`${scene.folder}repo.bundle`);
      return scene.manifest;
    },
    expected: {
      list: 'ok',
      manifest: /^is missing$/,
      'read-data': /^is missing$/,
      restore: /local\/victim \S+: /,
    },
  },
  {
    // Valid names and ids, but not the bundle's: only a restore can tell, and it names the snapshot.
    name: 'refs that are not in the bundle',
    kind: 'git',
    tamper: edit((m) => (m.git.refs['refs/heads/trunk'] = '1'.repeat(40))),
    expected: {
      list: 'ok',
      manifest: 'ok',
      'read-data': 'ok',
      restore: /^local\/victim \S+: restored refs differ from the manifest: refs\/heads\/trunk$/,
    },
  },
  {
    // Written by every version, but nothing needs them to read a snapshot: `list` used to crash on
    // `row.tags.length` (a TypeError naming no snapshot).
    name: 'no tags',
    kind: 'git',
    tamper: edit((m) => delete m.tags),
    expected: { list: 'ok', manifest: 'ok', 'read-data': 'ok', restore: 'ok' },
  },
  {
    name: 'tags that are a string',
    kind: 'git',
    tamper: edit((m) => (m.tags = 'nightly')),
    expected: { list: 'ok', manifest: 'ok', 'read-data': 'ok', restore: 'ok' },
  },
  {
    name: 'JSON whose "__proto__" tries to pollute every object',
    kind: 'git',
    tamper: (scene) => JSON.stringify(scene.manifest).replace(/^\{/, '{"__proto__":{"polluted":true},'),
    expected: { list: 'ok', manifest: 'ok', 'read-data': 'ok', restore: 'ok' },
  },
];

const filesCases: Case[] = [
  ['a manifest that is not JSON', () => '{"format": "backup-', /is not valid JSON/],
  ['no files section', edit((m) => delete m.files), /is incomplete \(files\.count or files\.bytes missing\)/],
  ['a file count that is a string', edit((m) => (m.files.count = '3')), /is incomplete \(files\.count/],
  ['format version 99', edit((m) => (m.formatVersion = 99)), /format version 99.*Upgrade/],
  ...escapingNames('files').map(([what, name]): [string, Tampering, RegExp] => [
    `a part name ${what}`,
    part((p) => (p.name = name.replace('WORK', work))),
    /names an unsafe part/,
  ]),
  ['a git-bundle part', part((p) => (p.type = 'git-bundle')), /unknown type or compression/],
  ['an unknown compression', part((p) => (p.compression = 'lzma')), /unknown type or compression/],
  [
    'a part claiming 1e18 bytes',
    part((p) => (p.size = 1e18)),
    /invalid size or sha256 for part files\.tar\.gz/,
  ],
  ['a malformed sha256', part((p) => (p.sha256 = '0'.repeat(63))), /invalid size or sha256/],
  [
    'a source that disagrees with the folder',
    edit((m) => (m.source = 'other')),
    /names another snapshot \(files "other"/,
  ],
]
  .map(([name, tamper, message]): Case => ({
    name: name as string,
    kind: 'files',
    tamper: tamper as Tampering,
    expected: refused(message as RegExp),
  }))
  .concat([
    {
      name: 'a part claiming more bytes than stored',
      kind: 'files',
      tamper: part((p, scene) => (p.size = scene.partSize + 1)),
      expected: partMismatch(/part files\.tar\.gz of site \S+ is corrupt/),
    },
    {
      name: 'a part with the sha256 of other data',
      kind: 'files',
      tamper: part((p) => (p.sha256 = 'f'.repeat(64))),
      expected: {
        list: 'ok',
        manifest: 'ok',
        'read-data': /^has sha256 [0-9a-f]{64}; the manifest says f{64}$/,
        restore: /part files\.tar\.gz of site \S+ is corrupt: .* sha256/,
      },
    },
    {
      name: 'a file count that disagrees with the archive',
      kind: 'files',
      tamper: edit((m) => (m.files.count += 1)),
      expected: {
        list: 'ok',
        manifest: 'ok',
        'read-data': 'ok',
        restore: /^site \S+ holds 4 entries; its manifest says 5$/,
      },
    },
  ]);

const CASES = [...gitCases, ...gitDataCases, ...filesCases];

/** Every file and folder below the work folder except the stores, which the cases change on purpose. */
function workListing(): string[] {
  return (fs.readdirSync(work, { recursive: true }) as string[])
    .filter((entry) => entry !== 'stores' && !entry.startsWith(`stores${path.sep}`))
    .sort();
}

/** Runs the CLI's `list` in-process; returns its exit code, everything printed, and the error lines. */
async function listInProcess(backend: Backend): Promise<{ code: number; output: string; errors: string[] }> {
  const printed: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    printed.push(`${args.join(' ')}\n`);
  });
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    printed.push(String(chunk));
    return true;
  });
  let code: number;
  try {
    code = await cliInProcess(['list', ...backend.cliArgs]);
  } finally {
    log.mockRestore();
    write.mockRestore();
  }
  const output = printed.join('');
  return { code, output, errors: output.split('\n').filter((line) => line.startsWith('::error::')) };
}

/** Restores through the restore command (as the action and the CLI do), in-process. */
async function restore(backend: Backend, kind: SnapshotKind, id: string, target: string): Promise<void> {
  const inputs: Record<string, string> = {
    ...backend.inputs,
    ...(kind === 'git' ? { repository: SOURCE.git } : { name: SOURCE.files }),
    snapshot: id,
    target,
  };
  const read = (name: string) => inputs[name] ?? '';
  await runRestore(readRestoreSettings(read, {}));
}

/** A failure as users see it: an Error (not a TypeError or RangeError: a crash) naming the snapshot. */
function expectNamedFailure(error: unknown, snapshot: string, message: RegExp): void {
  expect(error).toBeInstanceOf(Error);
  expect([Error.name, InputError.name]).toContain((error as Error).constructor.name);
  expect((error as Error).message).toContain(snapshot);
  expect((error as Error).message).toMatch(message);
  expect((error as Error).message.length).toBeLessThan(2000);
}

describe.each(['local folder', 'S3'])('%s store', (backendName) => {
  const backend = () => backends.find((b) => b.name === backendName)!;

  test.each(CASES)('$kind snapshot, $name', async ({ kind, tamper, expected }) => {
    const ids = made.get(backendName)!;
    const series = kind === 'git' ? ids.victim : ids.site;
    const hostile = series.new;
    const source = SOURCE[kind];
    const named = `${source} ${hostile}`;
    const folder = snapshotPrefix(kind, source, hostile);
    const b = backend();

    // Tamper with the newest snapshot; the original objects are put back whatever happens.
    const saved = new Map<string, Buffer>();
    for (const key of await b.keys(folder)) saved.set(key, await b.read(key));
    const manifest = JSON.parse(saved.get(`${folder}manifest.json`)!.toString('utf8'));
    const partSize = saved.get(`${folder}${manifest.parts[0].name}`)!.length;
    const changed = await tamper({ manifest, folder, backend: b, partSize });
    await b.write(
      `${folder}manifest.json`,
      Buffer.isBuffer(changed)
        ? changed
        : Buffer.from(typeof changed === 'string' ? changed : JSON.stringify(changed)),
    );
    try {
      const all = [ids.good, ids.victim.old, ids.victim.new, ids.site.old, ids.site.new];
      const others = all.filter((id) => id !== hostile);

      // list, engine: every snapshot is found by its key; only the hostile one cannot be read.
      const listed = await listSnapshots(b.store);
      expect(listed.map((snapshot) => snapshot.id).sort()).toEqual([...others, hostile].sort());
      for (const snapshot of listed) {
        const read = await readManifest(b.store, snapshot).then(
          () => 'ok' as const,
          (error: unknown) => error,
        );
        if (snapshot.id !== hostile || expected.list === 'ok') expect(read).toBe('ok');
        else expectNamedFailure(read, `manifest of ${named}`, expected.list);
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();

      // list, CLI: the hostile snapshot is one error line; the others are listed; no stack trace.
      const cli = await listInProcess(b);
      expect(cli.output).not.toMatch(/\n\s+at /);
      for (const id of others) expect(cli.output).toContain(id);
      if (expected.list === 'ok') {
        expect({ code: cli.code, errors: cli.errors }).toEqual({ code: 0, errors: [] });
        expect(cli.output).toContain(hostile);
      } else {
        expect(cli.code).toBe(1);
        expect(cli.errors).toHaveLength(1);
        expect(cli.errors[0]).toContain(named);
        expect(cli.errors[0]).toMatch(expected.list);
      }

      // verify: the hostile snapshot fails with the problem named; everything else passes.
      for (const level of ['manifest', 'read-data'] as VerifyLevel[]) {
        const report = await verifyStore(b.store, { level, snapshot: 'all' });
        expect(report.results.map((result) => result.id).sort()).toEqual([...others, hostile].sort());
        for (const result of report.results.filter((r) => r.id !== hostile)) {
          expect({ id: result.id, problems: result.problems }).toEqual({ id: result.id, problems: [] });
        }
        const result = report.results.find((r) => r.id === hostile)!;
        const wanted = expected[level];
        if (wanted === 'ok') expect(result.problems).toEqual([]);
        else {
          expect(result.ok).toBe(false);
          expect(result.problems).toHaveLength(1);
          expect(result.problems[0].message).toMatch(wanted);
          expect(`${result.source} ${result.id}`).toBe(named);
        }
      }

      // restore: fails before writing anything anywhere, the folders on the way to the target too.
      const before = workListing();
      const target = path.join(work, 'restores', 'deep', 'er', 'target');
      const failure = await restore(b, kind, hostile, target).then(
        () => undefined,
        (error: unknown) => error,
      );
      if (expected.restore === 'ok') {
        expect(failure).toBeUndefined();
        fs.rmSync(path.join(work, 'restores'), { recursive: true });
      } else expectNamedFailure(failure, named, expected.restore);
      expect(fs.existsSync(target)).toBe(false);
      expect(workListing()).toEqual(before);
      expect(fs.existsSync('/etc/x')).toBe(false);

      // The good snapshot beside it still restores.
      const good = path.join(work, 'good-restore');
      await restore(b, kind, series.old, good);
      if (kind === 'git') expect(refsOf(good)).toBe(refsOf(path.join(work, 'repos', 'victim')));
      else expect(fs.readFileSync(path.join(good, 'public', 'index.html'), 'utf8')).toBe('<h1>hi</h1>\n');
      fs.rmSync(good, { recursive: true });
    } finally {
      for (const key of await b.keys(folder)) if (!saved.has(key)) await b.remove(key);
      for (const [key, data] of saved) await b.write(key, data);
    }
  });

  test('a manifest larger than the limit is refused by its listed size, without being read', async () => {
    const ids = made.get(backendName)!;
    const b = backend();
    const hostile = ids.victim.new;
    const key = `${snapshotPrefix('git', SOURCE.git, hostile)}manifest.json`;
    const original = await b.read(key);
    const huge = MAX_MANIFEST_BYTES + 1;
    if (b.name === 'local folder') {
      const file = path.join(work, 'stores', 'local', ...key.split('/'));
      fs.rmSync(file);
      fs.closeSync(fs.openSync(file, 'w'));
      fs.truncateSync(file, huge); // sparse: no disk space, and reading it would take a while
    } else await b.write(key, Buffer.alloc(huge, ' '));
    const downloads = jest.spyOn(b.store, 'download');
    try {
      const message = new RegExp(
        `^manifest of local/victim ${hostile} is larger than the ${MAX_MANIFEST_BYTES} bytes a manifest may have; not read$`,
      );
      const [snapshot] = await listSnapshots(b.store, 'git', SOURCE.git);
      expect(snapshot).toMatchObject({ id: hostile, manifestSize: huge });
      await expect(readManifest(b.store, snapshot)).rejects.toThrow(message);

      const cli = await listInProcess(b);
      expect(cli.code).toBe(1);
      expect(cli.errors).toEqual([expect.stringMatching(/is larger than the \d+ bytes a manifest may have/)]);
      expect(cli.output).toContain(ids.victim.old);

      const report = await verifyStore(b.store, { level: 'read-data', snapshot: 'all' });
      expect(report.results.filter((result) => !result.ok)).toMatchObject([
        { id: hostile, problems: [{ part: 'manifest.json', message: expect.stringMatching(message) }] },
      ]);
      const target = path.join(work, 'restores', 'target');
      await expect(restore(b, 'git', hostile, target)).rejects.toThrow(message);
      expect(fs.existsSync(path.join(work, 'restores'))).toBe(false);
      // Nothing downloaded the oversized manifest: every refusal came from the listing.
      expect(downloads.mock.calls.filter(([k]) => k === key)).toEqual([]);
    } finally {
      downloads.mockRestore();
      await b.write(key, original);
    }
  });
});

test('a manifest that grows past the limit after listing is cut off while reading', async () => {
  const root = path.join(work, 'stores', 'growing');
  const store = new LocalStore(root);
  const snapshot: SnapshotRef = {
    kind: 'git',
    source: 'local/grown',
    id: '20261122T020000.123Z-1a2b3c4d',
    manifestKey: 'git/local/grown/20261122T020000.123Z-1a2b3c4d/manifest.json',
    manifestSize: 100, // what an earlier listing said
  };
  const file = path.join(root, ...snapshot.manifestKey.split('/'));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.closeSync(fs.openSync(file, 'w'));
  fs.truncateSync(file, MAX_MANIFEST_BYTES + 1);
  await expect(readManifest(store, snapshot)).rejects.toThrow(
    /^manifest of local\/grown 20261122T020000\.123Z-1a2b3c4d is larger than the \d+ bytes a manifest may have; not read$/,
  );
});

test('every ref of real repositories is a valid ref name; what git refuses is refused', () => {
  const victim = path.join(work, 'repos', 'victim');
  const names = refsOf(victim)
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ')[1]);
  expect(names).toEqual(
    expect.arrayContaining(['refs/heads/feature/deep/nested-name', 'refs/notes/commits']),
  );
  const accepted = [
    ...names,
    'refs/heads/ünïcødé',
    'refs/heads/a.b',
    'refs/tags/v1.0.0-rc.1+build',
    'refs/pull/1/head',
    'refs/heads/@',
  ];
  const refused = [
    'HEAD',
    'refs',
    'refs/',
    'refs/heads/',
    'refs/heads//x',
    'refs/heads/.x',
    'refs/heads/x.',
    'refs/heads/x.lock',
    'refs/heads/a..b',
    'refs/heads/a@{1}',
    'refs/heads/a b',
    'refs/heads/a\tb',
    'refs/heads/a~1',
    'refs/heads/a^',
    'refs/heads/a:b',
    'refs/heads/a?',
    'refs/heads/a*',
    'refs/heads/a[b',
    'refs/heads/a\\b',
    'refs/heads/a\u007f',
  ];
  for (const name of accepted) expect({ name, valid: isRefName(name) }).toEqual({ name, valid: true });
  for (const name of refused) expect({ name, valid: isRefName(name) }).toEqual({ name, valid: false });
  // git agrees with every verdict.
  for (const name of [...accepted, ...refused].filter((n) => n.startsWith('refs/') && n.includes('/', 5))) {
    let gitSays: boolean;
    try {
      git(work, 'check-ref-format', name);
      gitSays = true;
    } catch {
      gitSays = false;
    }
    expect({ name, valid: isRefName(name) }).toEqual({ name, valid: gitSays });
  }
});

test('parseManifest: a valid manifest with sha256 object ids and a detached HEAD parses', () => {
  const manifest = {
    format: 'backup-action-snapshot',
    formatVersion: 1,
    id: '20261122T141500.000Z-1a2b3c4d',
    kind: 'git',
    source: 'github.com/o/r',
    url: 'https://github.com/o/r.git',
    createdAt: '2026-11-22T14:15:00.000Z',
    tool: { name: 'backup-action', version: 'test' },
    tags: [],
    git: { empty: false, objectFormat: 'sha256', head: null, refs: { 'refs/heads/main': 'c'.repeat(64) } },
    parts: [{ name: 'repo.bundle', type: 'git-bundle', size: 10, sha256: 'b'.repeat(64) }],
    size: 10,
  };
  expect(parseManifest(JSON.stringify(manifest), 'm').id).toBe(manifest.id);
  const legacy = {
    ...manifest,
    git: { ...manifest.git, objectFormat: '', refs: { 'refs/heads/main': sha1 } },
  };
  expect(parseManifest(JSON.stringify(legacy), 'm').id).toBe(manifest.id);
});

test('the bundled CLI: a hostile manifest is one named error for list, verify and restore, never a stack trace', async () => {
  // The assertions hold for the bundle as built before and after this suite's fixes.
  const b = backends.find((backend) => backend.name === 'local folder')!;
  const ids = made.get(b.name)!;
  const hostile = ids.victim.new;
  const key = `${snapshotPrefix('git', SOURCE.git, hostile)}manifest.json`;
  const original = await b.read(key);
  await b.write(key, Buffer.from('{"format": "backup-'));
  try {
    const root = b.inputs.destination;
    const target = path.join(work, 'restores', 'cli-target');
    const runs = {
      list: await runCli(['list', '--to', root]),
      verify: await runCli(['verify', '--to', root, '--snapshot', 'all', '--level', 'manifest']),
      restore: await runCli([
        'restore',
        '--to',
        root,
        '--repo',
        SOURCE.git,
        '--snapshot',
        hostile,
        '--target',
        target,
      ]),
    };
    for (const [command, run] of Object.entries(runs)) {
      expect({ command, exitCode: run.exitCode }).toEqual({ command, exitCode: 1 });
      expect(`${run.stdout}\n${run.stderr}`).not.toMatch(/\n\s+at /);
      expect(run.errors.length).toBeGreaterThanOrEqual(1);
      expect(run.errors.every((line) => line.includes(`local/victim ${hostile}`))).toBe(true);
      expect(run.errors.join('\n')).toMatch(/is not valid JSON/);
    }
    expect(runs.verify.stdout).toMatch(new RegExp(`^ok +local/victim ${ids.victim.old}`, 'm'));
    expect(fs.existsSync(path.join(work, 'restores'))).toBe(false);
  } finally {
    await b.write(key, original);
  }
});
