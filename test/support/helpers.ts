import { S3Client } from '@aws-sdk/client-s3';
import { InputError } from '../../src/errors.js';
import type { S3Server } from './s3-server.mjs';

/** An input reader over a plain object, as the actions' core.getInput would be. */
export const reader = (inputs: Record<string, string>) => (name: string) => inputs[name] ?? '';

/** The InputError `action` throws; fails the test if it throws nothing or something else. */
export function inputErrorOf(action: () => unknown): InputError {
  try {
    action();
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error('expected an InputError');
}

/** An independent S3 client on the test server, to look at (or tamper with) what was stored. */
export function s3Client(server: S3Server, secretAccessKey = server.secretAccessKey): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
