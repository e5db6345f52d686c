import * as fs from 'node:fs/promises';
import { backupAll, type BackupJob, type RepositoryResult } from '../git/backup.js';
import type { BackupSettings } from '../settings/backup.js';
import { openStore, parseDestination, resolvePlaceholders } from '../store/destination.js';
import type { Store } from '../store/store.js';
import { InputError } from '../util/errors.js';

/** `backup` (action and CLI): checks every store and the mirror folder, then backs up each repository. */
export async function runBackup(settings: BackupSettings): Promise<RepositoryResult[]> {
  return backupAll(await prepareJobs(settings), settings.options);
}

/**
 * Opens each repository's store (placeholders may give each its own bucket) and checks every distinct
 * store once, and the mirror folder, so that a wrong bucket, key or folder fails before any repository
 * is touched.
 */
async function prepareJobs(settings: BackupSettings): Promise<BackupJob[]> {
  await checkWritableFolder('mirror-dir', settings.options.mirrorRoot);
  const stores = new Map<string, Store>();
  const jobs: BackupJob[] = [];
  for (const source of settings.sources) {
    const destination = resolvePlaceholders(settings.store.destination, source);
    let store = stores.get(destination);
    if (!store) {
      try {
        store = openStore(parseDestination(destination), settings.store.storage);
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
        throw new InputError(error.input, `for ${source.spec}, ${destination}: ${error.problem}`);
      }
      stores.set(destination, store);
    }
    jobs.push({ source, store });
  }
  for (const store of stores.values()) await store.check({ create: true });
  return jobs;
}

async function checkWritableFolder(input: string, folder: string): Promise<void> {
  try {
    await fs.mkdir(folder, { recursive: true });
    await fs.access(folder, fs.constants.W_OK);
  } catch (error) {
    throw new InputError(
      input,
      `the folder ${folder} cannot be created or written (${(error as NodeJS.ErrnoException).code}). Give a writable folder.`,
    );
  }
}
