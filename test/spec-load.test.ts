import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { loadSpec, parseSpec, SCHEMA_COMMENT, SCHEMA_FILE, SCHEMA_ID, specSchema, specValidator } from '../generator/spec/load.ts';
import { VALIDATOR_FILE, validatorFor, validatorSource } from '../generator/spec/validator.ts';
import * as precompiled from '../generator/spec/spec-validator.generated.ts';
import { DiagnosticError, formatDiagnostic, formatDiagnostics, hasErrors, sortDiagnostics } from '../generator/spec/diagnostics.ts';
import type { ConnectorSpec, Diagnostic, ToolSpec } from '../generator/spec/types.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, 'fixtures', 'specs');
const bad = (name: string) => path.join(fixtures, 'bad', name);

describe('loading a valid spec', () => {
  it('loads the full-featured fixture with no diagnostics', async () => {
    const file = path.join(fixtures, 'valid-full.yaml');
    const { loaded, diagnostics } = await loadSpec(file);
    expect(diagnostics).toEqual([]);
    expect(loaded?.file).toBe(file);
    expect(loaded?.spec.connector).toBe('halopsa');
    expect(loaded?.spec.tools?.[0].pagination).toBe(false);
    expect(loaded?.spec.tools?.[0].parameters?.includedetails.fixed).toBe(true);
    expect(loaded?.spec.select?.[2].operation).toBe('GET /Asset');
  });

  it('has a yaml-language-server comment that points at the schema file', () => {
    const file = path.join(fixtures, 'valid-full.yaml');
    const first = fs.readFileSync(file, 'utf8').split('\n')[0];
    const rel = path.relative(path.dirname(file), SCHEMA_FILE);
    expect(first).toBe(SCHEMA_COMMENT(rel));
    expect(first).toBe('# yaml-language-server: $schema=../../../generator/spec/spec.schema.json');
    expect(fs.existsSync(path.resolve(path.dirname(file), rel))).toBe(true);
  });

  it('positionOf finds nodes and falls back to the nearest existing parent', async () => {
    const file = path.join(fixtures, 'valid-full.yaml');
    const { loaded } = await loadSpec(file);
    const pos = (p: Array<string | number>) => {
      const { line, column } = loaded!.positionOf(p);
      return `${line}:${column}`;
    };
    expect(pos(['connector'])).toBe('3:12'); // the scalar value
    expect(pos(['document', 'sha256'])).toBe('8:11');
    expect(pos(['tools', 0, 'parameters', 'id', 'rename'])).toBe('45:17');
    expect(pos(['tools', 1])).toBe('58:5'); // a sequence item: the start of its mapping
    expect(pos(['tools', 0, 'parameters'])).toBe('43:5'); // a mapping under a key: the key
    // Absent nodes: the nearest parent that exists.
    expect(pos(['tools', 0, 'parameters', 'nope', 'rename'])).toBe('43:5');
    expect(pos(['tools', 99, 'name'])).toBe('35:1');
    expect(pos(['lint', 'ignore', 5])).toBe('73:3');
    expect(pos(['connector', 'deeper'])).toBe('3:12');
    expect(pos([])).toBe('2:1'); // the root mapping starts after the schema comment
    expect(loaded!.positionOf(['tools']).file).toBe(file);
  });

  it('accepts a spec that uses every field of the TypeScript types', () => {
    const validate = specValidator();
    expect(validate(everyField), JSON.stringify(validate.errors)).toBe(true);
    // And the typed example really exercises every property the schema knows.
    expect(uncovered(everyField)).toEqual([]);
  });
});

describe('bad input gives file:line:column and a clear message', () => {
  const cases: Array<{ file: string; at: string; code: string; message: string; hint?: string }> = [
    { file: 'yaml-syntax.yaml', at: '2:12', code: 'spec/yaml', message: 'Nested mappings are not allowed in compact mappings', hint: 'must be quoted' },
    { file: 'duplicate-key.yaml', at: '5:1', code: 'spec/duplicate-key', message: 'duplicate key "connector" (first written at line 2)' },
    { file: 'unknown-top-key.yaml', at: '5:1', code: 'spec/schema', message: 'unknown top-level key "tols"', hint: 'did you mean "tools"?' },
    { file: 'unknown-param-key.yaml', at: '11:9', code: 'spec/schema', message: 'unknown key "renam" in tools[1].parameters.x', hint: 'did you mean "rename"?' },
    { file: 'wrong-type.yaml', at: '8:17', code: 'spec/schema', message: 'tools[0].response.maxItems must be a whole number, found the string "ten"' },
    { file: 'bad-enum.yaml', at: '7:15', code: 'spec/schema', message: 'tools[0].riskTier is "extreme", which is not one of low, medium, high', hint: 'allowed values: low, medium, high' },
    { file: 'both-refs.yaml', at: '7:5', code: 'spec/schema', message: 'tools[0] needs exactly one of `operationId` or `operation`, found both', hint: 'keep only one of: operationId, operation' },
    { file: 'neither-ref.yaml', at: '7:5', code: 'spec/schema', message: 'tools[1] needs exactly one of `operationId` or `operation`, found neither' },
    { file: 'bad-sha256.yaml', at: '5:11', code: 'spec/schema', message: 'document.sha256 "0123456789ABCDEF" is not a valid sha256', hint: '64 lower-case hex digits' },
    { file: 'missing-connector.yaml', at: '1:1', code: 'spec/schema', message: 'missing the required top-level key "connector"', hint: 'connector: Machine name' },
    { file: 'empty.yaml', at: '1:1', code: 'spec/empty', message: 'the spec is empty' },
    { file: 'list.yaml', at: '1:1', code: 'spec/schema', message: 'the spec must be a mapping, found a list' },
  ];
  for (const c of cases) {
    it(c.file, async () => {
      const { loaded, diagnostics } = await loadSpec(bad(c.file));
      expect(loaded).toBeUndefined();
      expect(diagnostics).toHaveLength(1);
      const [d] = diagnostics;
      expect(`${d.line}:${d.column}`).toBe(c.at);
      expect(d).toMatchObject({ file: bad(c.file), severity: 'error', code: c.code });
      expect(d.message).toContain(c.message);
      if (c.hint) expect(d.hint).toContain(c.hint);
    });
  }

  it('bad operation strings: an unknown method, and a lower-case one with an upper-case hint', async () => {
    const { diagnostics } = await loadSpec(bad('bad-operation.yaml'));
    expect(diagnostics.map((d) => `${d.line}:${d.column} ${d.message} | ${d.hint}`)).toEqual([
      '6:16 tools[0].operation "FETCH /x" is not a valid operation | "FETCH" is not an HTTP method; use one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, TRACE, e.g. "GET /x"',
      '7:16 tools[1].operation "get /x" is not a valid operation | write the method in upper case: "GET /x"',
    ]);
  });

  it('folds oneOf/anyOf cascades into one message per problem', () => {
    const text = [
      'specgate: 1', //                               1
      'connector: halopsa', //                        2
      'document: {source: a.json}', //                3
      'select:', //                                   4
      '  - exclude: [getX]', //                       5
      'tools:', //                                    6
      '  - operationId: a', //                        7
      '    pagination: yes', //                       8
      '  - operationId: b', //                        9
      '    pagination:', //                           10
      '      style: pages', //                        11
      '      pageSize: 10', //                        12
      '  - operationId: c', //                        13
      '    pagination: {}', //                        14
    ].join('\n');
    const { diagnostics } = parseSpec('/x/spec.yaml', text);
    expect(diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`)).toEqual([
      '5:5 select[0] needs at least one of `tags`, `methods`, `paths`, `operationId`, `operation`',
      '8:17 tools[0].pagination must be a mapping (pagination settings) or false, found the string "yes"',
      '11:14 tools[1].pagination.style is "pages", which is not one of page, offset, cursor, link, next-url',
      '12:7 unknown key "pageSize" in tools[1].pagination',
      '14:5 tools[2].pagination is missing the required key "style"',
    ]);
    expect(diagnostics[2].hint).toContain('did you mean "page"?');
  });

  it('reports a wrong value type once, not with every rule that then fails too', () => {
    const { diagnostics } = parseSpec('/x/spec.yaml', 'specgate: 2\nconnector: Halo-PSA\ndocument:\ntools: [nope]\n');
    expect(diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`)).toEqual([
      '1:11 specgate must be 1, found 2',
      '2:12 connector "Halo-PSA" is not a valid connector name',
      '3:1 document must be a mapping, found nothing',
      '4:9 tools[0] must be a mapping, found the string "nope"',
    ]);
    expect(diagnostics[1].hint).toContain('e.g. "halo_psa"');
  });

  it('supports anchors and merge keys, so tools can share settings', () => {
    const text = [
      'specgate: 1',
      'connector: halopsa',
      'document: {source: a.json}',
      'tools:',
      '  - operationId: a',
      '    response: &small {maxItems: 5}',
      '  - operationId: b',
      '    response:',
      '      <<: *small',
      '      redact: [password]',
      '      maxItem: 3',
    ].join('\n');
    const { diagnostics, loaded } = parseSpec('/x/spec.yaml', text);
    expect(diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`)).toEqual(['11:7 unknown key "maxItem" in tools[1].response']);
    expect(loaded).toBeUndefined();
    const ok = parseSpec('/x/spec.yaml', text.replace('      maxItem: 3', ''));
    expect(ok.diagnostics).toEqual([]);
    expect(ok.loaded?.spec.tools?.[1].response).toEqual({ maxItems: 5, redact: ['password'] });
  });

  it('reads an unquoted all-digit sha256 as the text written, not as a number', () => {
    const digest = '0'.repeat(60) + '1e23';
    const { loaded, diagnostics } = parseSpec('/x/spec.yaml', `specgate: 1\nconnector: x\ndocument:\n  source: a\n  sha256: ${digest}\n`);
    expect(diagnostics).toEqual([]);
    expect(loaded?.spec.document.sha256).toBe(digest);
  });

  it('reports an unknown alias where it is used', () => {
    const { diagnostics } = parseSpec('/x/spec.yaml', 'specgate: 1\nconnector: *name\ndocument: {source: a}\n');
    expect(diagnostics).toMatchObject([{ line: 2, column: 12, code: 'spec/yaml', message: 'unknown alias *name' }]);
  });

  it('a comment-only file is empty, and a missing file is a diagnostic, not a crash', async () => {
    expect(parseSpec('/x/spec.yaml', '# nothing here\n').diagnostics).toMatchObject([{ code: 'spec/empty', line: 1, column: 1 }]);
    const { diagnostics } = await loadSpec(bad('does-not-exist.yaml'));
    expect(diagnostics).toMatchObject([{ code: 'spec/read', severity: 'error', message: 'cannot read the spec: the file does not exist' }]);
  });

  it('never throws, whatever the text', () => {
    const valid = fs.readFileSync(path.join(fixtures, 'valid-full.yaml'), 'utf8');
    const lines = valid.split('\n');
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        const r = parseSpec('/x/spec.yaml', text);
        expect(r.loaded !== undefined || hasErrors(r.diagnostics)).toBe(true);
      }),
      { numRuns: 300 },
    );
    // Damaged versions of a real spec: lines dropped or re-indented.
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(lines.length - 1), fc.constantFrom('drop', 'indent', 'dedent')), { maxLength: 4 }), (edits) => {
        const out = [...lines];
        for (const [i, op] of edits) out[i] = op === 'drop' ? '' : op === 'indent' ? `  ${out[i]}` : out[i].replace(/^ {1,2}/, '');
        const r = parseSpec('/x/spec.yaml', out.join('\n'));
        for (const d of r.diagnostics) {
          expect(d.line).toBeGreaterThanOrEqual(1);
          expect(d.line).toBeLessThanOrEqual(lines.length + 1);
          expect(d.message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('spec.schema.json', () => {
  it('is validated by the precompiled code of this very schema (else run `npm run spec-validator`)', () => {
    expect(fs.readFileSync(VALIDATOR_FILE, 'utf8'), 'generator/spec/spec-validator.generated.ts is stale: run `npm run spec-validator`').toBe(validatorSource());
    expect(specValidator()).toBe(precompiled.validate);
  });

  it('is compiled at start-up instead when the precompiled code is of another schema', () => {
    const text = fs.readFileSync(SCHEMA_FILE, 'utf8');
    const stale = { schemaSha256: '0'.repeat(64), validate: () => true };
    const validate = validatorFor(stale, text, specSchema());
    expect(validate).not.toBe(stale.validate);
    expect(validate({ specgate: 1, connector: 'x' })).toBe(false);
    expect(validate.errors?.map((e) => e.keyword)).toContain('required');
    // The schema's own text, digest and all, picks the precompiled code.
    expect(validatorFor(precompiled, text, specSchema())).toBe(precompiled.validate);
  });

  it('compiles in ajv strict mode and is a valid 2020-12 schema', () => {
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    expect(ajv.validateSchema(specSchema()), JSON.stringify(ajv.errors)).toBe(true);
    expect(() => ajv.compile(specSchema())).not.toThrow();
    expect(specSchema().$id).toBe(SCHEMA_ID);
    expect(specSchema().$schema).toBe('https://json-schema.org/draft/2020-12/schema');
  });

  it('gives every property a title and description, and closes every mapping', () => {
    const problems: string[] = [];
    walkSchema(specSchema(), '#', (node, where) => {
      if (node.type === 'object' && node.additionalProperties === undefined) problems.push(`${where}: no additionalProperties`);
      for (const [k, prop] of Object.entries<any>(node.properties ?? {})) {
        if (prop === true) continue; // the `required` helpers of oneOf/anyOf branches
        const target = prop.$ref ? resolve(prop.$ref) : prop;
        if (!target.title || !target.description) problems.push(`${where}/properties/${k}: no title or description`);
      }
    });
    expect(problems).toEqual([]);
  });
});

describe('diagnostics formatting', () => {
  const d = (file: string, line: number, column: number, extra: Partial<Diagnostic> = {}): Diagnostic => ({
    file, line, column, severity: 'error', code: 'spec/schema', message: `m${line}`, ...extra,
  });

  it('formats relative to cwd with the hint on its own line', () => {
    const cwd = '/work/project';
    expect(formatDiagnostic(d('/work/project/specs/x.yaml', 12, 5, { hint: 'try this' }), cwd)).toBe(
      'specs/x.yaml:12:5: error [spec/schema] m12\n    hint: try this',
    );
    expect(formatDiagnostic(d('specs/y.yaml', 1, 2, { severity: 'warning', code: 'lint/name-length' }), cwd)).toBe(
      'specs/y.yaml:1:2: warning [lint/name-length] m1',
    );
  });

  it('sorts by file, line, column', () => {
    const list = [d('/p/b.yaml', 1, 1), d('/p/a.yaml', 10, 1), d('/p/a.yaml', 2, 7), d('/p/a.yaml', 2, 3)];
    expect(formatDiagnostics(list, '/p').split('\n')).toEqual([
      'a.yaml:2:3: error [spec/schema] m2',
      'a.yaml:2:7: error [spec/schema] m2',
      'a.yaml:10:1: error [spec/schema] m10',
      'b.yaml:1:1: error [spec/schema] m1',
    ]);
    expect(sortDiagnostics(list).map((x) => x.line)).toEqual([2, 2, 10, 1]);
  });

  it('hasErrors and DiagnosticError', () => {
    const warning = d('/p/a.yaml', 1, 1, { severity: 'warning' });
    expect(hasErrors([warning])).toBe(false);
    expect(hasErrors([warning, d('/p/a.yaml', 2, 1)])).toBe(true);
    const err = new DiagnosticError([d('/p/a.yaml', 3, 1), warning], '/p');
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('DiagnosticError');
    expect(err.message).toBe('a.yaml:1:1: warning [spec/schema] m1\na.yaml:3:1: error [spec/schema] m3');
    expect(err.diagnostics.map((x) => x.line)).toEqual([1, 3]);
  });
});

// ---------------------------------------------------------------------------------------------

/** Typed as ConnectorSpec, so tsc rejects it if the types lose a field the schema has. */
const everyField: ConnectorSpec = {
  specgate: 1,
  connector: 'every_field',
  prompts: [{ name: 'every_prompt', title: 'A prompt', description: 'd', arguments: [{ name: 'a', description: 'd', required: true }], tools: ['t'], text: 'Use {{a}}' }],
  resources: [
    { name: 'every_resource', title: 'A resource', description: 'd', uri: 'specgate://x/y', tool: 't', arguments: { k: 1 } },
    { name: 'every_template', uriTemplate: 'specgate://x/{id}', tool: 't' },
  ],
  title: 'Every field',
  description: 'Exercises every property in types.ts',
  document: {
    source: 'https://example.com/openapi.json',
    sha256: 'f'.repeat(64),
    overlays: ['o.yaml'],
    merge: ['m.yaml'],
  },
  server: 'http://127.0.0.1:8080/api',
  customer: { parameters: ['client_id', 'site_id'], ids: ['siteUid'], description: 'customer id' },
  // Both forms, for the schema only: the generator refuses a connector that declares both.
  auth: { apiKey: { header: 'Authorization', prefix: 'ApiToken ' }, oauth2: { grant: 'password', tokenUrl: 'https://{platform}-api.example.com/auth/oauth/token', scope: 's', clientId: 'public-client' } },
  defaults: {
    riskTier: 'high',
    sensitivity: 'personal',
    response: { project: '@', items: 'data', maxItems: 5, tokenBudget: 100, redact: ['secret'] },
    pagination: { style: 'page', page: 'p', size: 's', firstPage: 0, defaultLimit: 10, maxLimit: 50 },
    owner: { field: 'client_id', items: 'data', id: 'siteUid', optional: 'internal records name no client' },
  },
  select: [
    { tags: ['A'], methods: ['GET', 'HEAD'], paths: ['/a/**'], exclude: ['x'] },
    { operationId: 'one' },
    { operation: 'HEAD /b' },
  ],
  tools: [
    {
      operationId: 'getA', name: 'get-a', title: 'Get A', description: 'A', effect: 'read', reason: 'r',
      riskTier: 'medium', sensitivity: 'credentials', tags: ['t'], customer: false, scope: { tenant: 'reference data', customerRecords: false },
      parameters: { id: { hide: false, rename: 'a_id', fixed: { nested: [1, null] }, default: 3, description: 'd' }, df: { customer: { template: 'org = {id}', id: 'siteUid' } } },
      response: { project: 'x', items: 'y', maxItems: 1, tokenBudget: 1, redact: [], cacheMs: 0 },
      pagination: { style: 'offset', offset: 'o', limit: 'l' },
    },
    { operation: 'GET /c', pagination: { style: 'cursor', cursor: 'c', limit: 'l', nextCursor: 'next' }, owner: { parent: { tool: 'get-a', arguments: { id: 'a_id' } } } },
    { operation: 'POST /search', effect: 'read', reason: 'a search', body: { customer: { field: 'filter.companyId', id: 'siteUid' } }, owner: false },
    { operation: 'OPTIONS /d', pagination: { style: 'link' } },
    { operation: 'GET /n', pagination: { style: 'next-url', nextUrl: 'pageDetails.nextPageUrl', limit: 'max' } },
    { operationId: 'e', pagination: false },
  ],
  lint: { maxDefinitionTokens: 1500, ignore: ['lint/x'] },
};

// @ts-expect-error: the types, like the schema, refuse a tool with both operationId and operation
const both: ToolSpec = { operationId: 'a', operation: 'GET /a' };
void both;

function resolve(ref: string): any {
  return ref.slice(2).split('/').reduce<any>((cur, seg) => cur?.[seg], specSchema());
}

function walkSchema(node: any, where: string, visit: (node: any, where: string) => void): void {
  if (!node || typeof node !== 'object') return;
  visit(node, where);
  for (const [k, v] of Object.entries<any>(node.properties ?? {})) walkSchema(v, `${where}/properties/${k}`, visit);
  for (const [k, v] of Object.entries<any>(node.$defs ?? {})) walkSchema(v, `#/$defs/${k}`, visit);
  if (typeof node.items === 'object') walkSchema(node.items, `${where}/items`, visit);
  if (typeof node.additionalProperties === 'object') walkSchema(node.additionalProperties, `${where}/additionalProperties`, visit);
  for (const kw of ['anyOf', 'oneOf'] as const) (node[kw] ?? []).forEach((b: any, i: number) => walkSchema(b, `${where}/${kw}/${i}`, visit));
}

/** Schema properties (as "<schema pointer>.<key>") that the value never uses. */
function uncovered(value: unknown): string[] {
  const all = new Set<string>();
  walkSchema(specSchema(), '#', (node, where) => {
    if (node.type === 'object') for (const k of Object.keys(node.properties ?? {})) all.add(`${where}.${k}`);
  });
  const used = new Set<string>();
  const visit = (v: any, schema: any, where: string): void => {
    if (schema?.$ref) return visit(v, resolve(schema.$ref), schema.$ref);
    if (schema?.anyOf && !schema.properties) {
      const i = schema.anyOf.findIndex((b: any) => (b.$ref || b.type === 'object' ? typeof v === 'object' : v === b.const));
      return visit(v, schema.anyOf[i], `${where}/anyOf/${i}`);
    }
    if (Array.isArray(v)) return v.forEach((x) => visit(x, schema?.items, `${where}/items`));
    if (!v || typeof v !== 'object' || !schema) return;
    for (const [k, x] of Object.entries(v)) {
      if (schema.properties?.[k]) {
        used.add(`${where}.${k}`);
        visit(x, schema.properties[k], `${where}/properties/${k}`);
      } else if (typeof schema.additionalProperties === 'object') {
        visit(x, schema.additionalProperties, `${where}/additionalProperties`);
      }
    }
  };
  visit(value, specSchema(), '#');
  return [...all].filter((k) => !used.has(k)).sort();
}
