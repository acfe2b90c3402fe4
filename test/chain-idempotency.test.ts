/**
 * The idempotency step on its own: reading the caller's key, whose keys they are, and running a
 * keyed call once, over the real store's usage rows (SQLite) and tools of the real generated
 * catalog. A key names one call (tool, customer, arguments) of one credential of one tenant: a
 * re-delivery is answered with the first delivery's result, never run twice, and a key used for
 * anything else is refused, never answered with another call's result.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog, type Catalog } from '../runtime/catalog.ts';
import type { CallToolResult } from '../runtime/tool-call.ts';
import { createIdempotency, idempotencyKey, keyOwner, type CallBinding, type Idempotency } from '../runtime/governance/idempotency.ts';
import { Refusal, type GovernanceRequest } from '../runtime/governance/refusal.ts';
import type { Identity } from '../runtime/governance/authenticate.ts';
import { openStore, tenantsRepo, usageRepo, type Store } from '../runtime/store/index.ts';

const root = path.resolve(import.meta.dirname, '..');
let catalog: Catalog;
let store: Store;
beforeAll(async () => {
  catalog = await loadCatalog(path.join(root, 'generated'));
  store = await openStore('sqlite::memory:');
  await tenantsRepo(store).createTenant({ id: 'msp-a', name: 'A' });
});
afterAll(async () => store?.close());

const tool = (name: string) => catalog.byName.get(name)!.tool.name;
const request = (headers: Record<string, string | undefined>, meta?: Record<string, unknown>): GovernanceRequest => ({ headers, ...(meta && { meta }), requestId: 'r1' });
const apiKey = (subject: string, keyId = `sg_${subject}`): Identity => ({ subject, tenantId: 'msp-a', roles: ['technician'], keyId, method: 'api_key' });
const token = (subject: string, issuer: string): Identity => ({ subject, tenantId: 'msp-a', roles: ['technician'], keyId: `oidc:${issuer}#sub:${subject}`, method: 'oidc', issuer });

const idempotency = (): Idempotency => createIdempotency({ ranCall: usageRepo(store).ranCall });
const answer = (text: string): CallToolResult => ({ content: [{ type: 'text', text }] });

/** An execute that counts its runs and answers once released, so deliveries can overlap it. */
function vendorCall(result: CallToolResult = answer('tickets')) {
  let release!: () => void;
  const released = new Promise<void>((r) => { release = r; });
  const run = { count: 0, release, execute: async () => { run.count++; await released; return result; } };
  return run;
}

/** The refusal `p` rejects with. */
async function refusalOf(p: Promise<unknown>): Promise<Refusal> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(Refusal);
  return e as Refusal;
}

describe('the idempotency key', () => {
  it('comes from the Idempotency-Key header or the stdio _meta field, and is absent when neither is sent', () => {
    expect(idempotencyKey(request({ 'idempotency-key': 'k-1' }))).toBe('k-1');
    expect(idempotencyKey(request({}, { 'io.specgate/idempotency-key': 'k-2' }))).toBe('k-2');
    expect(idempotencyKey(request({ 'idempotency-key': 'k-3' }, { 'io.specgate/idempotency-key': 'k-3' }))).toBe('k-3');
    expect(idempotencyKey(request({}))).toBeUndefined();
    expect(idempotencyKey(request({}, { other: 'x' }))).toBeUndefined();
  });

  it('refuses two different keys in one request rather than picking one', () => {
    expect(() => idempotencyKey(request({ 'idempotency-key': 'a' }, { 'io.specgate/idempotency-key': 'b' })))
      .toThrow(expect.objectContaining({ step: 'request', code: 'idempotency-key-mismatch', status: 400 }));
  });

  it('refuses a malformed key rather than ignoring it: empty, spaces, control or non-ASCII characters, too long, not a string', () => {
    const bad: unknown[] = ['', 'a b', 'tab\there', 'line\nbreak', 'nul\0', 'clé', 'x'.repeat(256), 42, { k: 1 }, ['k'], null];
    for (const key of bad) {
      const req = typeof key === 'string' ? request({ 'idempotency-key': key }) : request({}, { 'io.specgate/idempotency-key': key });
      expect(() => idempotencyKey(req), JSON.stringify(key)).toThrow(expect.objectContaining({ code: 'bad-idempotency-key', status: 400 }));
    }
    expect(idempotencyKey(request({ 'idempotency-key': 'x'.repeat(255) }))).toHaveLength(255);
    expect(idempotencyKey(request({ 'idempotency-key': '!~"#$%&()*+,-./:;<=>?@[\\]^_`{|}' }))).toBe('!~"#$%&()*+,-./:;<=>?@[\\]^_`{|}');
  });

  it('belongs to one credential: an API key by its id, a token by its issuer and subject', () => {
    const owners = [
      keyOwner(apiKey('alice')), keyOwner(apiKey('alice', 'sg_alice2')), keyOwner(apiKey('bob')),
      keyOwner(token('alice', 'https://idp-1.example')), keyOwner(token('alice', 'https://idp-2.example')), keyOwner(token('bob', 'https://idp-1.example')),
    ];
    expect(new Set(owners).size).toBe(owners.length);
    // A token's jti differs on every token; its subject is the same caller.
    expect(keyOwner({ ...token('alice', 'https://idp-1.example'), keyId: 'oidc:https://idp-1.example#jti-2' })).toBe(owners[3]);
    // An API key whose id looks like a token owner is still an API key's.
    expect(keyOwner(apiKey('x', 'oidc\nhttps://idp-1.example\nalice'))).not.toBe(owners[3]);
  });

  it('becomes a call id per tenant, credential and key that does not carry the key itself', () => {
    const idem = idempotency();
    const id = idem.callId('msp-a', keyOwner(apiKey('alice')), 'order-17');
    expect(id).toMatch(/^idem-[0-9a-f]{40}$/);
    expect(id).not.toContain('order-17');
    expect(idempotency().callId('msp-a', keyOwner(apiKey('alice')), 'order-17')).toBe(id);
    expect(new Set([
      id,
      idem.callId('msp-b', keyOwner(apiKey('alice')), 'order-17'),
      idem.callId('msp-a', keyOwner(apiKey('bob')), 'order-17'),
      idem.callId('msp-a', keyOwner(apiKey('alice')), 'order-18'),
    ]).size).toBe(4);
    // Parts that read the same once joined with line breaks are still different calls.
    expect(new Set([
      idem.callId('msp-a\nowner', 'x', 'order-17'),
      idem.callId('msp-a', 'owner\nx', 'order-17'),
      idem.callId('msp-a', 'owner', 'x\norder-17'),
    ]).size).toBe(3);
  });
});

describe('running a keyed call once', () => {
  const tickets = (args: Record<string, unknown> = { search: 'printer', limit: 5 }, customer: string | null = 'contoso'): CallBinding =>
    ({ tool: tool('halopsa_list_tickets'), customer, arguments: args });

  it('runs the first delivery and answers a re-delivery with its result, without running it again', async () => {
    const idem = idempotency();
    const vendor = vendorCall();
    vendor.release();
    const first = await idem.once('idem-1', tickets(), vendor.execute);
    const second = await idem.once('idem-1', tickets({ limit: 5, search: 'printer' }), vendor.execute);
    expect(first).toEqual({ result: answer('tickets'), replayed: false });
    expect(second.replayed).toBe(true);
    expect(second.result).toBe(first.result);
    expect(vendor.count).toBe(1);
  });

  it('refuses the key for other arguments, another tool or another customer, naming which, and keeps the first call\'s result', async () => {
    const idem = idempotency();
    const vendor = vendorCall();
    vendor.release();
    await idem.once('idem-2', tickets(), vendor.execute);
    const cases: Array<[CallBinding, string]> = [
      [tickets({ search: 'printer', limit: 6 }), 'other arguments'],
      [tickets({ search: 'printer' }), 'other arguments'],
      [tickets({ search: 'printer', limit: '5' }), 'other arguments'],
      [{ ...tickets(), tool: tool('halopsa_list_assets') }, 'another tool'],
      [tickets(undefined, 'fabrikam'), 'another customer'],
      [tickets(undefined, null), 'another customer'],
    ];
    for (const [call, what] of cases) {
      const r = await refusalOf(idem.once('idem-2', call, vendor.execute));
      expect(r).toMatchObject({ step: 'request', code: 'idempotency-key-reused', status: 400 });
      expect(r.message).toBe(`Refused: this Idempotency-Key was already used for a call with ${what}; a key names one call (tool, customer and arguments), so use a new key for a new call`);
    }
    expect(vendor.count).toBe(1);
    expect(await idem.once('idem-2', tickets(), vendor.execute)).toMatchObject({ result: answer('tickets'), replayed: true });
  });

  it('concurrent deliveries of one call run it exactly once; all get its result', async () => {
    const idem = idempotency();
    const vendor = vendorCall();
    const deliveries = Array.from({ length: 25 }, () => idem.once('idem-3', tickets(), vendor.execute));
    // A delivery of something else under the same key, while the first runs, is refused at once.
    await refusalOf(idem.once('idem-3', tickets({ search: 'other' }), vendor.execute));
    vendor.release();
    const outcomes = await Promise.all(deliveries);
    expect(vendor.count).toBe(1);
    expect(outcomes.filter((o) => !o.replayed)).toHaveLength(1);
    expect(new Set(outcomes.map((o) => o.result)).size).toBe(1);
  });

  it('another credential\'s key of the same text is another call, run on its own', async () => {
    const idem = idempotency();
    const vendor = vendorCall();
    vendor.release();
    const alice = idem.callId('msp-a', keyOwner(apiKey('alice')), 'same-key');
    const bob = idem.callId('msp-a', keyOwner(apiKey('bob')), 'same-key');
    const viaToken = idem.callId('msp-a', keyOwner(token('alice', 'https://idp-1.example')), 'same-key');
    for (const id of [alice, bob, viaToken]) expect((await idem.once(id, tickets(), vendor.execute)).replayed).toBe(false);
    expect(vendor.count).toBe(3);
  });

  it('a delivery that failed without an answer may be retried with the same key; an error answer is kept like any answer', async () => {
    const idem = idempotency();
    let runs = 0;
    const failing = async (): Promise<CallToolResult> => { runs++; throw new Error('socket hang up'); };
    const both = [idem.once('idem-4', tickets(), failing), idem.once('idem-4', tickets(), failing)];
    for (const p of both) await expect(p).rejects.toThrow('socket hang up');
    expect(runs).toBe(1);
    expect(await idem.once('idem-4', tickets(), async () => { runs++; return answer('second try'); })).toEqual({ result: answer('second try'), replayed: false });
    expect(runs).toBe(2);

    const vendorError: CallToolResult = { content: [{ type: 'text', text: 'HaloPSA answered 500' }], isError: true };
    await idem.once('idem-5', tickets(), async () => vendorError);
    expect(await idem.once('idem-5', tickets(), async () => answer('must not run'))).toEqual({ result: vendorError, replayed: true });
  });

  it('a call the store says already ran is not run again by an instance that no longer holds its result', async () => {
    const usage = usageRepo(store);
    await usage.record({
      callId: 'idem-ran', tenantId: 'msp-a', customerId: 'contoso', subject: 'alice', connector: 'halopsa', tool: tool('halopsa_list_tickets'),
      outcome: 'ok', latencyMs: 12, upstreamBytes: 100, units: 1, at: '2026-11-18T15:00:00.000Z',
    });
    // Another instance, or this one after a restart: nothing held in memory.
    const restarted = idempotency();
    const vendor = vendorCall();
    vendor.release();
    const again = await restarted.once('idem-ran', tickets(), vendor.execute);
    expect(vendor.count).toBe(0);
    expect(again.replayed).toBe(true);
    expect(again.result).toEqual({ isError: true, content: [{ type: 'text', text: 'This call (same Idempotency-Key) already ran at 2026-11-18T15:00:00.000Z; its result is no longer held here, so it is not run again' }] });

    // The store knows the tool and customer: those are still checked.
    expect((await refusalOf(idempotency().once('idem-ran', { ...tickets(), tool: tool('halopsa_list_assets') }, vendor.execute))).message).toMatch(/another tool/);
    expect((await refusalOf(idempotency().once('idem-ran', tickets(undefined, 'fabrikam'), vendor.execute))).message).toMatch(/another customer/);
    expect(vendor.count).toBe(0);
  });

  it('holds no more results than it is told to; a result it let go of is answered from the store', async () => {
    const idem = createIdempotency({ ranCall: usageRepo(store).ranCall, max: 1 });
    await idem.once('idem-evicted', tickets(), async () => answer('first'));
    await usageRepo(store).record({
      callId: 'idem-evicted', tenantId: 'msp-a', customerId: 'contoso', subject: 'alice', connector: 'halopsa', tool: tool('halopsa_list_tickets'),
      outcome: 'ok', latencyMs: 1, upstreamBytes: 1, units: 1, at: '2026-11-18T15:01:00.000Z',
    });
    await idem.once('idem-other', tickets(), async () => answer('second'));
    let ran = false;
    const replay = await idem.once('idem-evicted', tickets(), async () => { ran = true; return answer('again'); });
    expect(ran).toBe(false);
    expect(replay.result.content[0]).toMatchObject({ text: expect.stringMatching(/already ran at 2026-11-18T15:01:00\.000Z/) });
  });
});
