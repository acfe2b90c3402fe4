/**
 * A mock upstream driven by a (pruned) OpenAPI 3.x document: a real HTTP server whose answers
 * Prism generates from each operation's examples or schemas. Static mode (dynamic: false) makes
 * every answer deterministic, so tests and `serve --mock` see the same data on every run.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInstance, getHttpOperationsFromSpec } from '@stoplight/prism-http';
import type { IHttpConfig, IHttpRequest } from '@stoplight/prism-http';
import pino from 'pino';
import type { OpenApiDocument } from '../model.ts';

export interface MockUpstream {
  /** Base URL to configure as the connector's upstream (includes the document's base path). */
  url: string;
  close(): Promise<void>;
}

export interface MockOptions {
  port?: number;
  host?: string;
  /** Reject requests that break the document's parameter rules (422). Default true. */
  validateRequest?: boolean;
  /** Changes a generated answer body before it is sent (method, path under the base path, body). */
  rewrite?: (method: string, path: string, body: unknown) => unknown;
}

const MAX_BODY = 1024 * 1024;
const METHODS = new Set(['get', 'head', 'post', 'put', 'patch', 'delete', 'options', 'trace']);

/**
 * Prism dereferences the whole document before it answers anything: minutes and gigabytes for a
 * whole-document connector (Microsoft Graph's 5,824 reads), so such a mock is refused at once.
 */
export const MAX_MOCK_OPERATIONS = 1000;

export async function startMockUpstream(document: OpenApiDocument, options: MockOptions = {}): Promise<MockUpstream> {
  const count = Object.values(document.paths ?? {}).reduce((n, item) => n + Object.keys(item ?? {}).filter((k) => METHODS.has(k)).length, 0);
  if (count > MAX_MOCK_OPERATIONS) {
    throw new Error(`the mock upstream serves documents of up to ${MAX_MOCK_OPERATIONS} operations, this one has ${count} (the mock would take minutes to start); `
      + 'serve the connector against its real upstream (--config), or select fewer operations in its spec (by tag: `specgate ops <document>` lists them)');
  }
  // Prism dereferences in place; the caller's document stays untouched.
  const operations = await getHttpOperationsFromSpec(structuredClone(document) as object);
  // Prism logs through a custom `success` level; silent, since the runtime has its own logs.
  const logger = pino({ customLevels: { success: 31 }, level: 'silent' });
  const config: IHttpConfig = {
    mock: { dynamic: false },
    checkSecurity: false,
    validateRequest: options.validateRequest ?? true,
    validateResponse: false,
    errors: false,
    upstreamProxy: undefined,
    isProxy: false,
  };
  const prism = createInstance(config, { logger: logger as never });
  const basePath = basePathOf(document);

  const server = http.createServer((req, res) => {
    void handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'mock failure' }));
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://mock.invalid');
    if (basePath && !(url.pathname === basePath || url.pathname.startsWith(`${basePath}/`))) {
      return send(res, 404, { 'content-type': 'application/json' }, { title: 'Not under the base path', status: 404 });
    }
    const body = await readBody(req);
    const query: Record<string, string | string[]> = {};
    for (const [k, v] of url.searchParams) {
      const prev = query[k];
      query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
    const input: IHttpRequest = {
      method: (req.method ?? 'GET').toLowerCase() as IHttpRequest['method'],
      url: { path: url.pathname.slice(basePath.length) || '/', query },
      headers,
      ...(body ? { body: parseMaybeJson(body) } : {}),
    };
    const result = await prism.request(input, operations)();
    if (result._tag === 'Left') {
      const e = result.left as Error & { status?: number; detail?: string };
      const status = typeof e.status === 'number' ? e.status : 500;
      return send(res, status, { 'content-type': 'application/problem+json' }, { title: e.message, status, detail: e.detail ?? '' });
    }
    const out = result.right.output;
    const answer = options.rewrite && out.statusCode < 300 ? options.rewrite(input.method, input.url.path, out.body) : out.body;
    send(res, out.statusCode, out.headers ?? {}, answer);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}${basePath}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The path of the first server URL (`https://x/api/v2` or `/api` -> `/api/v2`, `/api`). */
function basePathOf(document: OpenApiDocument): string {
  const first = document.servers?.[0]?.url;
  if (!first) return '';
  try {
    // Server variables ({region}) only matter for the host part here.
    return new URL(first.replace(/\{[^}]*\}/g, 'x'), 'http://mock.invalid').pathname.replace(/\/+$/, '');
  } catch {
    return '';
  }
}

function send(res: http.ServerResponse, status: number, headers: Record<string, string>, body: unknown): void {
  const text = body === undefined || body === null ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = String(v);
  if (text && !out['content-type']) out['content-type'] = 'application/json';
  out['content-length'] = String(Buffer.byteLength(text));
  res.writeHead(status, out);
  res.end(text);
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseMaybeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
