import { afterEach, beforeEach, expect, jest } from '@jest/globals';
import { S3Client } from '@aws-sdk/client-s3';
import { inspect } from 'node:util';
import { InputError } from '../../src/util/errors.js';
import type { S3Server } from './s3-server.js';

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

/** The error `promise` rejects with, checked for each secret in every form the error could be printed. */
export async function failureWithout(secrets: string[], promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as Error,
  );
  for (const text of [
    error.message,
    String(error.stack),
    inspect(error, { depth: 8 }),
    JSON.stringify(error),
  ]) {
    for (const secret of secrets) expect(text).not.toContain(secret);
  }
  return error;
}

/**
 * Captures stdout during each test of the file (the actions' log lines) and fails a test whose output
 * contains one of `secrets`; returns what the current test printed so far.
 */
export function captureStdout(secrets: string[]): () => string {
  let output: string[] = [];
  beforeEach(() => {
    output = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      output.push(String(chunk));
      return true;
    });
  });
  afterEach(() => {
    jest.restoreAllMocks();
    for (const secret of secrets) expect(output.join('')).not.toContain(secret);
  });
  return () => output.join('');
}
