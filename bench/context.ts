// What the scenarios of `npm run bench` (bench/main.ts) and the contenders (bench/tools/) share: the
// settings, the tools found, the S3 server and the environments of the measured commands.
import type { SourceDescription } from './data.js';
import type { Preload } from './lib/measure.js';
import type { BenchS3 } from './lib/s3.js';

export type StoreKind = 's3' | 'folder';
export type PeerName = 'hand' | 'rclone' | 'restic';

/** The settings of bench/main.ts, from the environment (see readConfig there). */
export interface Config {
  scenarios: number[];
  sizes: number[];
  reps: number;
  stores: StoreKind[];
  peers: PeerName[];
  tinyRepos: number;
  concurrency: number[];
  files: number;
  /** Days of scenario 3 (one commit each). */
  days: number;
  work: string;
  cli: string;
  out: string;
  bigSize: number;
}

/** Versions of the tools (undefined: not installed), of node and of this project. */
export interface Versions {
  node: string;
  git: string | undefined;
  aws: string | undefined;
  /** The aws executable (pyenv's shim resolved). */
  awsPath: string;
  rclone: string | undefined;
  restic: string | undefined;
  zstd: string | undefined;
  tar: string | undefined;
  backupAction: string;
  commit: string | undefined;
  distBuilt: string | undefined;
}

export interface Context {
  config: Config;
  /** Scratch space of the run (removed at the end). */
  tmp: string;
  /** The CLI measured. */
  cli: string;
  /** Generated source repositories by size (MiB). */
  sources: Map<number, { dir: string; generation: SourceDescription }>;
  versions: Versions;
  /** Where /usr/bin/time writes its results. */
  timeDir: string;
  preload: Preload;
  endpoint: string;
  s3: BenchS3;
  /** Environment of the measured commands (awsEnvironment). */
  env: NodeJS.ProcessEnv;
  rcloneEnv: NodeJS.ProcessEnv;
  resticEnv: NodeJS.ProcessEnv;
  /** The aws executable. */
  aws: string;
}

/** What a scenario returns: its Markdown part of the results and the data for the JSON details. */
export interface Section {
  markdown: string;
  data: unknown;
}

export interface Scenario {
  title: string;
  run(ctx: Context, config: Config): Promise<Section>;
}
