/**
 * The OPA decider against a local server that speaks OPA's data API (POST /v1/data/<path> with
 * `{ input }`, answering `{ result }`, or `{}` when the document is undefined).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createOpaHttpDecider } from '../runtime/policy/opa-http.ts';
import type { Decision, PolicyInput } from '../runtime/policy/types.ts';

const received: Array<{ url: string; contentType?: string; body: { input: PolicyInput } }> = [];
let server: http.Server;
let url: string;

/** Stands in for a Rego policy: deny tagged password tools, approve high risk, allow technicians. */
function fakeRego(input: PolicyInput): unknown {
  const deny = (input.tool.tags ?? []).includes('passwords') ? ['password tools are restricted'] : [];
  return {
    allow: input.identity.roles.includes('technician'),
    deny,
    require_approval: input.tool.riskTier === 'high',
    reasons: input.identity.roles.includes('technician') ? [{ rule: 'msp/technician', effect: 'allow' }] : [],
    obligations: { redact: ['password', 'otp_secret', 'password'], maxItems: 25 },
  };
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const body = JSON.parse(raw || '{}') as { input: PolicyInput };
      received.push({ url: req.url ?? '', contentType: req.headers['content-type'], body });
      const send = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(payload));
      };
      if (req.method !== 'POST') return send(405, { code: 'method_not_allowed' });
      switch (req.url) {
        case '/v1/data/specgate/msp/decision': return send(200, { result: fakeRego(body.input), decision_id: `opa-${received.length}` });
        case '/v1/data/specgate/msp/allow': return send(200, { result: body.input.tenant === 't1' });
        case '/v1/data/broken': return send(500, { code: 'internal_error', message: 'eval_conflict_error' });
        case '/v1/data/slow': setTimeout(() => send(200, { result: { allow: true } }), 500); return;
        default: return send(200, {}); // undefined document, as OPA answers for an unknown path
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const input = (over: Partial<PolicyInput> = {}): PolicyInput => ({
  identity: { subject: 'tech-1', roles: ['technician'] },
  tenant: 't1',
  connector: 'hudu',
  tool: { name: 'hudu_list', riskTier: 'low', tags: [] },
  time: '2026-11-18T15:00:00Z',
  ...over,
});

describe('OPA HTTP decider', () => {
  it('POSTs { input } to /v1/data/<path> and maps allow, reasons, obligations and the decision id', async () => {
    const log: Decision[] = [];
    const decide = createOpaHttpDecider({ url, path: 'specgate.msp.decision', onDecision: (d) => log.push(d) });
    const d = await decide(input());
    const req = received.at(-1)!;
    expect(req.url).toBe('/v1/data/specgate/msp/decision');
    expect(req.contentType).toBe('application/json');
    expect(req.body.input).toMatchObject({ tenant: 't1', tool: { name: 'hudu_list' }, customer: null, arguments: {}, time: '2026-11-18T15:00:00Z' });
    expect(d).toEqual({
      id: `opa-${received.length}`, effect: 'allow', allow: true, time: '2026-11-18T15:00:00Z', source: `${url}/v1/data/specgate/msp/decision`,
      reasons: [{ rule: 'msp/technician', effect: 'allow' }], obligations: { redact: ['otp_secret', 'password'], maxItems: 25 }, errors: [],
    });
    expect(log).toEqual([d]);
  });

  it('maps require_approval and a deny set, deny winning', async () => {
    const decide = createOpaHttpDecider({ url, path: '/specgate/msp/decision/' });
    expect((await decide(input({ tool: { name: 'x', riskTier: 'high', tags: [] } }))).effect).toBe('require_approval');
    const denied = await decide(input({ tool: { name: 'x', riskTier: 'high', tags: ['passwords'] } }));
    expect(denied).toMatchObject({ effect: 'deny', allow: false, obligations: { redact: [] } });
    expect(denied.reasons[0]).toEqual({ rule: 'opa/deny', effect: 'deny', message: 'password tools are restricted' });
    const nobody = await decide(input({ identity: { subject: 'b', roles: ['billing'] } }));
    expect(nobody).toMatchObject({ effect: 'deny', reasons: [{ rule: 'opa/default', effect: 'deny' }] });
  });

  it('reads a bare boolean document as allow, with a fresh UUID when OPA gives no decision id', async () => {
    const decide = createOpaHttpDecider({ url: `${url}/`, path: 'specgate/msp/allow' });
    const yes = await decide(input());
    expect(yes).toMatchObject({ effect: 'allow', reasons: [{ rule: 'opa/allow', effect: 'allow' }] });
    expect(yes.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    expect((await decide(input({ tenant: 't2' }))).effect).toBe('deny');
  });

  it('fails closed: undefined document, server error, timeout and unreachable server all deny with why', async () => {
    const undef = await createOpaHttpDecider({ url, path: 'no/such/rule' })(input());
    expect(undef).toMatchObject({ effect: 'deny', reasons: [{ rule: 'opa/undefined', message: `no document at ${url}/v1/data/no/such/rule` }] });
    const broken = await createOpaHttpDecider({ url, path: 'broken' })(input());
    expect(broken).toMatchObject({ effect: 'deny', errors: [{ rule: 'opa/error', message: expect.stringContaining('OPA answered 500') }] });
    const slow = await createOpaHttpDecider({ url, path: 'slow', timeoutMs: 100 })(input());
    expect(slow.errors[0].message).toBe('OPA did not answer within 100 ms');
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const down = await createOpaHttpDecider({ url: `http://127.0.0.1:${port}`, path: 'x' })(input());
    expect(down).toMatchObject({ effect: 'deny', allow: false, reasons: [{ rule: 'opa/error' }] });
  });
});
