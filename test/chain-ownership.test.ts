/**
 * The ownership step on its own, with tools of the real generated catalog and vendor answers built
 * from each tool's own response schema (the pruned vendor document in generated/<connector>/).
 * One record of another customer refuses the call; items of other customers, or items that do not
 * say whose they are, are withheld from a list and counted. Ids compare as text ("42" is 42, "042"
 * is not), UUIDs without regard to case; anything else never matches.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog, type Catalog } from '../runtime/catalog.ts';
import type { ToolModel } from '../runtime/model.ts';
import { checkOwnership, ownershipAudit, sameOwner, simplePath, typedOwner, vendorCounts, withValueAt, type OwnershipResult } from '../runtime/execution/ownership.ts';
import { answer } from './helpers/owned.ts';

const root = path.resolve(import.meta.dirname, '..');
const A = '12';
const B = '13';
let catalog: Catalog;
const docs: Record<string, Record<string, any>> = {};
beforeAll(async () => {
  catalog = await loadCatalog(path.join(root, 'generated'));
  for (const c of catalog.connectors) docs[c.model.name] = JSON.parse(fs.readFileSync(path.join(root, 'generated', c.model.name, 'openapi.json'), 'utf8'));
});
const tool = (name: string): ToolModel => catalog.byName.get(name)!.tool;
const verified = () => catalog.tools.filter((t) => t.ownership);
/** A vendor answer of `tool` with one record per owner, each marked `own-<i>` or `other-<i>`. */
const vendorAnswer = (t: ToolModel, owners: string[]) => answer(docs[t.connector]!, t, owners, (i) => (owners[i] === A ? `own-${i}` : `other-${i}`));
const isList = (t: ToolModel) => Array.isArray(vendorAnswer(t, [A])) || t.ownership!.items !== undefined;
const refusedWith = (r: OwnershipResult) => (r.ok ? undefined : r.report.refused!.code);

describe('sameOwner', () => {
  it('compares ids as text: a number is its decimal text, a string as written', () => {
    expect(sameOwner(42, '42')).toBe(true);
    expect(sameOwner('42', '42')).toBe(true);
    expect(sameOwner(JSON.parse('42.0'), '42')).toBe(true);
    expect(sameOwner('042', '42')).toBe(false);
    expect(sameOwner(42, '042')).toBe(false);
    expect(sameOwner('42 ', '42')).toBe(false);
    expect(sameOwner(' 42', '42')).toBe(false);
    expect(sameOwner(42.5, '42.5')).toBe(false);
    expect(sameOwner(-0, '0')).toBe(true);
    expect(sameOwner('abc', 'ABC')).toBe(false);
  });

  it('never matches a number that lost digits in JSON, nor anything that is not a string or a number', () => {
    expect(sameOwner(JSON.parse('9007199254740993'), '9007199254740992')).toBe(false);
    expect(sameOwner(JSON.parse('9007199254740993'), '9007199254740993')).toBe(false);
    expect(sameOwner(Number.NaN, 'NaN')).toBe(false);
    expect(sameOwner(Infinity, 'Infinity')).toBe(false);
    for (const v of [true, null, undefined, [42], ['42'], { id: 42 }, { toString: () => '42' }]) expect(sameOwner(v, '42')).toBe(false);
  });

  it('compares UUIDs without regard to case, and only UUIDs', () => {
    const id = '0b6d8e1c-4f3a-4d2b-9c1e-5a7f3e2d1c0b';
    expect(sameOwner(id.toUpperCase(), id)).toBe(true);
    expect(sameOwner(id, id.toUpperCase())).toBe(true);
    expect(sameOwner(`{${id}}`, id)).toBe(false);
    expect(sameOwner(id.replace(/-/g, ''), id)).toBe(false);
  });
});

describe('ownership of a list', () => {
  const tickets = () => tool('halopsa_list_tickets');

  it('withholds other customers\' items and items without an owner, keeps the rest in order, and leaves the vendor\'s answer untouched', () => {
    const raw = { record_count: 5, tickets: [{ id: 1, client_id: 12 }, { id: 2, client_id: 13 }, { id: 3, client_id: '12' }, { id: 4 }, { id: 5, client_id: null }, { id: 6, client_id: '' }, { id: 7, client_id: 12 }] };
    const before = structuredClone(raw);
    const r = checkOwnership(tickets(), raw, A, 'contoso');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect((r.raw as typeof raw).tickets.map((t) => t.id)).toEqual([1, 3, 7]);
    expect((r.raw as typeof raw).record_count).toBe(5);
    expect(r.report).toEqual({ withheld: 4 });
    expect(r.list).toEqual({ rawCount: 7, kept: [0, 2, 6] });
    expect(raw).toEqual(before);
    expect(ownershipAudit(r.report)).toEqual({ withheld: 4 });
  });

  it('hands back the answer itself when nothing is withheld, and an empty list is fine', () => {
    const raw = { tickets: [{ client_id: 12 }] };
    expect(checkOwnership(tickets(), raw, A, 'contoso')).toMatchObject({ ok: true, raw, report: { withheld: 0 } });
    expect(checkOwnership(tickets(), { tickets: [] }, A, 'contoso')).toMatchObject({ ok: true, report: { withheld: 0 }, list: { rawCount: 0, kept: [] } });
    expect(ownershipAudit({ withheld: 0 })).toEqual({});
  });

  it('refuses an answer without its item list, or with something else where the list should be: nothing is shown', () => {
    for (const raw of [{}, { tickets: null }, { tickets: { client_id: 12 } }, { tickets: 'all' }, [{ client_id: 12 }], null, 'text', 12, { Tickets: [{ client_id: 12 }] }]) {
      const r = checkOwnership(tickets(), raw, A, 'contoso');
      expect(refusedWith(r), JSON.stringify(raw)).toBe('unverifiable');
      expect(r.ok ? '' : r.report.refused!.message).toBe('Refused: halopsa_list_tickets answered without its item list (tickets), so whose records they are cannot be checked; nothing of it is shown');
    }
  });

  it('owner values of other types never pass for the customer\'s id', () => {
    const owners = [true, false, [12], ['12'], { id: 12 }, 12.5, '12.0', '+12', '0x0c', '1e1', -12, '12\n', 12e0];
    const r = checkOwnership(tickets(), { tickets: owners.map((client_id) => ({ client_id })) }, A, 'contoso');
    expect(r.ok && r.list!.kept).toEqual([owners.length - 1]);
  });

  it('a nested owner field: records whose owner object is missing, empty, a list or the id itself are withheld', () => {
    const agreements = tool('connectwise_list_agreements');
    expect(agreements.ownership!.field).toBe('company.id');
    const records = [{ company: { id: 12 } }, { company: { id: 13 } }, { company: {} }, { company: null }, { company: 12 }, { company: [{ id: 12 }] }, { company: { id: { id: 12 } } }, {}, { company: { id: '12', name: 'Contoso' } }];
    const r = checkOwnership(agreements, records, A, 'contoso');
    expect(r.ok && r.list).toEqual({ rawCount: records.length, kept: [0, 8] });
    expect(r.ok && r.report.withheld).toBe(7);
  });

  it('keeps up with a huge list and deep records, withholding exactly the other customers\' items', () => {
    let deep: unknown = { leaf: 'other' };
    for (let i = 0; i < 5000; i++) deep = { next: deep };
    const items = Array.from({ length: 100_000 }, (_, i) => ({ id: i, client_id: i % 3 === 0 ? 13 : 12, ...(i === 5 && { notes: deep }) }));
    const r = checkOwnership(tickets(), { record_count: items.length, tickets: items }, A, 'contoso');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const kept = (r.raw as { tickets: Array<{ id: number; client_id: number }> }).tickets;
    expect(r.report.withheld).toBe(33_334);
    expect(kept).toHaveLength(66_666);
    expect(kept.every((t) => t.client_id === 12)).toBe(true);
    expect(kept[3]).toBe(items[5]);
  });

  it('an owner declared optional (with a reason) keeps items that say nothing, never those of another customer', () => {
    const t = tickets();
    const optional: ToolModel = { ...t, ownership: { ...t.ownership!, optionalReason: 'HaloPSA leaves client_id out of internal tickets' } };
    const r = checkOwnership(optional, { tickets: [{ id: 1 }, { id: 2, client_id: 13 }, { id: 3, client_id: 12 }, { id: 4, client_id: null }] }, A, 'contoso');
    expect(r.ok && r.list!.kept).toEqual([0, 2, 3]);
  });

  it('maps what shaping returned over kept items back to the vendor\'s page, for the cursor', () => {
    const list = { rawCount: 10, kept: [0, 2, 5, 9] };
    // The model saw two of four kept items: the next page starts at the vendor's item 5.
    expect(vendorCounts(list, { available: 4, returned: 2 })).toEqual({ available: 10, returned: 5 });
    // It saw every kept item: the whole vendor page is done.
    expect(vendorCounts(list, { available: 4, returned: 4 })).toEqual({ available: 10, returned: 10 });
    expect(vendorCounts({ rawCount: 3, kept: [] }, { available: 0, returned: 0 })).toEqual({ available: 3, returned: 3 });
  });
});

describe('ownership of one record', () => {
  const ticket = () => tool('halopsa_get_ticket');

  it('shows the customer\'s record, refuses another customer\'s or one that does not say, naming the customer', () => {
    expect(checkOwnership(ticket(), { id: 1, client_id: 12 }, A, 'contoso')).toMatchObject({ ok: true, report: { withheld: 0 } });
    const other = checkOwnership(ticket(), { id: 1, client_id: 13 }, A, 'contoso');
    expect(other).toEqual({ ok: false, report: { withheld: 0, refused: { code: 'other-customer', message: 'Refused: the record halopsa_get_ticket reads belongs to another customer, not "contoso" (the customer of this conversation); nothing of it is shown' } } });
    expect(ownershipAudit(other.report)).toEqual({ step: 'ownership', code: 'other-customer' });
    const none = checkOwnership(ticket(), { id: 1 }, A, 'contoso');
    expect(none.ok ? '' : none.report.refused!.message).toBe('Refused: the record halopsa_get_ticket reads does not say which customer it belongs to (client_id is missing), so nothing of it is shown');
  });

  it('an empty answer shows nothing and passes; anything but a record is unverifiable', () => {
    expect(checkOwnership(ticket(), null, A, 'contoso')).toEqual({ ok: true, raw: null, report: { withheld: 0 } });
    for (const raw of ['12', 12, true]) expect(refusedWith(checkOwnership(ticket(), raw, A, 'contoso'))).toBe('unverifiable');
  });

  it('a list where one record was expected is checked item by item, not passed whole', () => {
    const r = checkOwnership(ticket(), [{ client_id: 12 }, { client_id: 13 }], A, 'contoso');
    expect(r.ok && r.list).toEqual({ rawCount: 2, kept: [0] });
  });

  it('a check made for another tool (a parent record) names the tool the caller called', () => {
    const r = checkOwnership(tool('halopsa_get_client'), { id: 13 }, A, 'contoso', 'halopsa_list_sites');
    expect(r.ok ? '' : r.report.refused!.message).toMatch(/^Refused: the record halopsa_list_sites reads belongs to another customer/);
  });

  it('a UUID owner (Datto RMM\'s site uid) matches in either case', () => {
    const id = '0b6d8e1c-4f3a-4d2b-9c1e-5a7f3e2d1c0b';
    expect(checkOwnership(tool('datto_rmm_get_device'), { siteUid: id.toUpperCase() }, id, 'contoso').ok).toBe(true);
    expect(refusedWith(checkOwnership(tool('datto_rmm_get_device'), { siteUid: id.replace('0b6d', '0b6e') }, id, 'contoso'))).toBe('other-customer');
  });
});

describe('every verified tool of the catalog, answered from its own response schema', () => {
  it('withholds another customer\'s items from each list and refuses another customer\'s record', () => {
    expect(verified().length).toBeGreaterThan(50);
    for (const t of verified()) {
      const mixed = vendorAnswer(t, [A, B, A, B]);
      const r = checkOwnership(t, mixed, A, 'contoso');
      if (isList(t)) {
        expect(r.ok, t.name).toBe(true);
        if (!r.ok) continue;
        expect(r.report.withheld, t.name).toBe(2);
        expect(r.list, t.name).toEqual({ rawCount: 4, kept: [0, 2] });
        const shown = JSON.stringify(r.raw);
        expect(shown, t.name).toContain('own-0');
        expect(shown, t.name).not.toMatch(/other-\d/);
      } else {
        expect(r.ok, t.name).toBe(true);
        expect(refusedWith(checkOwnership(t, vendorAnswer(t, [B]), A, 'contoso')), t.name).toBe('other-customer');
      }
    }
  });

  it('treats a record without its owner field as no customer\'s', () => {
    const single = verified().filter((t) => !isList(t));
    expect(single.length).toBeGreaterThan(10);
    for (const t of single) {
      const record = withValueAt(vendorAnswer(t, [A]), simplePath(t.ownership!.field)!, null);
      expect(refusedWith(checkOwnership(t, record, A, 'contoso')), t.name).toBe('no-owner');
    }
  });
});

describe('owner paths for mocks and tests', () => {
  it('reads simple JMESPath owner fields as property names, and nothing else', () => {
    expect(simplePath('client_id')).toEqual(['client_id']);
    expect(simplePath('company.id')).toEqual(['company', 'id']);
    expect(simplePath('attributes."organization-id"')).toEqual(['attributes', 'organization-id']);
    expect(simplePath('@')).toEqual([]);
    for (const expr of ['items[0].id', 'a || b', '.a', '', 'a[*]', 'a..b', '"unterminated']) expect(simplePath(expr), expr).toBeUndefined();
  });

  it('writes an owner without touching the record it was given, typed as the vendor types it', () => {
    const record = { company: { id: 1, name: 'x' } };
    const written = withValueAt(record, ['company', 'id'], 12);
    expect(written).toEqual({ company: { id: 12, name: 'x' } });
    expect(record.company.id).toBe(1);
    expect(withValueAt(null, ['a', 'b'], 1)).toEqual({ a: { b: 1 } });
    expect(typedOwner(7, '12')).toBe(12);
    expect(typedOwner('x', '12')).toBe('12');
    expect(typedOwner(7, '9007199254740993')).toBe('9007199254740993');
    expect(typedOwner(7, 'abc')).toBe('abc');
  });
});
