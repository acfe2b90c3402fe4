/**
 * A real HTTP upstream (node:http on 127.0.0.1) that misbehaves on command, for the fault-injection
 * suite: slow, hanging, resetting, bursts of 5xx, 429 with Retry-After, truncated or invalid JSON,
 * a huge streamed body, a redirect to another host. It logs every request it receives, so a test
 * can count retries exactly.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  /** The default: a JSON answer from `answer`. */
  | { kind: 'ok' }
  /** Answers normally after `delayMs`. */
  | { kind: 'slow'; delayMs: number }
  /** Never answers (the client's timeout must end the attempt). */
  | { kind: 'hang' }
  /** Destroys the socket before any byte of a response. */
  | { kind: 'reset' }
  /** Sends the status line, headers and half a body, then destroys the socket. */
  | { kind: 'reset-mid-response' }
  /** Content-Length larger than the body sent, then the socket is destroyed: truncated JSON. */
  | { kind: 'truncated-json' }
  /** 200 with a body that is not JSON. */
  | { kind: 'invalid-json' }
  /** This status, with an optional JSON body and headers. */
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  /** 429 with the given Retry-After value. */
  | { kind: 'rate-limited'; retryAfter: string }
  /** A body of `bytes` bytes streamed in chunks, with or without a Content-Length header. */
  | { kind: 'huge'; bytes: number; declareLength: boolean }
  /** A redirect to `location` (meant to be another host). */
  | { kind: 'redirect'; status: 301 | 302 | 303 | 307 | 308; location: string };

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  fault: Fault['kind'];
}

export interface FaultyUpstream {
  /** Base URL including the base path, as a connector's upstream. */
  url: string;
  origin: string;
  /** Every request received, in order. */
  requests: ReceivedRequest[];
  /** Bytes written by `huge` answers so far (the client must stop reading long before the end). */
  hugeBytesSent(): number;
  /**
   * The behaviour of the next requests: the first `times` requests (default all) get `fault`,
   * the ones after that the normal answer.
   */
  set(fault: Fault, times?: number): void;
  close(): Promise<void>;
}

export interface FaultyUpstreamOptions {
  basePath?: string;
  /** The normal answer for a request (URL parsed, base path kept). */
  answer?: (url: URL) => unknown;
}

const CHUNK = Buffer.alloc(64 * 1024, 'x');

export async function startFaultyUpstream(options: FaultyUpstreamOptions = {}): Promise<FaultyUpstream> {
  const basePath = options.basePath ?? '/api';
  const answer = options.answer ?? (() => ({ ok: true }));
  const requests: ReceivedRequest[] = [];
  let fault: Fault = { kind: 'ok' };
  let remaining = Infinity;
  let hugeSent = 0;
  const pending = new Set<NodeJS.Timeout>();

  const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body === undefined ? '' : JSON.stringify(body));
  };

  const streamHuge = (res: http.ServerResponse, bytes: number, declareLength: boolean) => {
    res.writeHead(200, { 'content-type': 'application/json', ...(declareLength ? { 'content-length': String(bytes) } : {}) });
    let left = bytes;
    // Honour backpressure so the upstream itself never holds more than a socket buffer's worth.
    const pump = () => {
      while (left > 0 && !res.destroyed) {
        const n = Math.min(left, CHUNK.byteLength);
        left -= n;
        hugeSent += n;
        if (!res.write(n === CHUNK.byteLength ? CHUNK : CHUNK.subarray(0, n))) return void res.once('drain', pump);
      }
      if (left === 0) res.end();
    };
    pump();
  };

  const server = http.createServer((req, res) => {
    const current: Fault = remaining > 0 ? fault : { kind: 'ok' };
    remaining--;
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, fault: current.kind });
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    switch (current.kind) {
      case 'ok':
        return json(res, 200, answer(url));
      case 'slow': {
        const t = setTimeout(() => {
          pending.delete(t);
          if (!res.destroyed) json(res, 200, answer(url));
        }, current.delayMs);
        pending.add(t);
        return;
      }
      case 'hang':
        return;
      case 'reset':
        return void req.socket.destroy();
      case 'reset-mid-response': {
        const body = JSON.stringify(answer(url));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(body.slice(0, Math.ceil(body.length / 2)));
        // Let the first bytes leave before the connection dies.
        setImmediate(() => req.socket.destroy());
        return;
      }
      case 'truncated-json': {
        const body = JSON.stringify(answer(url));
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length + 100) });
        res.write(body.slice(0, Math.ceil(body.length / 2)));
        setImmediate(() => req.socket.destroy());
        return;
      }
      case 'invalid-json':
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end('{"id": 1, "summary": ');
      case 'status':
        return json(res, current.status, current.body, current.headers);
      case 'rate-limited':
        return json(res, 429, { error: 'slow down' }, { 'retry-after': current.retryAfter });
      case 'huge':
        return streamHuge(res, current.bytes, current.declareLength);
      case 'redirect':
        res.writeHead(current.status, { location: current.location });
        return void res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}${basePath}`,
    origin,
    requests,
    hugeBytesSent: () => hugeSent,
    set(next, times = Infinity) {
      fault = next;
      remaining = times;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of pending) clearTimeout(t);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
