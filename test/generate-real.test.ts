/**
 * The generator on real documents, every read operation selected in bulk by a spec that
 * `specgate init --all-reads` wrote: the vendors' documents and @readme/oas-examples. What comes
 * out must compile with tsc, every input schema must compile in ajv, a rerun must be
 * byte-identical, and `--check` must notice a stale folder.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { loadDocument } from '../generator/openapi/load.ts';
import { scaffoldSpec } from '../generator/scaffold.ts';
import { typecheckGeneratedInChild as typecheck } from '../generator/emit/typecheck.ts';
import { generate } from '../generator/generate.ts';
import { loadCatalog } from '../runtime/catalog.ts';
import { generateInto, haveVendorDocs, root, tempDir, vendorDir, vendorDocsMissing } from './helpers/e2e.ts';

const vendorDocs = ['halopsa.json', 'hudu.json', 'pax8.json', 'pax8-quoting.json', 'pax8-webhooks.json', 'connectwise-manage.get-subset.json', 'itglue.partial.yaml'];
const require = createRequire(import.meta.url);
const examplesDir = path.dirname(require.resolve('@readme/oas-examples/package.json'));

function readableName(file: string): string {
  return path.basename(file).replace(/\.(json|ya?ml)$/, '').toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^[^a-z]+/, '').slice(0, 24).replace(/_+$/, '') || 'doc';
}

async function scaffold(docFile: string, specDir: string, connector: string): Promise<string | null> {
  const doc = await loadDocument(docFile);
  if (!doc.operations.some((o) => o.method === 'GET' || o.method === 'HEAD')) return null;
  const specFile = path.join(specDir, `${connector}.yaml`);
  fs.writeFileSync(specFile, scaffoldSpec(doc, { specFile, source: docFile, allReads: true, connector }));
  return specFile;
}

function ajvCompileAll(models: Array<{ tools: Array<{ name: string; inputSchema: unknown; outputSchema: unknown }> }>): string[] {
  const ajv = new Ajv2020({ strict: false, validateFormats: false });
  const failures: string[] = [];
  for (const m of models) {
    for (const t of m.tools) {
      for (const which of ['inputSchema', 'outputSchema'] as const) {
        try {
          ajv.compile(t[which] as object);
        } catch (e) {
          failures.push(`${t.name} ${which}: ${(e as Error).message}`);
        }
      }
    }
  }
  return failures;
}

describe.skipIf(!haveVendorDocs)(`vendor documents, all reads in bulk${haveVendorDocs ? '' : ` (${vendorDocsMissing})`}`, () => {
  const dir = tempDir('vendors');
  const specDir = path.join(dir, 'specs');
  const outDir = path.join(dir, 'generated');
  let specs: string[] = [];
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  beforeAll(async () => {
    fs.mkdirSync(specDir, { recursive: true });
    for (const f of vendorDocs) {
      const spec = await scaffold(path.join(vendorDir, f), specDir, readableName(f));
      if (spec) specs.push(spec);
    }
    specs = specs.sort();
  });

  it('generates every read operation, with the counts the documents have', async () => {
    const result = await generateInto(specs, outDir);
    const tools = Object.fromEntries(result.builds.map((b) => [b.model.name, b.model.tools.length]));
    expect(tools).toEqual({
      connectwise_manage_get_s: 324,
      halopsa: 648,
      hudu: 64,
      itglue_partial: 6,
      pax8: 21,
      pax8_quoting: 9,
      pax8_webhooks: 5,
    });
    // HaloPSA has no operationIds at all: every one is derived, and all are unique.
    const halo = result.builds.find((b) => b.model.name === 'halopsa')!.model;
    expect(halo.tools.every((t) => t.operation.derivedOperationId)).toBe(true);
    expect(new Set(halo.tools.map((t) => t.name)).size).toBe(648);
  });

  it('emits code that the TypeScript compiler accepts', async () => {
    expect(await typecheck(outDir)).toEqual([]);
  }, 600_000);

  it('emits schemas that ajv compiles', async () => {
    const catalog = await loadCatalog(outDir);
    expect(catalog.tools.length).toBe(648 + 324 + 64 + 21 + 9 + 6 + 5);
    expect(ajvCompileAll(catalog.connectors.map((c) => c.model))).toEqual([]);
  });

  it('is byte-identical on a rerun, and --check notices a stale folder', async () => {
    const snapshot = (d: string) => {
      const out: Record<string, string> = {};
      const walk = (p: string) => {
        for (const e of fs.readdirSync(p, { withFileTypes: true })) {
          const full = path.join(p, e.name);
          if (e.isDirectory()) walk(full);
          else out[path.relative(d, full)] = fs.readFileSync(full, 'utf8');
        }
      };
      walk(d);
      return out;
    };
    const before = snapshot(outDir);
    const again = await generate(specs, { outDir, check: false });
    expect(again.written).toEqual([]);
    expect(snapshot(outDir)).toEqual(before);

    const fresh = await generate(specs, { outDir, check: true });
    expect(fresh.ok).toBe(true);
    expect(fresh.stale).toEqual([]);

    const victim = path.join(outDir, 'pax8', 'model.ts');
    fs.appendFileSync(victim, '// hand edit\n');
    const stale = await generate(specs, { outDir, check: true });
    expect(stale.ok).toBe(false);
    expect(stale.stale).toContain('pax8/model.ts');
    expect(fs.readFileSync(victim, 'utf8')).toContain('// hand edit'); // check mode writes nothing
    await generate(specs, { outDir, check: false });
    expect(snapshot(outDir)).toEqual(before);
  });
});

describe('@readme/oas-examples, all reads in bulk', () => {
  const dir = tempDir('examples');
  const specDir = path.join(dir, 'specs');
  const outDir = path.join(dir, 'generated');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const loaded: string[] = [];
  const refused: Array<{ file: string; why: string }> = [];

  beforeAll(async () => {
    fs.mkdirSync(specDir, { recursive: true });
    const files: string[] = [];
    for (const version of ['2.0', '3.0', '3.1']) {
      for (const format of ['json', 'yaml']) {
        const d = path.join(examplesDir, version, format);
        if (!fs.existsSync(d)) continue;
        for (const f of fs.readdirSync(d).sort()) files.push(path.join(d, f));
      }
    }
    const seen = new Set<string>();
    for (const f of files) {
      // The same example exists as JSON and YAML: one connector each, named apart.
      const version = path.basename(path.dirname(path.dirname(f))).replace('.', '');
      const fmt = path.basename(path.dirname(f));
      let name = `${readableName(f)}_${version}_${fmt}`.replace(/^[^a-z]+/, '').slice(0, 32).replace(/_+$/, '');
      while (seen.has(name)) name = `${name.slice(0, 30)}_x`;
      seen.add(name);
      try {
        const spec = await scaffold(f, specDir, name);
        if (spec) loaded.push(spec);
      } catch (e) {
        refused.push({ file: path.relative(examplesDir, f), why: (e as Error).message });
      }
    }
  });

  it('loads most examples and refuses the rest with a message naming the file', () => {
    expect(loaded.length).toBeGreaterThan(50);
    for (const r of refused) {
      expect(r.why, r.file).toContain(path.basename(r.file));
      expect(r.why).not.toMatch(/^\s*at /m);
    }
  });

  it('generates them all, and the output compiles', async () => {
    const result = await generateInto(loaded, outDir);
    expect(result.builds.length).toBe(loaded.length);
    expect(await typecheck(outDir)).toEqual([]);
    expect(ajvCompileAll(result.builds.map((b) => b.model))).toEqual([]);
  }, 600_000);
});

void root;
