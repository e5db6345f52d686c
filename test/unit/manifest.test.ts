import { idTime, selectSnapshot } from '../../src/snapshot/catalog.js';
import { newSnapshotId, parseManifest, SNAPSHOT_ID } from '../../src/snapshot/manifest.js';
import { TOOL } from '../../src/util/version.js';
import packageJson from '../../package.json' with { type: 'json' };

const manifest = {
  format: 'backup-action-snapshot',
  formatVersion: 1,
  id: '20261122T141500.000Z-1a2b3c4d',
  kind: 'git',
  source: 'github.com/o/r',
  url: 'https://github.com/o/r.git',
  createdAt: '2026-11-22T14:15:00.000Z',
  tool: TOOL,
  tags: [],
  git: {
    empty: false,
    objectFormat: 'sha1',
    head: 'refs/heads/main',
    refs: { 'refs/heads/main': 'a'.repeat(40) },
  },
  parts: [{ name: 'repo.bundle', type: 'git-bundle', size: 10, sha256: 'b'.repeat(64) }],
  size: 10,
};

test('snapshot ids sort by time and carry it', () => {
  const id = newSnapshotId(new Date('2026-11-22T14:15:00.123Z'));
  expect(id).toMatch(SNAPSHOT_ID);
  expect(id.startsWith('20261122T141500.123Z-')).toBe(true);
  expect(idTime(id)).toBe(Date.parse('2026-11-22T14:15:00.123Z'));
});

test('a valid manifest parses', () => {
  expect(parseManifest(JSON.stringify(manifest), 'm').id).toBe(manifest.id);
});

test.each([
  ['not json', 'not json {', /not valid JSON/],
  ['another format', JSON.stringify({ ...manifest, format: 'x' }), /not a backup-action manifest/],
  ['a newer version', JSON.stringify({ ...manifest, formatVersion: 99 }), /format version 99.*Upgrade/],
  [
    'a part path with ../',
    JSON.stringify({ ...manifest, parts: [{ ...manifest.parts[0], name: '../x' }] }),
    /unsafe part/,
  ],
  [
    'an absurd size',
    JSON.stringify({ ...manifest, parts: [{ ...manifest.parts[0], size: 1e300 }] }),
    /invalid size/,
  ],
])('a manifest with %s is refused with a clear message', (_, text, message) => {
  expect(() => parseManifest(text, 'm')).toThrow(message);
});

test('latest, by id, and newest at or before a time', () => {
  const snapshots = [
    '20261103T000000.000Z-00000003',
    '20261102T000000.000Z-00000002',
    '20261101T000000.000Z-00000001',
  ].map((id) => ({
    kind: 'git' as const,
    source: 's',
    id,
    manifestKey: `git/s/${id}/manifest.json`,
  }));
  expect(selectSnapshot(snapshots, 'latest')?.id).toBe(snapshots[0].id);
  expect(selectSnapshot(snapshots, snapshots[2].id)?.id).toBe(snapshots[2].id);
  expect(selectSnapshot(snapshots, 'latest', new Date('2026-11-02T12:00Z'))?.id).toBe(snapshots[1].id);
  expect(selectSnapshot(snapshots, 'latest', new Date('2026-10-01T00:00Z'))).toBeUndefined();
});

test('the version in manifests is the package version', () => {
  expect(TOOL.version).toBe(packageJson.version);
});
