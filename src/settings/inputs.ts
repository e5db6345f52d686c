import { InputError } from '../util/errors.js';

/**
 * Reads one input by its action.yml name; '' when not given. The action face reads `core.getInput`,
 * the CLI maps its flags onto the same names: both faces go through the same settings functions.
 */
export type InputReader = (name: string) => string;

export function required(read: InputReader, name: string): string {
  const value = read(name);
  if (!value) throw new InputError(name, 'is required.');
  return value;
}

export function boolean(read: InputReader, name: string, fallback: boolean): boolean {
  const value = read(name);
  if (value === '') return fallback;
  if (value.toLowerCase() === 'true') return true;
  if (value.toLowerCase() === 'false') return false;
  throw new InputError(name, `"${value}" is not a boolean. Use true or false.`);
}

export function integer(read: InputReader, name: string, fallback: number, min: number, max: number): number {
  const value = read(name);
  if (value === '') return fallback;
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < min || number > max) {
    throw new InputError(name, `"${value}" is not a whole number from ${min} to ${max}.`);
  }
  return number;
}

/** A list input: one item per line (commas also separate), `#` starts a comment. */
export function parseList(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line !== '');
}

/** A list of snapshot tags (the `tags` input, or `keep-tag`): up to 64 letters, digits, ".", "_", ":", "-". */
export function readTags(read: InputReader, input = 'tags'): string[] {
  const list = parseList(read(input));
  const bad = list.find((tag) => !/^[A-Za-z0-9._:-]{1,64}$/.test(tag));
  if (bad !== undefined) {
    throw new InputError(
      input,
      `"${bad}" is not a valid tag: use up to 64 letters, digits, ".", "_", ":" or "-".`,
    );
  }
  return list;
}

/** GITHUB_SERVER_URL (GitHub Enterprise Server) or github.com, without a trailing slash. */
export function serverUrlOf(env: NodeJS.ProcessEnv): string {
  return (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '');
}

/** GITHUB_API_URL or api.github.com, without a trailing slash. */
export function apiUrlOf(env: NodeJS.ProcessEnv): string {
  return (env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, '');
}
