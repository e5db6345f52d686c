// The layers of src/ (docs/ARCHITECTURE.md), top to bottom. A module may import from its own layer
// or a lower one, never from a higher one, and nothing imports in a circle.
const FACES = '^src/(main|cli)\\.ts$|^src/actions/';
const COMMANDS = '^src/commands/';
const SETTINGS = '^src/settings/';
const ENGINES = '^src/(git|files|verify|retention|report|github|plan)/';
const SNAPSHOT = '^src/snapshot/';
const STORAGE = '^src/(store|crypto)/';
const LOG = '^src/log/';
const UTIL = '^src/util/';

const below = (...layers) => layers.join('|');
const layer = (name, path, lower) => ({
  name: `no-import-of-${name}-from-below`,
  comment: `${name} is imported only by the layers above it`,
  severity: 'error',
  from: { path: lower },
  to: { path },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Import circles make the layers meaningless and modules impossible to load alone.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    layer('faces', FACES, below(COMMANDS, SETTINGS, ENGINES, SNAPSHOT, STORAGE, LOG, UTIL)),
    layer('commands', COMMANDS, below(SETTINGS, ENGINES, SNAPSHOT, STORAGE, LOG, UTIL)),
    layer('settings', SETTINGS, below(ENGINES, SNAPSHOT, STORAGE, LOG, UTIL)),
    layer('engines', ENGINES, below(SNAPSHOT, STORAGE, LOG, UTIL)),
    layer('snapshot', SNAPSHOT, below(STORAGE, LOG, UTIL)),
    layer('store-and-crypto', STORAGE, below(LOG, UTIL)),
    layer('log', LOG, UTIL),
    {
      name: 'util-is-a-leaf',
      comment: 'util/ holds leaves: they import nothing of ours but each other.',
      severity: 'error',
      from: { path: UTIL },
      to: { path: '^src/', pathNot: UTIL },
    },
    {
      name: 'src-only-in-src',
      comment: 'Every module of src/ sits in one of the layers above.',
      severity: 'error',
      from: {
        path: '^src/',
        pathNot: [FACES, COMMANDS, SETTINGS, ENGINES, SNAPSHOT, STORAGE, LOG, UTIL].join('|'),
      },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
