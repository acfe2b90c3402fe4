/**
 * The executor's first and last steps on their own, with tools of the real generated catalog:
 * arguments against the input schema (messages name the argument and the rule; a customer-bound
 * parameter cannot be set), and results against the output schema (a stray answer becomes a
 * readable isError result that still carries the data).
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog, type Catalog } from '../runtime/catalog.ts';
import { validateArguments } from '../runtime/execution/validate.ts';
import { conformResult } from '../runtime/execution/conform.ts';

const root = path.resolve(import.meta.dirname, '..');
let catalog: Catalog;
beforeAll(async () => {
  catalog = await loadCatalog(path.join(root, 'generated'));
});
const tool = (name: string) => catalog.byName.get(name)!.tool;

describe('validate step', () => {
  it('passes arguments that fit the input schema', () => {
    expect(validateArguments(tool('halopsa_list_tickets'), { agent_id: 3, open_only: false, search: 'printer' })).toEqual({ ok: true });
    expect(validateArguments(tool('halopsa_list_tickets'), {})).toEqual({ ok: true });
  });

  it('names the argument and the rule', () => {
    const wrongType = validateArguments(tool('halopsa_list_tickets'), { agent_id: 'three' });
    expect(wrongType).toEqual({ ok: false, message: 'Invalid arguments: "agent_id" must be integer (type)' });
    const unknown = validateArguments(tool('halopsa_list_tickets'), { agentid: 3 });
    expect(unknown.ok).toBe(false);
    expect((unknown as { message: string }).message).toMatch(/unknown argument "agentid"/);
    const missing = validateArguments(tool('hudu_get_asset'), {});
    expect((missing as { message: string }).message).toMatch(/missing required argument "asset_id"/);
  });

  it('refuses a customer-bound parameter given as an argument, and anything but an object', () => {
    expect(validateArguments(tool('halopsa_list_tickets'), { client_id: 7 })).toEqual({ ok: false, message: 'Invalid arguments: "client_id" is bound to the caller\'s customer and cannot be set' });
    expect(validateArguments(tool('halopsa_list_tickets'), [1])).toEqual({ ok: false, message: 'Invalid arguments: expected an object of named arguments' });
    expect(validateArguments(tool('halopsa_list_tickets'), null).ok).toBe(false);
  });
});

describe('conform step', () => {
  const text = [{ type: 'text' as const, text: 'tickets' }];

  it('lets a result through that fits the output schema, and leaves errors and text-only results alone', () => {
    const fits = { content: text, structuredContent: { result: { record_count: 1, tickets: [{ id: 1, summary: 'printer' }] } } };
    expect(conformResult(tool('halopsa_list_tickets'), fits)).toBe(fits);
    const error = { content: text, isError: true };
    expect(conformResult(tool('halopsa_list_tickets'), error)).toBe(error);
  });

  it('turns a result that strays from the schema into an isError result naming where, with the data kept', () => {
    const stray = { content: text, structuredContent: { result: { record_count: 'one', tickets: [] } } };
    const out = conformResult(tool('halopsa_list_tickets'), stray);
    expect(out.isError).toBe(true);
    expect(out.structuredContent).toBeUndefined();
    expect(out.content[0]!.text).toMatch(/does not match the shape its documentation declares \(\/result\/record_count must be integer,null\)/);
    expect(out.content[1]).toEqual(text[0]);
  });
});
