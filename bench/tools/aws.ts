// The AWS CLI: `aws s3 cp` of one file to the bench bucket (the upload step of the hand pipelines of
// bench/bundle.ts and of BundlePipeline).
import { type MeasureOptions, type Measured, measureOk } from '../lib/measure.js';
import { capture } from '../lib/process.js';

/** The aws executable: pyenv's shim costs ~0.1 s of bash per call, so use what it points to. */
export function awsExecutable(): string {
  return capture('pyenv', ['which', 'aws']) ?? 'aws';
}

/** The arguments of `aws s3 cp <file> <target>` against the S3 server at `endpoint`. */
export function awsCopyArgs(file: string, target: string, endpoint: string): string[] {
  return ['s3', 'cp', '--only-show-errors', file, target, '--endpoint-url', endpoint];
}

/** `aws s3 cp`, measured; an error when it fails. */
export function awsCopy(
  label: string,
  aws: string,
  file: string,
  target: string,
  endpoint: string,
  options: MeasureOptions,
): Promise<Measured> {
  return measureOk(label, aws, awsCopyArgs(file, target, endpoint), options);
}
