import { readStoreSettings, type StoreSettings } from './destination.js';
import type { InputReader } from './inputs.js';

/** What `list` (CLI) was asked to show: one repository's snapshots, or everything in the destination. */
export interface ListSettings {
  store: StoreSettings;
  repository?: string;
}

export function readListSettings(read: InputReader, env: NodeJS.ProcessEnv = process.env): ListSettings {
  return { store: readStoreSettings(read, env), repository: read('repositories') || undefined };
}
