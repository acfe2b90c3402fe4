import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDocument } from '../generator/openapi/load.ts';
import type { LoadedDocument, OpenApiDocument } from '../generator/openapi/types.ts';
import { SchemaConverter, inlineSmall, schemaSize } from '../generator/schema/json-schema.ts';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/openapi');
const ajv = () => new Ajv2020({ strict: false, logger: false });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

describe('SchemaConverter', () => {
  let doc: LoadedDocument;
  beforeAll(async () => {
    doc = await loadDocument('schemas.yaml', { baseDir: fixtures });
  });

  it('turns component refs into $defs, converting each once; circular schemas terminate', () => {
    const conv = new SchemaConverter(doc.document, { mode: 'input' });
    expect(conv.convert(ref('A'))).toEqual({ $ref: '#/$defs/A' });
    const defs = conv.defs();
    expect(Object.keys(defs)).toEqual(['A', 'B', 'Node']);
    expect((defs.A.properties as Record<string, unknown>).b).toEqual({ $ref: '#/$defs/B' });
    expect((defs.B.properties as Record<string, unknown>).a).toEqual({ $ref: '#/$defs/A' });
    expect((defs.Node.properties as { children: unknown }).children).toEqual({ type: 'array', items: { $ref: '#/$defs/Node' } });
    const validate = ajv().compile({ ...conv.convert(ref('A')), $defs: defs });
    expect(validate({ b: { a: { b: null }, self: { kind: 'x', children: [{ kind: 'y' }] } } })).toBe(true);
    expect(validate({ b: { self: { kind: 'NOT LOWER' } } })).toBe(false);
  });

  it('converts the 3.0 dialect: nullable, boolean exclusive bounds, example; drops xml, discriminator, x-*', () => {
    const conv = new SchemaConverter(doc.document, { mode: 'input' });
    conv.convert(ref('Node'));
    conv.convert(ref('B'));
    const { B, Node, ...rest } = conv.defs();
    expect(Object.keys(rest)).toEqual(['A']); // reached through B
    expect(B.type).toEqual(['object', 'null']);
    expect(B).not.toHaveProperty('xml');
    expect(Node).not.toHaveProperty('discriminator');
    expect(Node).not.toHaveProperty('externalDocs');
    expect(Node.examples).toEqual([{ kind: 'leaf' }]);
    const id = doc.operations[0].parameters.find((p) => p.name === 'id')!;
    expect(conv.convert(id.schema)).toEqual({ type: 'integer', exclusiveMinimum: 0 });
    const kind = new SchemaConverter(doc.document, { mode: 'input' });
    kind.convert(ref('A'));
    expect((kind.defs().A.properties as Record<string, unknown>).kind).toEqual({ type: 'string', enum: ['x', 'y'] });
  });

  it('input mode removes readOnly properties (and their required entry); output removes writeOnly', () => {
    const input = new SchemaConverter(doc.document, { mode: 'input' });
    input.convert(ref('A'));
    const a = input.defs().A;
    expect(Object.keys(a.properties as object)).toEqual(['secret', 'b', 'kind']);
    expect(a.required).toEqual(['b']);
    const output = new SchemaConverter(doc.document, { mode: 'output' });
    output.convert(ref('A'));
    expect(Object.keys(output.defs().A.properties as object)).toEqual(['id', 'b', 'kind']);
  });

  it('allOf is kept and converted; nullable inside it becomes a null type', () => {
    const conv = new SchemaConverter(doc.document, { mode: 'input' });
    const filter = doc.operations[0].parameters.find((p) => p.name === 'filter')!;
    expect(conv.convert(filter.schema)).toEqual({ $ref: '#/$defs/Filter' });
    const defs = conv.defs();
    expect(defs.Filter.allOf).toEqual([
      { $ref: '#/$defs/Base' },
      {
        type: 'object',
        properties: {
          name: { type: ['string', 'null'], maxLength: 10 },
          when: { type: ['string', 'null'], format: 'date-time', enum: ['a', 'b', null] },
        },
      },
    ]);
    expect(defs.Base.additionalProperties).toBe(false);
    const v = ajv().compile({ ...conv.convert(filter.schema), $defs: defs });
    expect(v({ page: 1 })).toBe(true);
    expect(v({ name: null })).toBe(false); // Base forbids other properties: allOf semantics kept
    expect(v({ page: 'x' })).toBe(false);
  });

  it('output mode accepts data that strays from the document', () => {
    const conv = new SchemaConverter(doc.document, { mode: 'output' });
    const schema = { ...conv.convert(ref('A')), $defs: conv.defs() };
    const text = JSON.stringify(schema);
    for (const k of ['"required"', '"enum"', '"format"', '"pattern"', '"additionalProperties":false', '"oneOf"']) expect(text).not.toContain(k);
    const v = ajv().compile(schema);
    expect(v({ id: null, kind: 'not-in-enum', b: { self: { kind: 'UPPER', children: null } }, extra: 1 })).toBe(true);
    expect(v({ id: 'not a number' })).toBe(false);
    const base = new SchemaConverter(doc.document, { mode: 'output' });
    base.convert(ref('Base'));
    expect(base.defs().Base).toEqual({ type: ['object', 'null'], properties: { page: { type: ['integer', 'null'] } } });
  });

  it('nullable without a type becomes anyOf with null', () => {
    const conv = new SchemaConverter(doc.document, { mode: 'input' });
    expect(conv.convert({ nullable: true, allOf: [ref('Base')] })).toEqual({ anyOf: [{ allOf: [{ $ref: '#/$defs/Base' }] }, { type: 'null' }] });
    expect(conv.convert({ ...ref('Base'), nullable: true })).toEqual({ anyOf: [{ $ref: '#/$defs/Base' }, { type: 'null' }] });
    expect(conv.convert({ nullable: true, description: 'anything' })).toEqual({ description: 'anything' });
  });

  it('oneOf becomes anyOf in output mode only', () => {
    const d: OpenApiDocument = { openapi: '3.1.0', info: {}, paths: {} };
    const schema = { oneOf: [{ type: 'object', properties: { a: { type: 'string' } } }, { type: 'object', properties: { b: { type: 'string' } } }] };
    expect(new SchemaConverter(d, { mode: 'input' }).convert(schema)).toHaveProperty('oneOf');
    const out = new SchemaConverter(d, { mode: 'output' }).convert(schema);
    expect(out).not.toHaveProperty('oneOf');
    expect(ajv().compile(out)({ a: 'x', b: 'y' })).toBe(true);
  });

  it('sanitises def names and keeps them unique; one converter shares $defs across parameters', () => {
    const conv = new SchemaConverter(doc.document, { mode: 'input' });
    expect(conv.convert(ref('Odd<Name>'))).toEqual({ $ref: '#/$defs/Odd_Name_' });
    expect(conv.convert(ref('Odd_Name_'))).toEqual({ $ref: '#/$defs/Odd_Name__2' });
    expect(conv.convert(ref('A'))).toEqual({ $ref: '#/$defs/A' });
    expect(Object.keys(conv.defs())).toEqual(['A', 'B', 'Node', 'Odd_Name_', 'Odd_Name__2']);
    for (const name of Object.keys(conv.defs())) expect(name).toMatch(/^[A-Za-z0-9_.-]+$/);
  });

  it('handles 3.1 type arrays, refs that do not resolve, bad keyword values and maxDefs', () => {
    const d: OpenApiDocument = {
      openapi: '3.1.0', info: {}, paths: {},
      components: { schemas: { X: { type: 'string' }, Y: { type: 'integer' } } },
    };
    const conv = new SchemaConverter(d, { mode: 'input', maxDefs: 1 });
    const s = conv.convert({
      type: 'object',
      required: ['a', 'a', 3],
      properties: {
        a: { type: ['string', 'null'], pattern: '([' },
        b: { $ref: '#/components/schemas/Missing' },
        c: { $ref: 'other.yaml#/X' },
        x: ref('X'),
        y: ref('Y'),
        n: { type: 'number', minimum: '5', maxLength: -1 },
      },
      patternProperties: { '([': { type: 'string' } },
    });
    expect(s).toEqual({
      type: 'object',
      required: ['a'],
      properties: { a: { type: ['string', 'null'] }, b: {}, c: {}, x: { $ref: '#/$defs/X' }, y: {}, n: { type: 'number' } },
      patternProperties: {},
    });
    expect(Object.keys(conv.defs())).toEqual(['X']);
    expect(() => ajv().compile({ ...s, $defs: conv.defs() })).not.toThrow();
  });
});

describe('schemaSize and inlineSmall', () => {
  it('measures JSON length', () => {
    expect(schemaSize({ type: 'string' })).toBe(17);
  });

  it('inlines defs used once that are small and not recursive', () => {
    const schema = { type: 'object', properties: { a: { $ref: '#/$defs/Small' }, b: { $ref: '#/$defs/Loop' }, c: { $ref: '#/$defs/Twice' }, d: { $ref: '#/$defs/Twice' } } };
    const defs = {
      Small: { type: 'string' },
      Loop: { type: 'object', properties: { next: { $ref: '#/$defs/Loop' } } },
      Twice: { type: 'integer' },
    };
    const out = inlineSmall(schema, defs);
    expect(out.schema.properties).toEqual({ a: { type: 'string' }, b: { $ref: '#/$defs/Loop' }, c: { $ref: '#/$defs/Twice' }, d: { $ref: '#/$defs/Twice' } });
    expect(Object.keys(out.defs)).toEqual(['Loop', 'Twice']);
  });
});
