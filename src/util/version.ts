/** Written into every manifest; kept in step with package.json by a test. */
export const TOOL = { name: 'backup-action', version: '0.1.0' };
