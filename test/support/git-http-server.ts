// A git smart-HTTP server on 127.0.0.1 (real `git http-backend` behind node's http server) that,
// like GitHub, wants a token: no credentials → 401, a wrong token → 403, an unknown repo → 404.
// It records every request's URL and headers so tests can check how the token was sent.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { Readable } from 'node:stream';

export interface GitHttpServer {
  /** http://127.0.0.1:<port>; repositories are served as <url>/<path below root>. */
  url: string;
  requests: Array<{ url: string; headers: Record<string, string | string[] | undefined> }>;
  stop(): Promise<void>;
}

/** Serves every repository below `root`; requests must carry Basic x-access-token:<token> (or user:password from otherCredentials). */
export async function startGitHttpServer({
  root,
  token,
  otherCredentials = [],
}: {
  root: string;
  token: string;
  otherCredentials?: string[];
}): Promise<GitHttpServer> {
  const requests: GitHttpServer['requests'] = [];
  const server = createServer((request, response) => {
    requests.push({ url: request.url!, headers: { ...request.headers } });
    const accepted = [`x-access-token:${token}`, ...otherCredentials].map(
      (pair) => `Basic ${Buffer.from(pair).toString('base64')}`,
    );
    const given = request.headers.authorization;
    if (!given) {
      response.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' }).end('authentication required\n');
      return;
    }
    if (!accepted.includes(given.replace(/^basic/i, 'Basic'))) {
      response.writeHead(403).end('token has no access\n');
      return;
    }
    const url = new URL(request.url!, 'http://localhost');
    const repository = url.pathname.split('/info/')[0].split('/git-')[0];
    if (!existsSync(path.join(root, repository))) {
      response.writeHead(404).end('Repository not found\n');
      return;
    }
    const cgi = spawn('git', ['http-backend'], {
      env: {
        ...process.env,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: url.pathname,
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: request.method!,
        CONTENT_TYPE: request.headers['content-type'] ?? '',
        HTTP_CONTENT_ENCODING: request.headers['content-encoding'] ?? '',
        GIT_PROTOCOL: String(request.headers['git-protocol'] ?? ''),
        REMOTE_USER: 'x-access-token',
      },
    });
    request.pipe(cgi.stdin);
    respondWithCgi(cgi.stdout, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Turns CGI output (headers, blank line, body) into an HTTP response. */
function respondWithCgi(stdout: Readable, response: ServerResponse): void {
  let head = Buffer.alloc(0);
  let headersDone = false;
  stdout.on('data', (chunk: Buffer) => {
    if (headersDone) return void response.write(chunk);
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end === -1) return;
    headersDone = true;
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of head.subarray(0, end).toString().split('\r\n')) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === 'status') status = parseInt(value, 10);
      else headers[name] = value;
    }
    response.writeHead(status, headers);
    response.write(head.subarray(end + 4));
  });
  stdout.on('end', () => response.end());
}
