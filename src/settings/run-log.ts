import { boolean, type InputReader, integer } from './inputs.js';

/** Every action's run log: uploaded as an artifact (`upload-logs`), kept `log-retention-days`. */
export interface RunLogSettings {
  upload: boolean;
  retentionDays: number;
}

export function readRunLogSettings(read: InputReader): RunLogSettings {
  return {
    upload: boolean(read, 'upload-logs', true),
    retentionDays: integer(read, 'log-retention-days', 30, 1, 90),
  };
}
