/**
 * The admin API as the console calls it. The key lives in sessionStorage: it is gone when the tab
 * closes, and no cookie carries it, so another site cannot make the browser use it (no CSRF).
 */
const STORAGE = 'specgate.adminKey';
export const PREFIX = '/admin/v1';

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly field?: string) {
    super(message);
  }
}

export const session = {
  key: (): string | null => sessionStorage.getItem(STORAGE),
  set: (key: string) => sessionStorage.setItem(STORAGE, key),
  clear: () => sessionStorage.removeItem(STORAGE),
};

export interface Who { subject: string; tenantId: string | null }

async function request(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const key = session.key();
  if (key) headers.set('authorization', `Bearer ${key}`);
  if (init.body !== undefined) headers.set('content-type', 'application/json');
  const res = await fetch(`${PREFIX}${path}`, { ...init, headers });
  if (!res.ok) {
    const body = (await res.json().catch(() => null)) as { error?: { code: string; message: string; field?: string } } | null;
    throw new ApiError(res.status, body?.error?.code ?? 'error', body?.error?.message ?? `${res.status} ${res.statusText}`, body?.error?.field);
  }
  return res;
}

export async function get<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, String(v));
  const qs = q.toString();
  return (await request(qs ? `${path}?${qs}` : path)).json() as Promise<T>;
}

export async function send<T>(method: 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const res = await request(path, { method, ...(body !== undefined && { body: JSON.stringify(body) }) });
  return (res.status === 204 ? undefined : res.json()) as Promise<T>;
}

/** Downloads a text export (CSV) through the authenticated API as a file. */
export async function download(path: string, query: Record<string, string>, filename: string): Promise<void> {
  const res = await request(`${path}?${new URLSearchParams(query)}`, { headers: { accept: 'text/csv' } });
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export const enc = encodeURIComponent;
