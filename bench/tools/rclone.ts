// rclone: `rclone copy` of one file to the bench bucket (remote `bench:`, from the environment) or a folder.
import * as path from 'node:path';
import { type MeasureOptions, type Measured, measureOk } from '../lib/measure.js';
import { CREDENTIALS } from '../lib/s3.js';

/** The environment of rclone: the remote `bench` (the S3 server), no config file. */
export function rcloneEnvironment(env: NodeJS.ProcessEnv, tmp: string, endpoint: string): NodeJS.ProcessEnv {
  const rcloneEnv: NodeJS.ProcessEnv = {
    ...env,
    RCLONE_CONFIG: path.join(tmp, 'rclone.conf'), // absent: no config file, the remote is below
    RCLONE_CONFIG_BENCH_TYPE: 's3',
    RCLONE_CONFIG_BENCH_PROVIDER: 'Other',
    RCLONE_CONFIG_BENCH_ENDPOINT: endpoint,
    RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    RCLONE_CONFIG_BENCH_REGION: CREDENTIALS.region,
    // rclone's multipart uploads fail against the test server: its CompleteMultipartUpload body escapes
    // the ETags' quotes as &#34;, which fauxqs's parser does not decode (InvalidPart). So rclone uploads
    // every file (up to 5 GiB) in one PUT, as it does by default below 200 MiB.
    RCLONE_CONFIG_BENCH_UPLOAD_CUTOFF: '5G',
  };
  delete rcloneEnv.AWS_CA_BUNDLE;
  return rcloneEnv;
}

/** `rclone copy <file> <target>` (target: `bench:<bucket>/<prefix>/` or `<folder>/`), measured. */
export function rcloneCopy(
  label: string,
  file: string,
  target: string,
  options: MeasureOptions,
): Promise<Measured> {
  return measureOk(label, 'rclone', ['copy', file, target], options);
}
