// Regenerates the inputs/outputs tables in README.md from the action.yml files (as actions/checkout's
// generate-docs does), between <!-- action-docs:NAME --> markers. `--check` fails when they drift.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as prettier from 'prettier';
import { parse } from 'yaml';

const root = path.resolve(import.meta.dirname, '..');
// The root action and every action under actions/ have their tables in the README (a missing marker
// is an error).
const ACTIONS: Record<string, string> = {
  'backup-action': 'action.yml',
  ...Object.fromEntries(
    readdirSync(path.join(root, 'actions')).map((name) => [name, `actions/${name}/action.yml`]),
  ),
};

const cell = (text: unknown) =>
  String(text ?? '')
    .replace(/\|/g, '\\|')
    .replace(/\n/g, ' ')
    .trim();

interface ActionYaml {
  inputs?: Record<string, { required?: boolean; default?: string; description?: string }>;
  outputs?: Record<string, { description?: string }>;
}

export function renderTables(file: string): string {
  const action = parse(readFileSync(path.join(root, file), 'utf8')) as ActionYaml;
  const inputs = Object.entries(action.inputs ?? {}).map(
    ([name, input]) =>
      `| \`${name}\` | ${input.required ? 'yes' : 'no'} | ${input.default ? `\`${cell(input.default)}\`` : ''} | ${cell(input.description)} |`,
  );
  const outputs = Object.entries(action.outputs ?? {}).map(
    ([name, output]) => `| \`${name}\` | ${cell(output.description)} |`,
  );
  return [
    '| Input | Required | Default | Description |',
    '| --- | --- | --- | --- |',
    ...inputs,
    '',
    '| Output | Description |',
    '| --- | --- |',
    ...outputs,
  ].join('\n');
}

/** The README with fresh tables, formatted as `prettier --check` wants it. */
export async function renderReadme(readme: string): Promise<string> {
  let result = readme;
  for (const [name, file] of Object.entries(ACTIONS)) {
    const pattern = new RegExp(`(<!-- action-docs:${name} -->)[\\s\\S]*?(<!-- /action-docs:${name} -->)`);
    if (!pattern.test(result)) throw new Error(`README.md has no <!-- action-docs:${name} --> markers`);
    result = result.replace(
      pattern,
      (_, start: string, end: string) => `${start}\n${renderTables(file)}\n${end}`,
    );
  }
  const options = (await prettier.resolveConfig(path.join(root, 'README.md'))) ?? {};
  return prettier.format(result, { ...options, parser: 'markdown' });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = path.join(root, 'README.md');
  const current = readFileSync(file, 'utf8');
  const rendered = await renderReadme(current);
  if (process.argv.includes('--check')) {
    if (rendered !== current) {
      console.error('::error::README.md inputs/outputs differ from action.yml: run npm run docs');
      process.exit(1);
    }
  } else {
    writeFileSync(file, rendered);
  }
}
