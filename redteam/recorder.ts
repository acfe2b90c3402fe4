/**
 * The recording upstream: a loopback HTTP server standing in for every vendor. It records each
 * request it receives (method, raw URL, headers, body size) and answers plausible JSON, so the
 * attacks can check what reached a vendor: only allow-listed paths, only the caller's tenant's
 * credential, never an attacker's bytes.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  /** The request target exactly as received, before any decoding. */
  rawUrl: string;
  headers: http.IncomingHttpHeaders;
  bodyBytes: number;
  /** The first 64 KiB of the body (token requests carry client secrets there). */
  body: string;
}

export interface Recorder {
  url: string;
  requests: Recorded[];
  /** The OAuth token this upstream issues for client-credentials grants. */
  accessToken: string;
  close(): Promise<void>;
}

/**
 * The customer a request is about, as the gateway bound it: a customer filter in the query, or
 * the id of a company/organization/client path. The answer's records name that owner, the way a
 * vendor's would, so the gateway's response verification sees its own customer's records.
 */
function ownerOf(url: URL): string | number | undefined {
  for (const k of ['company_id', 'client_id', 'organization_id', 'companyId', 'filter[organization_id]', 'filter[organization-id]']) {
    const v = url.searchParams.get(k);
    if (v) return /^\d+$/.test(v) ? Number(v) : v;
  }
  const m = /\/(?:companies|organizations|clients)\/([^/]+)/.exec(url.pathname);
  if (m) return /^\d+$/.test(m[1]) ? Number(m[1]) : m[1];
  return undefined;
}

/** A body every generated shape can project: lists under their usual keys, and one object. */
function answerFor(url: URL, stringIds: boolean): unknown {
  const { pathname } = url;
  const owner = ownerOf(url);
  const owned = owner === undefined ? {} : { company_id: owner, client_id: owner, organization_id: owner, companyId: owner, 'organization-id': owner, company: { id: owner } };
  // Pax8 ids are UUIDs; the others are numbers.
  const item = { id: stringIds ? '5b8a0f7e-1c2d-4e3f-8a9b-0c1d2e3f4a5b' : 1, name: 'redteam item', username: 'user', url: 'https://example.invalid', archived: false, ...owned };
  const list = [item, { ...item, id: stringIds ? '6c9b1f8e-2d3e-4f4a-9b0c-1d2e3f4a5b6c' : 2, name: 'second item' }];
  const last = pathname.split('/').filter(Boolean).pop() ?? '';
  if (/^\d+$/.test(last) || /contacts\/[^/]+$/.test(pathname)) {
    const record = /\/(?:companies|organizations)\/[^/]+$/.test(pathname) && owner !== undefined ? { ...item, id: owner } : item;
    return { ...record, company: record, data: { id: String(record.id), type: 'items', attributes: record } };
  }
  if (/\/(vlans|networks|ip_addresses|procedure_tasks)$/.test(pathname)) return list;
  return {
    companies: list, asset_passwords: list, articles: list, assets: list, asset_layouts: list, expirations: list,
    folders: list, password_folders: list, procedures: list, magic_dash: list,
    data: list.map((i) => ({ id: String(i.id), type: 'items', attributes: i })), meta: { 'total-count': 2 },
    content: list, page: { size: 2, totalElements: 2, totalPages: 1, number: 0 },
  };
}

export async function startRecorder(): Promise<Recorder> {
  const requests: Recorded[] = [];
  const accessToken = `rt-upstream-access-token-${Math.random().toString(36).slice(2)}`;
  const server = http.createServer((req, res) => {
    let bytes = 0;
    let received = '';
    req.on('data', (d: Buffer) => {
      bytes += d.length;
      if (received.length < 65_536) received += d.toString('utf8');
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      requests.push({ method: req.method ?? '', rawUrl: req.url ?? '', headers: req.headers, bodyBytes: bytes, body: received.slice(0, 65_536) });
      const url = new URL(req.url ?? '/', 'http://upstream');
      const body = url.pathname.endsWith('/oauth/token')
        ? { access_token: accessToken, token_type: 'Bearer', expires_in: 3600 }
        : answerFor(url, url.pathname.includes('/pax8/'));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    accessToken,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
