/** The README with its inputs/outputs tables regenerated from the action.yml files. */
export function renderReadme(readme: string): Promise<string>;
