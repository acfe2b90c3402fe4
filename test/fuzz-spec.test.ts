/**
 * Fuzzing the build half's inputs: random mutations of a valid connector spec (as text: YAML
 * punctuation, deleted and duplicated lines, re-indentation, replaced values) and of a small
 * OpenAPI document (as data: removed keys, wrong types, broken $refs; and as text), fed to the
 * spec loader and the whole build pipeline. Nothing throws; every problem is a diagnostic with a
 * file, a line and a column inside that file, and a message.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { parseSpec } from '../generator/spec/load.ts';
import { buildConnector } from '../generator/pipeline.ts';
import type { Diagnostic } from '../generator/spec/types.ts';
import { root, tempDir } from './helpers/e2e.ts';
import { HELPDESK_DOCUMENT, HELPDESK_SPEC } from './helpers/governed.ts';
import { fuzzParameters, watchUnhandledRejections } from './helpers/fuzz.ts';

const FULL_SPEC = fs.readFileSync(path.join(root, 'test/fixtures/specs/valid-full.yaml'), 'utf8');
const YAML_NOISE = [':', ': ', '- ', '[', ']', '{', '}', '&a ', '*a', '!!binary ', '|', '>', '#', "'", '"', '\t', '\n', '  ', '%', '@', '`', '---\n', '...', '? ', '<<: *a', '\u0000', '\uFEFF', '😀'];

/** Text mutations of a YAML file: each keeps most of the file, so the loader gets deep into it. */
const textMutation = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(...YAML_NOISE), fc.string({ unit: 'grapheme', maxLength: 8 })) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('duplicate-line' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('drop-line' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('indent' as const), at: fc.nat(), by: fc.integer({ min: -4, max: 4 }) }),
  fc.record({ kind: fc.constant('value' as const), at: fc.nat(), text: fc.oneof(fc.constantFrom('null', '~', '[]', '{}', '-1', '1e999', 'true', '"x"', '&x', '*nope', 'GET /nowhere', '${UNSET}'), fc.string({ maxLength: 12 })) }),
);
type TextMutation = typeof textMutation extends fc.Arbitrary<infer T> ? T : never;

function mutateText(text: string, mutations: TextMutation[]): string {
  let out = text;
  for (const m of mutations) {
    const lines = out.split('\n');
    const line = m.at % lines.length;
    switch (m.kind) {
      case 'insert': { const at = m.at % (out.length + 1); out = out.slice(0, at) + m.text + out.slice(at); break; }
      case 'delete': { const at = m.at % (out.length + 1); out = out.slice(0, at) + out.slice(at + m.length); break; }
      case 'duplicate-line': lines.splice(line, 0, lines[line]!); out = lines.join('\n'); break;
      case 'drop-line': lines.splice(line, 1); out = lines.join('\n'); break;
      case 'indent': lines[line] = m.by >= 0 ? ' '.repeat(m.by) + lines[line] : lines[line]!.slice(-m.by); out = lines.join('\n'); break;
      case 'value': {
        const colon = lines[line]!.indexOf(': ');
        lines[line] = colon >= 0 ? `${lines[line]!.slice(0, colon + 2)}${m.text}` : `${lines[line]}${m.text}`;
        out = lines.join('\n');
        break;
      }
    }
  }
  return out;
}

/** A diagnostic that points inside the file it names, and says something. */
function expectLocated(d: Diagnostic, files: Map<string, string>) {
  expect(typeof d.file === 'string' && d.file.length > 0, JSON.stringify(d)).toBe(true);
  expect(Number.isInteger(d.line) && d.line >= 1, JSON.stringify(d)).toBe(true);
  expect(Number.isInteger(d.column) && d.column >= 1, JSON.stringify(d)).toBe(true);
  const text = files.get(d.file);
  if (text !== undefined) expect(d.line, JSON.stringify(d)).toBeLessThanOrEqual(text.split('\n').length + 1);
  expect(d.message.trim().length, JSON.stringify(d)).toBeGreaterThan(0);
  expect(d.code).toMatch(/^[a-z]+\/[a-z0-9-]+$/);
}

describe('spec and OpenAPI fuzzing', () => {
  const dir = tempDir('fuzz-spec');
  const rejections = watchUnhandledRejections();
  afterAll(() => {
    rejections.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the spec loader turns any mutation of a valid spec into a spec or located diagnostics', () => {
    let rejected = 0;
    fc.assert(
      fc.property(fc.constantFrom(HELPDESK_SPEC, FULL_SPEC), fc.array(textMutation, { minLength: 1, maxLength: 4 }), (base, mutations) => {
        const file = path.join(dir, 'mutated.yaml');
        const text = mutateText(base, mutations);
        const { loaded, diagnostics } = parseSpec(file, text);
        for (const d of diagnostics) expectLocated(d, new Map([[file, text]]));
        const errors = diagnostics.filter((d) => d.severity === 'error');
        if (errors.length) rejected++;
        else expect(loaded, 'no errors but no spec either').toBeDefined();
      }),
      fuzzParameters(300),
    );
    expect(rejected).toBeGreaterThan(0);
  });

  it('the whole build pipeline reports a mutated spec with located diagnostics, never a crash', async () => {
    const file = path.join(dir, 'pipeline.yaml');
    await fc.assert(
      fc.asyncProperty(fc.array(textMutation, { minLength: 1, maxLength: 3 }), async (mutations) => {
        const text = mutateText(HELPDESK_SPEC, mutations);
        fs.writeFileSync(file, text);
        const { build, diagnostics } = await buildConnector(file);
        for (const d of diagnostics) expectLocated(d, new Map([[file, text]]));
        if (!build) expect(diagnostics.some((d) => d.severity === 'error')).toBe(true);
      }),
      fuzzParameters(25),
    );
    expect(rejections.seen).toEqual([]);
  });

  /** Structural mutations of the OpenAPI document: what real vendor documents get wrong. */
  const documentMutation = fc.record({
    pick: fc.nat(),
    action: fc.constantFrom('delete', 'wrong-type', 'broken-ref', 'circular-ref', 'empty'),
    value: fc.oneof(fc.constant(null), fc.integer(), fc.string({ maxLength: 8 }), fc.constant([]), fc.constant({}), fc.boolean()),
  });
  type DocumentMutation = typeof documentMutation extends fc.Arbitrary<infer T> ? T : never;

  /** Every [parent, key] in the document, in a stable order, to pick mutation targets from. */
  function slots(node: unknown, out: Array<[Record<string, unknown>, string]> = []): Array<[Record<string, unknown>, string]> {
    if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        out.push([node as Record<string, unknown>, k]);
        slots(v, out);
      }
    }
    return out;
  }

  function mutateDocument(doc: unknown, mutations: DocumentMutation[]): unknown {
    for (const m of mutations) {
      const all = slots(doc);
      const [parent, key] = all[m.pick % all.length]!;
      switch (m.action) {
        case 'delete': delete parent[key]; break;
        case 'wrong-type': parent[key] = m.value; break;
        case 'broken-ref': parent[key] = { $ref: '#/components/schemas/Nowhere' }; break;
        case 'circular-ref': parent[key] = { $ref: '#/components/schemas/Client' }; break;
        case 'empty': parent[key] = Array.isArray(parent[key]) ? [] : {}; break;
      }
    }
    return doc;
  }

  it('the build pipeline survives a mutated OpenAPI document and says where the problem is', async () => {
    const original = fs.readFileSync(HELPDESK_DOCUMENT, 'utf8');
    const docFile = path.join(dir, 'helpdesk-openapi.yaml');
    const specFile = path.join(dir, 'helpdesk.yaml');
    fs.writeFileSync(specFile, HELPDESK_SPEC.replace(HELPDESK_DOCUMENT, docFile));
    let failed = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          { weight: 3, arbitrary: fc.array(documentMutation, { minLength: 1, maxLength: 3 }).map((ms) => stringifyYaml(mutateDocument(parseYaml(original), ms))) },
          { weight: 1, arbitrary: fc.array(textMutation, { minLength: 1, maxLength: 3 }).map((ms) => mutateText(original, ms)) },
        ),
        async (docText) => {
          fs.writeFileSync(docFile, docText);
          const { build, diagnostics } = await buildConnector(specFile);
          for (const d of diagnostics) expectLocated(d, new Map([[specFile, fs.readFileSync(specFile, 'utf8')], [docFile, docText]]));
          if (!build) {
            failed++;
            expect(diagnostics.some((d) => d.severity === 'error')).toBe(true);
          }
        },
      ),
      fuzzParameters(40),
    );
    expect(failed).toBeGreaterThan(0);
    expect(rejections.seen).toEqual([]);
  });
});
