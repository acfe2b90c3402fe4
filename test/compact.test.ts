/**
 * Compact results: null and empty fields dropped unless the output schema requires them (so a
 * compacted result validates wherever the full one did, checked against every tool of the real
 * launch catalog), lists rendered as a header and a line per item, the token count of each result
 * measured, and the token budget applied to the compact text.
 */
import { describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { countTokens } from 'gpt-tokenizer';
import { compactValue, renderList, renderResult } from '../runtime/execution/compact.ts';
import { shapeResult, TOKENS_META } from '../runtime/execution/shape.ts';
import { loadCatalog } from '../runtime/catalog.ts';
import type { JsonSchema, ToolModel } from '../runtime/model.ts';
import { makeTool } from './fixtures/call/harness.ts';

const ajv = new Ajv2020({ strict: false, validateFormats: false });

describe('compactValue', () => {
  it('drops null, empty-string, empty-array and empty-object properties the schema does not require', () => {
    const schema = { type: 'object', properties: { a: {}, b: {}, c: {}, d: {}, e: {}, f: { type: 'object' } } };
    expect(compactValue({ a: null, b: '', c: [], d: {}, e: 0, f: { g: null } }, schema)).toEqual({ e: 0 });
  });

  it('keeps a required property even when null, at any depth, and the result still validates', () => {
    const schema = {
      type: 'object', required: ['id', 'name'],
      properties: { id: { type: 'integer' }, name: { type: ['string', 'null'] }, note: { type: ['string', 'null'] },
        owner: { type: 'object', required: ['email'], properties: { email: { type: ['string', 'null'] }, phone: { type: ['string', 'null'] } } } },
    };
    const value = { id: 1, name: null, note: null, owner: { email: null, phone: null } };
    const compacted = compactValue(value, schema);
    expect(compacted).toEqual({ id: 1, name: null, owner: { email: null } });
    expect(ajv.validate(schema, compacted)).toBe(true);
  });

  it('merges allOf requirements, follows local $refs, and keeps everything under anyOf/oneOf', () => {
    const root = {
      $defs: { person: { type: 'object', required: ['title'], properties: { title: { type: ['string', 'null'] }, x: {} } } },
      type: 'object',
      properties: {
        p: { $ref: '#/$defs/person' },
        all: { allOf: [{ required: ['k'] }, { properties: { k: {}, j: {} } }] },
        any: { anyOf: [{ type: 'object', required: ['z'] }, { type: 'null' }] },
      },
    };
    const value = { p: { title: null, x: null }, all: { k: null, j: null }, any: { z: null, y: null } };
    const compacted = compactValue(value, root) as Record<string, unknown>;
    expect(compacted).toEqual({ p: { title: null }, all: { k: null }, any: { z: null, y: null } });
    expect(ajv.validate(root, compacted)).toBe(true);
    // A $ref that does not resolve: nothing dropped under it.
    expect(compactValue({ q: { a: null } }, { properties: { q: { $ref: 'https://elsewhere/x.json' } } })).toEqual({ q: { a: null } });
  });

  it('keeps every array element, and survives a very deep value', () => {
    expect(compactValue([null, '', { a: null }], { type: 'array', items: { type: 'object' } })).toEqual([null, '', {}]);
    let deep: Record<string, unknown> = { leaf: null };
    for (let i = 0; i < 10_000; i++) deep = { next: deep, gap: null };
    expect(() => compactValue(deep, { type: 'object' })).not.toThrow();
  });

  it('keeps every launch tool\'s output valid: a record with every field null compacts to one that still validates', async () => {
    const catalog = await loadCatalog('generated');
    let dropped = 0;
    for (const tool of catalog.tools) {
      const schema = tool.outputSchema as Record<string, unknown>;
      const resultSchema = (schema.properties as Record<string, JsonSchema>).result;
      const value = { result: sparse(resultSchema, schema, 0) };
      if (!ajv.validate(schema, value)) continue; // only values the full schema accepts are a fair test
      const compacted = { result: compactValue(value.result, resultSchema, schema) };
      expect(ajv.validate(schema, compacted), `${tool.name}: ${JSON.stringify(ajv.errors)}`).toBe(true);
      if (JSON.stringify(compacted).length < JSON.stringify(value).length) dropped++;
    }
    expect(dropped).toBeGreaterThan(catalog.tools.length / 2);
  });
});

/** A value of `schema` with every nullable field null and one item per array: the sparse vendor record. */
function sparse(schema: JsonSchema | undefined, root: Record<string, unknown>, depth: number): unknown {
  if (typeof schema !== 'object' || schema === null || depth > 8) return null;
  let s = schema as Record<string, unknown>;
  if (typeof s.$ref === 'string') {
    s = s.$ref.slice(2).split('/').reduce<Record<string, unknown>>((n, k) => n[k] as Record<string, unknown>, root);
  }
  const types = Array.isArray(s.type) ? s.type : [s.type];
  if (types.includes('object') || s.properties) {
    return Object.fromEntries(Object.entries((s.properties ?? {}) as Record<string, JsonSchema>).map(([k, v]) => {
      const t = (v as Record<string, unknown>).type;
      const nullable = Array.isArray(t) ? t.includes('null') : false;
      return [k, nullable && !['object', 'array'].some((x) => (t as string[]).includes(x)) ? null : sparse(v, root, depth + 1)];
    }));
  }
  if (types.includes('array')) return [sparse(s.items as JsonSchema, root, depth + 1)];
  if (types.includes('null')) return null;
  if (types.includes('string')) return '';
  if (types.includes('integer') || types.includes('number')) return 0;
  if (types.includes('boolean')) return false;
  return null;
}

describe('compact rendering of lists', () => {
  it('renders a header of the keys the items use and one line per item, quoting what would break a line', () => {
    expect(renderList([{ id: 1, name: 'a|b' }, { id: 2, note: 'two\nlines' }])).toBe('id | name | note\n1 | "a|b" | \n2 |  | "two\\nlines"');
    expect(renderList(['x', 2])).toBe('x\n2');
    expect(renderResult({ result: { total: 2, rows: [{ a: 1 }] }, nextCursor: 'c' }, ['rows'])).toBe('{"result":{"total":2},"nextCursor":"c"}\nrows (1):\na\n1');
    expect(renderResult({ result: { id: 1 } }, undefined)).toBe('{"result":{"id":1}}');
  });
});

describe('shaped results: compact, measured, within budget', () => {
  const companySchema = {
    type: 'object', required: ['result'],
    properties: { result: { type: 'array', items: { type: 'object', required: ['id'], properties: Object.fromEntries(['id', 'name', 'phone', 'fax', 'website', 'notes', 'address2', 'territory', 'parent', 'market'].map((k) => [k, { type: ['string', 'integer', 'null'] }])) } } },
  };
  const tool = (shape: ToolModel['shape']) => makeTool({ name: 't', operation: { method: 'GET', path: '/x', operationId: 'x' }, shape, outputSchema: companySchema });
  // 25 sparse companies: most fields null, as PSA data mostly is.
  const companies = Array.from({ length: 25 }, (_, i) => ({ id: i, name: `Company ${i}`, phone: i % 5 === 0 ? '555-0100' : null, fax: null, website: null, notes: '', address2: null, territory: null, parent: null, market: null }));

  it('drops the nulls, renders the list compactly, and reports the token count of the text', () => {
    const { result } = shapeResult(tool({ itemsPath: '@' }), companies);
    const items = result.structuredContent!.result as Array<Record<string, unknown>>;
    expect(items[1]).toEqual({ id: 1, name: 'Company 1' });
    expect(items[0]).toEqual({ id: 0, name: 'Company 0', phone: '555-0100' });
    expect(ajv.validate(companySchema, result.structuredContent)).toBe(true);
    const text = result.content.map((c) => c.text).join('\n');
    expect(result._meta![TOKENS_META]).toBe(countTokens(text));
    const full = countTokens(JSON.stringify({ result: companies }));
    expect(result._meta![TOKENS_META] as number).toBeLessThan(full / 2);
  });

  it('caps by the token budget on the compact text, and says so', () => {
    const { result } = shapeResult(tool({ itemsPath: '@', tokenBudget: 60 }), companies);
    const text = result.content.map((c) => c.text).join('\n');
    expect(countTokens(text)).toBeLessThanOrEqual(60 + 40); // the marker line is outside the budgeted text
    expect(result.structuredContent!.truncated).toMatchObject({ reason: 'tokenBudget', available: 25 });
    expect(text).toContain('[truncated: showing');
    expect(result._meta![TOKENS_META]).toBe(countTokens(text));
  });
});
