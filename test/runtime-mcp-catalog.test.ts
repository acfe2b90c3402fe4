import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildCatalog, CatalogError, loadCatalog, watchCatalog, type Catalog } from '../runtime/catalog.ts';
import type { GeneratedConnector } from '../runtime/model.ts';
import { fixtureConnectors, halopsa, hudu } from './fixtures/runtime/connectors.ts';

const generatedFixture = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/runtime/generated');

describe('buildCatalog', () => {
  it('sorts connectors and tools, indexes by name and precomputes list entries', () => {
    const catalog = buildCatalog(fixtureConnectors);
    expect(catalog.connectors.map((c) => c.model.name)).toEqual(['halopsa', 'hudu']);
    expect(catalog.tools.map((t) => t.name)).toEqual([
      'halopsa_get_ticket',
      'halopsa_list_clients',
      'halopsa_list_tickets',
      'hudu_get_article',
      'hudu_list_companies',
      'hudu_search_assets',
    ]);
    expect(catalog.byName.get('hudu_get_article')?.connector).toBe(hudu);
    expect(catalog.listEntries.map((e) => e.name)).toEqual(catalog.tools.map((t) => t.name));
    expect(Object.keys(catalog.listEntries[0]).sort()).toEqual(['annotations', 'description', 'inputSchema', 'name', 'outputSchema', 'title']);
    expect(buildCatalog([halopsa, hudu]).version).toBe(catalog.version);
  });

  it('names both connectors on a duplicate tool name', () => {
    const clash: GeneratedConnector = {
      ...hudu,
      model: { ...hudu.model, name: 'hudu2', tools: [{ ...halopsa.model.tools[0] }] },
    };
    expect(() => buildCatalog([halopsa, clash])).toThrow(
      "Duplicate tool name 'halopsa_list_tickets': defined by connector 'halopsa' and by connector 'hudu2'",
    );
  });

  it('rejects malformed connectors with a message naming where', () => {
    expect(() => buildCatalog([{} as GeneratedConnector])).toThrow(/connectors\[0\]: not a generated connector/);
    const noTools = { ...hudu, model: { ...hudu.model, tools: null } } as unknown as GeneratedConnector;
    expect(() => buildCatalog([halopsa, noTools])).toThrow(/connectors\[1\] \(connector 'hudu'\): model.tools must be an array/);
    expect(() => buildCatalog('x' as unknown as GeneratedConnector[])).toThrow(CatalogError);
  });
});

describe('loadCatalog', () => {
  it('imports <generatedDir>/index.js and its lazy connectors', async () => {
    const catalog = await loadCatalog(generatedFixture);
    expect(catalog.tools.map((t) => t.name)).toEqual(['halopsa_list_tickets', 'hudu_list_companies']);
    expect(catalog.version).toMatch(/^[0-9a-f]{16}$/);
  });

  it('fails clearly without an index', async () => {
    await expect(loadCatalog(path.dirname(generatedFixture))).rejects.toThrow(/No generated connector index at .*index\.js/);
  });

  it('names a folder made by an older specgate, TypeScript only, instead of needing a TypeScript loader', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'specgate-catalog-'));
    try {
      await cp(generatedFixture, dir, { recursive: true, filter: (f) => !f.endsWith('.js') });
      await expect(loadCatalog(dir)).rejects.toThrow(/has no index\.js \(made by an older specgate, which emitted TypeScript only\): run `specgate generate` again/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('hot reload', () => {
  it('picks up a change in a nested module and swaps the catalog atomically', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'specgate-catalog-'));
    try {
      await writeFile(path.join(dir, 'package.json'), '{"type":"module"}');
      const generated = path.join(dir, 'generated');
      await cp(generatedFixture, generated, { recursive: true });
      const reloads: Array<[Catalog, Catalog]> = [];
      const errors: Error[] = [];
      const watcher = await watchCatalog(generated, {
        debounceMs: 50,
        onReload: (next, previous) => reloads.push([next, previous]),
        onError: (error) => errors.push(error),
      });
      try {
        const before = watcher.current();
        expect(before.byName.get('hudu_list_companies')?.tool.description).toBe('List companies.');
        // The JavaScript is what runs: a change to it is seen, though the module was imported before.
        const modelFile = path.join(generated, 'hudu/model.js');
        await writeFile(modelFile, (await readFile(modelFile, 'utf8')).replace('List companies.', 'List every company.'));
        for (let i = 0; i < 200 && reloads.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
        expect(errors).toEqual([]);
        expect(reloads).toHaveLength(1);
        const after = watcher.current();
        expect(after.byName.get('hudu_list_companies')?.tool.description).toBe('List every company.');
        expect(after.version).not.toBe(before.version);
        // The old catalog is untouched: calls that started on it finish on it.
        expect(before.byName.get('hudu_list_companies')?.tool.description).toBe('List companies.');

        // A broken intermediate state keeps serving the last good catalog.
        await writeFile(modelFile, 'export const model = ;');
        await expect(watcher.reload()).resolves.toBe(after);
        expect(errors.length).toBeGreaterThan(0);
        expect(watcher.current()).toBe(after);
      } finally {
        watcher.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
