import { readFileSync } from 'node:fs';
import { renderReadme } from '../scripts/generate-docs.mjs';

test('README inputs/outputs tables match the action.yml files (npm run docs)', async () => {
  const readme = readFileSync('README.md', 'utf8');
  expect(await renderReadme(readme)).toBe(readme);
});
