import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { renderReadme } from '../../scripts/generate-docs.js';

test('README inputs/outputs tables match the action.yml files (npm run docs)', async () => {
  const readme = readFileSync('README.md', 'utf8');
  expect(await renderReadme(readme)).toBe(readme);
});

test('every action runs on node24 from a bundled entry that exists', () => {
  for (const name of readdirSync('actions')) {
    const action = parse(readFileSync(path.join('actions', name, 'action.yml'), 'utf8'));
    expect(action.runs).toEqual({ using: 'node24', main: `../../dist/${name}.js` });
    expect(existsSync(path.join('dist', `${name}.js`))).toBe(true);
  }
  const root = parse(readFileSync('action.yml', 'utf8'));
  expect(root.runs).toEqual({ using: 'node24', main: 'dist/one-step.js' });
  expect(existsSync('dist/one-step.js')).toBe(true);
});
