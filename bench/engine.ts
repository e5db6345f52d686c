// `npm run bench:prune` (plan + delete 10,000 snapshots over 50 repositories on the local S3 server, as
// format 1 bundles, then as format 2 shared packs; `tsx bench/engine.ts prune1|prune2` for one) and
// `npm run bench:crypto` (age encryption throughput): the engine benchmarks of bench/prune.ts and
// bench/crypto.ts, run in this process.
//
//   tsx bench/engine.ts prune|crypto
import { benchCrypto } from './crypto.js';
import { benchPrune } from './prune.js';

const BENCHES: Record<string, () => Promise<unknown>> = {
  prune: async () => {
    await benchPrune({ format: 1 });
    await benchPrune({ format: 2 });
  },
  prune1: () => benchPrune({ format: 1 }),
  prune2: () => benchPrune({ format: 2 }),
  crypto: () => benchCrypto(),
};

const name = process.argv[2] ?? '';
const bench = BENCHES[name];
if (!bench) throw new Error(`usage: tsx bench/engine.ts ${Object.keys(BENCHES).join('|')}`);
await bench();
