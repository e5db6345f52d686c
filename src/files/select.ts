import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as glob from '@actions/glob';
import { errorMessage, InputError } from '../util/errors.js';
import { mapLimit } from '../util/concurrency.js';
import * as log from '../log/log.js';

/**
 * Turns the `path` input (one glob per line, `!` excludes, a folder includes its contents, relative
 * lines relative to `baseDir`) into the entries to archive: paths relative to `baseDir`, with `/`,
 * sorted so that every folder comes before its contents.
 *
 * Archive paths are relative to the base folder (the workspace), not to the matches' least common
 * ancestor as upload-artifact does: `config/app.yml` is stored as `config/app.yml` whatever the other
 * lines are, so the layout of a snapshot series stays the same when a line is added, and a restore
 * looks like the workspace did. The price: everything must lie inside the base folder.
 *
 * Symbolic links are kept as links (never followed). The folders between the base folder and each
 * match are archived too (without their other contents), so that their modes and times come back.
 */
export async function selectFiles(patterns: string, baseDir: string): Promise<string[]> {
  return (await selectEntries(patterns, baseDir)).entries;
}

/** What was selected, with what the archiver can reuse. */
export interface Selection {
  entries: string[];
  /** Some selected file has other hard links. */
  hardLinked: boolean;
}

export async function selectEntries(patterns: string, baseDir: string): Promise<Selection> {
  baseDir = path.resolve(baseDir);
  const rooted = patterns
    .split(/\r?\n/)
    .map((line) => rootPattern(line, baseDir))
    .join('\n');
  let globber: glob.Globber;
  try {
    globber = await glob.create(rooted, {
      followSymbolicLinks: false,
      implicitDescendants: true,
      matchDirectories: true,
    });
  } catch (error) {
    throw new InputError('path', errorMessage(error));
  }

  const selected = new Set<string>();
  for await (const found of globber.globGenerator()) {
    const relative = path.relative(baseDir, found);
    if (relative === '') continue; // the base folder itself is the archive's root
    if (relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) {
      throw new InputError(
        'path',
        `${found} is outside ${baseDir}; paths are stored relative to that folder, so only files inside it can be backed up.`,
      );
    }
    const parts = relative.split(path.sep);
    for (let i = 1; i <= parts.length; i++) selected.add(parts.slice(0, i).join('/'));
  }

  const entries: string[] = [];
  const links = new Set<string>();
  let hardLinked = false;
  // Sorted, every folder comes before its contents, so checking the parent covers all ancestors. The
  // lstat calls run 16 at a time: one at a time, tens of thousands of small files wait mostly on them.
  const sorted = [...selected].sort();
  const found = await mapLimit(sorted, 16, (entry) => fs.lstat(path.join(baseDir, entry)));
  for (const [index, entry] of sorted.entries()) {
    const parent = entry.slice(0, Math.max(entry.lastIndexOf('/'), 0));
    if (links.has(parent)) {
      // The archive keeps the link, and a restore refuses to write anything through a link.
      throw new InputError(
        'path',
        `${parent} is a symbolic link, and a line matches files through it. List the folder it points to instead.`,
      );
    }
    const stat = found[index];
    if (stat.isSymbolicLink()) links.add(entry);
    if (stat.isFile() && stat.nlink > 1) hardLinked = true;
    if (stat.isFile() || stat.isDirectory() || stat.isSymbolicLink()) entries.push(entry);
    else log.warning(`path: skipping ${entry}, which is not a file, folder or symbolic link`);
  }
  if (entries.length === 0) {
    throw new InputError(
      'path',
      `matched no files in ${baseDir}. Check the patterns (one per line, relative to that folder).`,
    );
  }
  return { entries, hardLinked };
}

/** @actions/glob roots relative patterns at the process's folder; ours are relative to `baseDir`. */
function rootPattern(line: string, baseDir: string): string {
  const [, bang, rest] = /^\s*(!*)\s*(.*?)\s*$/.exec(line)!;
  if (rest === '' || (bang === '' && rest.startsWith('#'))) return '';
  if (path.isAbsolute(rest) || rest === '~' || rest.startsWith('~/')) return `${bang}${rest}`;
  const relative = rest === '.' ? '' : rest.replace(/^\.[\\/]/, '');
  return `${bang}${globEscape(baseDir)}${path.sep}${relative}`;
}

/** The folder's name taken literally, as @actions/glob escapes the current folder. */
function globEscape(text: string): string {
  return (process.platform === 'win32' ? text : text.replace(/\\/g, '\\\\'))
    .replace(/(\[)(?=[^/]+\])/g, '[[]')
    .replace(/\?/g, '[?]')
    .replace(/\*/g, '[*]');
}
