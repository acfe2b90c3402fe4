/**
 * Fuzzing tool arguments: for each tool of the generated helpdesk connector, arguments derived
 * from its input schema and then mutated (wrong types, huge strings, unicode, dot segments in
 * plain and percent-encoded form, encoded slashes, CRLF and NUL), called through the official MCP
 * client. The upstream must only ever see requests on the connector's allow-list (method, path
 * template, host) and for the tool that was called; invalid arguments get an error that names the
 * argument and the rule; nothing fails "unexpectedly".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Client } from '@modelcontextprotocol/client';
import { apiKeysRepo, settingsRepo, tenantsRepo } from '../runtime/store/index.ts';
import type { AllowedRequest, ToolModel } from '../runtime/model.ts';
import { startFaultyUpstream, type FaultyUpstream, type ReceivedRequest } from './helpers/faulty-upstream.ts';
import { governedClient, helpdeskAnswer, startGoverned, type Governed, type ToolResult } from './helpers/governed.ts';
import { fuzzParameters, watchUnhandledRejections } from './helpers/fuzz.ts';

/** What path, query and header injection tries. */
const HOSTILE = [
  '..', '.', '../', '../../admin', '..%2f..%2fadmin', '%2e%2e%2f', '%2e%2e', '%2F', 'a%2Fb', 'a/b', '..\\..\\win', '%5c',
  '%252e%252e%252f', 'a\r\nX-Injected: 1', '\r\n\r\nGET /admin HTTP/1.1', 'a\u0000b', '?admin=1', '#frag', ' ', '',
  '😀', 'Ω≈ç√', '\u202e', 'ﬁ', '\uFEFF', '\uD800', '//evil.example.com/x', 'http://evil.example.com/', '@evil.example.com',
];

/** How each rule reads in an argument error: the ajv keyword in parentheses, or the runtime's own wording. */
const RULES = /\((type|maxLength|minLength|maximum|minimum|enum|format|pattern)\)|missing required|unknown argument|line break or NUL|path segment|bound to the caller's customer|cannot contain|not valid Unicode|header value cannot carry|not a cursor/;

type Schema = { type?: string; maximum?: number; properties?: Record<string, Schema>; required?: string[] };

const hostile = fc.oneof(
  fc.constantFrom(...HOSTILE),
  fc.tuple(fc.string({ maxLength: 6 }), fc.constantFrom(...HOSTILE), fc.string({ maxLength: 6 })).map((p) => p.join('')),
);
const huge = fc.integer({ min: 1_000, max: 100_000 }).map((n) => 'x'.repeat(n));
const unicode = fc.string({ unit: 'grapheme', maxLength: 30 });
const wrongType = fc.oneof(fc.constant(null), fc.boolean(), fc.double(), fc.array(fc.anything({ maxDepth: 1 }), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 }));

/** A value that fits the property's schema. */
function valid(schema: Schema): fc.Arbitrary<unknown> {
  switch (schema.type) {
    case 'integer': return fc.integer({ min: 0, max: schema.maximum ?? 1_000_000 });
    case 'number': return fc.double({ noNaN: true, noDefaultInfinity: true });
    case 'boolean': return fc.boolean();
    default: return fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 12 });
  }
}

/** Valid values mostly, the mutations often enough to matter. */
function value(schema: Schema): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 3, arbitrary: valid(schema) },
    { weight: 3, arbitrary: hostile },
    { weight: 1, arbitrary: huge },
    { weight: 1, arbitrary: unicode },
    { weight: 1, arbitrary: wrongType },
    { weight: 1, arbitrary: fc.integer({ min: -1e12, max: 1e12 }) },
  );
}

/** Arguments for a tool: its properties (required ones mostly present), sometimes an extra key. */
function argumentsFor(tool: ToolModel): fc.Arbitrary<Record<string, unknown>> {
  const schema = tool.inputSchema as Schema;
  const props = Object.fromEntries(Object.entries(schema.properties ?? {}).map(([k, s]) => [k, value(s)]));
  const known = fc.record(props, { requiredKeys: [] });
  const required = schema.required ?? [];
  // An undeclared or customer-bound key in one case out of four.
  const extra = fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.dictionary(fc.constantFrom('client_id', 'tenant_id', '__proto__', 'constructor', '../x', 'id\r\n'), value({}), { minKeys: 1, maxKeys: 2 }) },
  );
  return fc.tuple(known, fc.array(fc.constantFrom(...required, ''), { maxLength: 2 }), extra, fc.boolean()).map(([args, dropped, more, keepRequired]) => {
    const out: Record<string, unknown> = { ...args, ...(more ?? {}) };
    // Required arguments are present unless this case is about leaving them out.
    if (keepRequired) {
      for (const r of required) if (!(r in out)) out[r] = 'value';
    } else {
      for (const d of dropped) delete out[d];
    }
    return out;
  });
}

/** `/articles/{slug}` against a raw request path: literal segments equal, each parameter one safe segment. */
function matchesTemplate(template: string, rawPath: string): boolean {
  const want = template.split('/');
  const got = rawPath.split('/');
  if (want.length !== got.length) return false;
  return want.every((w, i) => {
    const g = got[i]!;
    if (!/^\{[^}]+\}$/.test(w)) return w === g;
    let decoded: string;
    try {
      decoded = decodeURIComponent(g);
    } catch {
      return false;
    }
    // What the vendor's router will see after one decoding: never another path.
    return g !== '' && decoded !== '.' && decoded !== '..' && !/[/\\\r\n\0]/.test(decoded);
  });
}

describe('argument fuzzing of every tool of a generated connector', () => {
  let up: FaultyUpstream;
  let rt: Governed;
  let client: Client;
  const rejections = watchUnhandledRejections();

  beforeAll(async () => {
    up = await startFaultyUpstream({ answer: helpdeskAnswer });
    rt = await startGoverned({
      prefix: 'fuzz-arguments',
      upstreams: { helpdesk: { baseUrl: up.url } },
      caller: { timeoutMs: 5000, retries: 0 },
      async seed(store) {
        await tenantsRepo(store).createTenant({ id: 'msp-a', name: 'MSP A' });
        await tenantsRepo(store).createCustomer({ id: 'contoso', tenantId: 'msp-a', name: 'Contoso' });
        await tenantsRepo(store).setVendorId('contoso', 'helpdesk', '4242');
        await settingsRepo(store).grant('msp-a', 'helpdesk', '*');
      },
    });
    const { key } = await apiKeysRepo(rt.store).create({ tenantId: 'msp-a', subject: 'alice', roles: ['technician'] });
    client = await governedClient(rt.url, { authorization: `Bearer ${key}`, 'specgate-customer': 'contoso' });
  });
  afterAll(async () => {
    rejections.stop();
    await client?.close();
    await rt?.close();
    await up?.close();
  });

  /** Every request the upstream received is on the allow-list, for this tool, at this host. */
  function expectAllowed(received: ReceivedRequest[], tool: ToolModel, allowList: AllowedRequest[]) {
    const host = new URL(up.url).host;
    for (const r of received) {
      const url = new URL(r.url, up.origin);
      const rest = url.pathname.slice('/api'.length);
      expect(r.headers.host, r.url).toBe(host);
      expect(url.pathname.startsWith('/api/'), r.url).toBe(true);
      expect(allowList.some((a) => a.method === r.method && matchesTemplate(a.path, rest)), `${r.method} ${r.url} is on no allow-list entry`).toBe(true);
      expect(r.method === tool.operation.method && matchesTemplate(tool.operation.path, rest), `${r.method} ${r.url} is not ${tool.name}'s request`).toBe(true);
      expect(url.searchParams.getAll('client_id').every((v) => v === '4242'), r.url).toBe(true);
      for (const v of Object.values(r.headers)) expect(String(v)).not.toMatch(/[\r\n\0]/);
      expect(r.headers['x-injected']).toBeUndefined();
    }
  }

  /** An argument error names an argument of the call or of the schema, and says which rule failed. */
  function expectClearError(text: string, tool: ToolModel, args: Record<string, unknown>) {
    expect(text, 'an unexpected failure is not a clear error').not.toMatch(/unexpectedly|^Tool \S+ failed:/);
    if (!text.startsWith('Invalid arguments')) return;
    const names = new Set([...Object.keys(args), ...Object.keys((tool.inputSchema as Schema).properties ?? {})]);
    const quoted = [...text.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
    expect(quoted.some((q) => names.has(q)), `no argument named in: ${text}`).toBe(true);
    expect(text, `no rule named in: ${text}`).toMatch(RULES);
  }

  it.each(['helpdesk_get_article', 'helpdesk_get_ticket', 'helpdesk_list_tickets'])('%s: only allow-listed requests leave, bad arguments are named', async (name) => {
    const tool = rt.model.tools.find((t) => t.name === name)!;
    expect(tool).toBeDefined();
    let sentUpstream = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(argumentsFor(tool), async (args) => {
        const mark = up.requests.length;
        const r = (await client.callTool({ name, arguments: args })) as ToolResult;
        const received = up.requests.slice(mark);
        expectAllowed(received, tool, rt.model.allowList);
        expect(received.length).toBeLessThanOrEqual(1);
        sentUpstream += received.length;
        if (r.isError) {
          refused++;
          expectClearError(r.content[0]!.text, tool, args);
        } else {
          expect(received).toHaveLength(1);
        }
      }),
      fuzzParameters(60),
    );
    console.info(`fuzz-arguments ${name}: ${sentUpstream} calls reached the upstream, ${refused} refused`);
    // Both sides of the property were exercised.
    expect(sentUpstream).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
    expect(rejections.seen).toEqual([]);
  });
});
