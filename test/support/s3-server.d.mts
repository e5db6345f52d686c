export interface S3ServerOptions {
  /** Default 'test-access-key'. */
  accessKeyId?: string;
  /** Default 'test-secret-key'. */
  secretAccessKey?: string;
  /** Default 'us-east-1'. Informational: signatures are checked against the region in the request's scope. */
  region?: string;
  /** Buckets created before the server starts listening. */
  buckets?: string[];
  /** Largest accepted request body in bytes (default 128 MiB); larger bodies get 413 EntityTooLarge. */
  bodyLimit?: number;
  /** Default 0 (a free port). The server always binds 127.0.0.1. */
  port?: number;
}

export interface S3Server {
  /** 'http://127.0.0.1:<port>' */
  endpoint: string;
  port: number;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

export function startS3Server(options?: S3ServerOptions): Promise<S3Server>;
