/**
 * The guarded fetch each call hands its generated client: scope bound per call, never shared;
 * the client's own fetch refuses; the allow-list and the tool's own operation are checked before
 * credentials are added or anything is sent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createUpstreamGuard, type CallScope, type UpstreamGuard } from '../runtime/upstream/guard.ts';
import { startRecorder, type Recorder } from './fixtures/call/harness.ts';

const allowList = [
  { method: 'GET' as const, path: '/tickets/{id}' },
  { method: 'GET' as const, path: '/companies' },
];

function scopeFor(path: string): CallScope {
  return { expected: { method: 'GET', path }, bytes: 0, secrets: new Set() };
}

describe('upstream guard', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0)) await c();
  });

  async function setup(authenticate?: (req: Request) => void): Promise<{ up: Recorder; guard: UpstreamGuard }> {
    const up = await startRecorder((url) => ({ body: { path: url.pathname, pad: url.pathname.includes('7') ? 'x'.repeat(500) : '' } }));
    const guard = createUpstreamGuard({ connector: 'acme', baseUrl: up.url, allowList, timeoutMs: 5_000, maxResponseBytes: 1 << 20, ...(authenticate && { authenticate }) });
    cleanup.push(() => up.close(), () => guard.close());
    return { up, guard };
  }

  it('refuses a request made without a call\'s own fetch, and sends nothing', async () => {
    const { up, guard } = await setup();
    await expect(guard.unscoped(new Request(`${up.url}/companies`))).rejects.toThrow(/GET request made outside a tool call/);
    expect(up.requests).toHaveLength(0);
  });

  it('refuses an allow-listed request that is not the calling tool\'s operation, before credentials', async () => {
    let authenticated = 0;
    const { up, guard } = await setup(() => void authenticated++);
    const scope = scopeFor('/tickets/{id}');
    await expect(guard.fetchFor(scope)(new Request(`${up.url}/companies`))).rejects.toThrow(/is not the request of this tool \(GET \/tickets\/\{id\}\)/);
    expect(authenticated).toBe(0);
    expect(scope.dispatched).toBeUndefined();
    expect(up.requests).toHaveLength(0);
  });

  it('keeps concurrent calls\' scopes apart: each one\'s bytes, status and secrets are its own', async () => {
    let n = 0;
    const { up, guard } = await setup((req) => req.headers.set('authorization', `Bearer secret-token-${++n}`));
    const a = scopeFor('/tickets/{id}');
    const b = scopeFor('/tickets/{id}');
    const fa = guard.fetchFor(a);
    const fb = guard.fetchFor(b);
    // Started together: a hand-off through shared state would give one call the other's scope.
    const [ra, rb] = await Promise.all([fa(new Request(`${up.url}/tickets/7`)), fb(new Request(`${up.url}/tickets/1`))]);
    expect(await ra.json()).toMatchObject({ path: '/api/tickets/7' });
    expect(await rb.json()).toMatchObject({ path: '/api/tickets/1' });
    expect(a.bytes).toBeGreaterThan(500);
    expect(b.bytes).toBeLessThan(100);
    expect(a.status).toBe(200);
    expect(a.dispatched).toBe(true);
    expect(b.dispatched).toBe(true);
    expect([...a.secrets].some((s) => s.startsWith('Bearer secret-token-'))).toBe(true);
    expect([...a.secrets].filter((s) => b.secrets.has(s))).toEqual([]);
    expect(up.requests).toHaveLength(2);
  });

  it('adds up the bytes of every request of one call (retries, parent checks) in its scope', async () => {
    const { up, guard } = await setup();
    const scope = scopeFor('/tickets/{id}');
    const fetch = guard.fetchFor(scope);
    await (await fetch(new Request(`${up.url}/tickets/7`))).text();
    const once = scope.bytes;
    await (await fetch(new Request(`${up.url}/tickets/7`))).text();
    expect(scope.bytes).toBe(once * 2);
  });
});
