export interface GitHttpServer {
  /** http://127.0.0.1:<port>; repositories are served as <url>/<path below root>. */
  url: string;
  requests: Array<{ url: string; headers: Record<string, string | string[] | undefined> }>;
  stop(): Promise<void>;
}

/** Serves every repository below `root`; requests must carry Basic x-access-token:<token> (or user:password from otherCredentials). */
export function startGitHttpServer(options: {
  root: string;
  token: string;
  otherCredentials?: string[];
}): Promise<GitHttpServer>;
