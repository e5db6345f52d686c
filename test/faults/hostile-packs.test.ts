import * as fs from 'node:fs';
import * as path from 'node:path';
import { backupAll, type BackupOptions } from '../../src/git/backup.js';
import { restoreSnapshot } from '../../src/git/restore.js';
import { resolveSource } from '../../src/git/source.js';
import { listSnapshots, readManifest, type SnapshotRef } from '../../src/snapshot/catalog.js';
import { snapshotPrefix } from '../../src/snapshot/manifest.js';
import { LocalStore } from '../../src/store/local-store.js';
import { verifyStore } from '../../src/verify/checker.js';
import { commitFile, createRichRepository, tempDir } from '../support/fixtures.js';

// Format 2 manifests from a hostile or broken store: pack parts whose names escape, repeat, disagree
// with their checksum or type, lose their index, or whose sizes lie, are refused as version 1 parts are
// (hostile-store.test.ts): by the manifest check when the manifest says it, by the download's size and
// SHA-256 check when only the bytes can tell, and never with a ref written or a file left at the target.
let work: string;
let store: LocalStore;
let snapshot: SnapshotRef;
let original: string;
const manifestFile = () =>
  path.join(store.location, snapshotPrefix('git', snapshot.source, snapshot.id), 'manifest.json');

beforeAll(async () => {
  work = tempDir();
  const repository = createRichRepository(path.join(work, 'victim'));
  store = new LocalStore(path.join(work, 'store'));
  const options: BackupOptions = {
    auth: { serverUrl: 'https://github.com' },
    force: false,
    tags: [],
    concurrency: 1,
    mirrorRoot: path.join(work, 'mirrors'),
    cacheMirrors: false,
  };
  const job = { source: resolveSource(repository, 'https://github.com'), store };
  await backupAll([job], options);
  commitFile(repository, 'second.txt', 'second\n');
  await backupAll([job], options);
  [snapshot] = await listSnapshots(store, 'git', 'local/victim');
  original = fs.readFileSync(manifestFile(), 'utf8');
  expect(JSON.parse(original).parts).toHaveLength(4); // two packs, each with its index
});

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
afterEach(() => fs.writeFileSync(manifestFile(), original));

type Part = { name: string; type: string; pack: string; size: number; sha256: string };
type Edit = (parts: Part[]) => void;

const refused: Array<[string, Edit, RegExp]> = [
  [
    'a pack name going up',
    (p) => (p[0].name = '../../escape.pack'),
    /names an unsafe part "..\/..\/escape.pack"/,
  ],
  ['an absolute pack name', (p) => (p[0].name = '/etc/passwd'), /names an unsafe part "\/etc\/passwd"/],
  ['a pack listed twice', (p) => p.push({ ...p[0] }), /lists the part "pack-[0-9a-f]{40}\.(pack|idx)" twice/],
  [
    'a pack whose name is not its checksum',
    (p) => (p[0].name = p[0].name.replace(/pack-[0-9a-f]{40}/, `pack-${'e'.repeat(40)}`)),
    /whose name does not match its type, checksum or encryption/,
  ],
  [
    'a pack part typed as its index',
    (p) => (p[0].type = p[0].type === 'git-pack' ? 'git-pack-index' : 'git-pack'),
    /whose name does not match its type, checksum or encryption/,
  ],
  [
    'a pack without its index',
    (p) =>
      p.splice(
        p.findIndex((part) => part.type === 'git-pack-index'),
        1,
      ),
    /lists pack "[0-9a-f]{40}" without its pair/,
  ],
  [
    'a bundle part in a format 2 manifest',
    (p) => (p[0].type = 'git-bundle'),
    /of unknown type or compression/,
  ],
];

test.each(refused)('%s: the manifest is refused, nothing is restored', async (_, edit, message) => {
  const manifest = JSON.parse(original);
  edit(manifest.parts);
  fs.writeFileSync(manifestFile(), JSON.stringify(manifest));
  await expect(readManifest(store, snapshot)).rejects.toThrow(message);
  const target = path.join(work, `restored-${Math.random().toString(16).slice(2)}`);
  await expect(restoreSnapshot(store, snapshot, target)).rejects.toThrow(message);
  expect(fs.existsSync(target)).toBe(false);
});

test.each([
  ['more', 1],
  ['fewer', -1],
])(
  'a pack size that lies (%s bytes than stored): verify names it, restore refuses it before any ref',
  async (_, delta) => {
    const manifest = JSON.parse(original);
    const pack = (manifest.parts as Part[]).find((part) => part.type === 'git-pack')!;
    pack.size += delta;
    fs.writeFileSync(manifestFile(), JSON.stringify(manifest));

    const report = await verifyStore(store, { level: 'manifest', snapshot: 'latest' });
    expect(report.results[0].problems).toEqual([
      { part: pack.name, message: expect.stringMatching(/^has \d+ bytes; the manifest says \d+$/) },
    ]);
    const target = path.join(work, `restored-size-${delta}`);
    await expect(restoreSnapshot(store, snapshot, target)).rejects.toThrow(
      new RegExp(`part ${pack.name} of local/victim ${snapshot.id} is corrupt`),
    );
    expect(fs.existsSync(target)).toBe(false);
  },
);
