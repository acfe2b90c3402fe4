/** What attacks observe of the recording upstream and of an answer. */
import type { Answer, Deployment } from '../deployment.ts';
import type { Recorded } from '../recorder.ts';

/** Runs `fn` and returns it with the upstream requests made meanwhile. */
export async function during<T>(d: Deployment, fn: () => Promise<T>): Promise<{ value: T; upstream: Recorded[] }> {
  const before = d.recorder.requests.length;
  const value = await fn();
  // An answer is sent after the upstream call it made; nothing later belongs to it.
  return { value, upstream: d.recorder.requests.slice(before) };
}

/** Whether the answer is a refusal: an HTTP error, a JSON-RPC error or an isError tool result. */
export function refused(a: Answer): boolean {
  return a.status >= 400 || a.json?.error !== undefined || a.json?.result?.isError === true;
}

/** The message a refusal carries, for the detail column. */
export function message(a: Answer): string {
  const text = a.json?.error?.message ?? a.json?.result?.content?.map((c) => c.text ?? '').join(' ') ?? a.text;
  return `${a.status} ${text.replace(/\s+/g, ' ').slice(0, 140)}`;
}

/** Upstream requests that touched what `ownPrefix` (e.g. "/a/") does not own, or named a foreign vendor id. */
export function foreignTouches(upstream: Recorded[], ownPrefix: string, foreignIds: string[]): string[] {
  const out: string[] = [];
  for (const r of upstream) {
    const url = new URL(r.rawUrl, 'http://upstream');
    if (url.pathname === '/oauth/token') continue;
    if (!url.pathname.startsWith(ownPrefix)) out.push(`upstream saw ${r.method} ${r.rawUrl} (not the caller's tenant)`);
    const values = [...url.pathname.split('/'), ...url.searchParams.values()];
    for (const id of foreignIds) if (values.includes(id)) out.push(`upstream saw foreign vendor id ${id} in ${r.rawUrl}`);
  }
  return out;
}
