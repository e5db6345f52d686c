// A fault-injecting HTTP proxy on 127.0.0.1 in front of the local S3 server. Requests are forwarded
// untouched (the Host header too, so SigV4 signatures still verify); a seeded random choice decides,
// per request, whether to inject one of:
//   503        S3's 503 SlowDown error (the request never reaches the server)
//   500        S3's 500 InternalError (the request never reaches the server)
//   reset      the connection is destroyed while the request body is still being read
//   cut        the request is served, then the connection is destroyed halfway through the response
//              body (for a write: the server stored it, the client never hears so)
// plus an added latency (a number, or a function of method and url, to hold chosen requests). `configure` changes the faults at any time; `stats` counts
// requests and every injected fault, by kind.
import { createServer, request as forward } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type FaultKind = '503' | '500' | 'reset' | 'cut';

export interface FaultSettings {
  /** Share of eligible requests that get a fault (0..1). */
  rate: number;
  /** Faults to choose from, evenly. */
  kinds: FaultKind[];
  /** Added before every request is handled; a function picks per request (to hold chosen ones). */
  latencyMs: number | ((method: string, url: string) => number);
  /** Which requests are eligible for faults. */
  match: (method: string, url: string) => boolean;
  /** Restart the random sequence. */
  seed?: number;
}

export interface FaultProxy {
  /** 'http://127.0.0.1:<port>' */
  endpoint: string;
  stats: {
    requests: number;
    forwarded: number;
    injected: Record<FaultKind, number>;
    /** `METHOD url` of every request, in order. */
    seen: string[];
  };
  configure(changes: Partial<FaultSettings>): void;
  injectedTotal(): number;
  stop(): Promise<void>;
}

/** mulberry32: a small seeded generator, so a failing run can be replayed with its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const S3_ERRORS: Record<'503' | '500', [string, string]> = {
  503: ['SlowDown', 'Please reduce your request rate.'],
  500: ['InternalError', 'We encountered an internal error. Please try again.'],
};

/** `target`: the S3 server's endpoint (http://127.0.0.1:port). */
export async function startFaultProxy({
  target,
  seed = 1,
}: {
  target: string;
  seed?: number;
}): Promise<FaultProxy> {
  const upstream = new URL(target);
  let settings: FaultSettings = {
    rate: 0,
    kinds: ['503', '500', 'reset', 'cut'],
    latencyMs: 0,
    match: () => true,
  };
  let next = random(seed);
  const stats: FaultProxy['stats'] = {
    requests: 0,
    forwarded: 0,
    injected: { 503: 0, 500: 0, reset: 0, cut: 0 },
    seen: [],
  };
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    const method = req.method!;
    const url = req.url!;
    stats.requests += 1;
    stats.seen.push(`${req.method} ${req.url}`);
    const eligible = settings.match(method, url);
    const kind: FaultKind | undefined =
      eligible && next() < settings.rate
        ? settings.kinds[Math.floor(next() * settings.kinds.length)]
        : undefined;
    const go = () => {
      if (kind === '503' || kind === '500') {
        stats.injected[kind] += 1;
        req.resume();
        req.on('end', () => {
          const [code, message] = S3_ERRORS[kind];
          const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault</RequestId></Error>`;
          res.writeHead(Number(kind), {
            'content-type': 'application/xml',
            'content-length': Buffer.byteLength(body),
          });
          res.end(body);
        });
        return;
      }
      if (kind === 'reset') {
        stats.injected.reset += 1;
        // Some of the body arrives, then the connection dies: the server never sees the request.
        req.once('data', () => req.socket.destroy());
        req.once('end', () => req.socket.destroy());
        return;
      }
      stats.forwarded += 1;
      const out = forward(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          const length = Number(answer.headers['content-length'] ?? 0);
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          if (kind !== 'cut' || length < 2) {
            // (an empty body has nothing to cut: it is served whole, and not counted)
            answer.pipe(res);
            return;
          }
          stats.injected.cut += 1;
          let sent = 0;
          const half = Math.floor(length / 2);
          answer.on('data', (chunk: Buffer) => {
            if (sent >= half) return;
            const piece = chunk.subarray(0, half - sent);
            sent += piece.length;
            res.write(piece);
            if (sent >= half) {
              answer.destroy();
              res.socket?.destroy();
            }
          });
        },
      );
      out.on('error', () => res.socket?.destroy());
      req.pipe(out);
    };
    const latency =
      typeof settings.latencyMs === 'function' ? settings.latencyMs(method, url) : settings.latencyMs;
    if (latency > 0) setTimeout(go, latency);
    else go();
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    stats,
    /** Changes the faults: rate (0..1), kinds, latencyMs, match(method, url), and optionally a new seed. */
    configure(changes: Partial<FaultSettings>) {
      settings = { ...settings, ...changes };
      if (changes.seed !== undefined) next = random(changes.seed);
    },
    /** Total faults injected so far. */
    injectedTotal() {
      return Object.values(stats.injected).reduce((sum, count) => sum + count, 0);
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
