/**
 * Discovery's search and meta-tools against the real launch catalog: results never leave the
 * caller's visible set or the asked toolset, toolsets are the connectors and the tags, and bad
 * arguments (wrong types, huge queries, unknown toolsets, meta-tools through call_tool) are named.
 */
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../runtime/catalog.ts';
import { searchTools } from '../runtime/discovery/search.ts';
import { parseToolsets, toolsetsOf } from '../runtime/discovery/toolsets.ts';
import { runMetaTool, MAX_QUERY_LENGTH } from '../runtime/discovery/meta-tools.ts';
import { discoveryActive, parseDiscoveryMode, parseDiscoveryThreshold } from '../runtime/discovery/mode.ts';

const catalog = await loadCatalog('generated');
const halo = catalog.tools.filter((t) => t.connector === 'halopsa');

describe('search', () => {
  it('never returns a tool outside the visible set or the toolset', () => {
    const visible = new Set(halo.map((t) => t.name));
    for (const q of ['tickets', 'company contacts', 'password', 'invoice', 'asset warranty']) {
      for (const hit of searchTools(catalog, q, { visible, limit: 25 })) expect(visible.has(hit.name), `${q} -> ${hit.name}`).toBe(true);
      for (const hit of searchTools(catalog, q, { visible: new Set(catalog.tools.map((t) => t.name)), toolset: 'hudu', limit: 25 })) expect(hit.name).toMatch(/^hudu_/);
    }
    expect(searchTools(catalog, 'tickets', { visible: new Set() })).toEqual([]);
  });

  it('names connectors and tags as toolsets, and reports unknown names', () => {
    const sets = toolsetsOf(catalog);
    expect(sets.get('halopsa')!.tools).toHaveLength(halo.length);
    expect(sets.get('contacts')!.kind).toBe('tag');
    expect(parseToolsets('halopsa, contacts nope', catalog)).toEqual({ names: ['halopsa', 'contacts'], unknown: ['nope'] });
  });
});

describe('meta-tools', () => {
  const ctx = { catalog, visible: async () => halo, callReal: async (name: string) => ({ content: [{ type: 'text' as const, text: `called ${name}` }] }) };
  const text = async (name: string, args: Record<string, unknown>) => ((await runMetaTool(name, args, ctx)).content[0] as { text: string }).text;

  it('names what is wrong with an argument', async () => {
    expect(await text('search_tools', {})).toMatch(/give a 'query', a 'toolset', or both/);
    expect(await text('search_tools', { query: 5 })).toMatch(/'query' must be a string/);
    expect(await text('search_tools', { query: 'x'.repeat(MAX_QUERY_LENGTH + 1) })).toMatch(/longer than 500 characters/);
    expect(await text('search_tools', { query: 'x', toolset: 'nope' })).toMatch(/'toolset' must be one of: .*halopsa/);
    expect(await text('search_tools', { query: 'x', limit: 0 })).toMatch(/'limit' must be a whole number from 1 to 25/);
    expect(await text('describe_tool', {})).toMatch(/'name' must be a tool name/);
    expect(await text('call_tool', { name: 'search_tools' })).toMatch(/is a discovery tool; call it directly/);
    expect(await text('call_tool', { name: 'halopsa_list_tickets', arguments: [] })).toMatch(/'arguments' must be an object/);
  });

  it('lists a toolset without a query, within what the caller may see', async () => {
    const r = await runMetaTool('search_tools', { toolset: 'companies', limit: 25 }, ctx);
    // `companies` spans connectors, but this caller sees only HaloPSA tools, none tagged Companies.
    expect(r.structuredContent).toEqual({ tools: [] });
    const all = await runMetaTool('search_tools', { toolset: 'halopsa', limit: 25 }, ctx);
    expect(((all.structuredContent as { tools: unknown[] }).tools).length).toBe(halo.length);
  });

  it('hands call_tool to the real call path, and answers an unknown tool like a hidden one', async () => {
    expect(await text('call_tool', { name: 'hudu_list_assets', arguments: {} })).toBe('called hudu_list_assets');
    expect(await text('call_tool', { name: 'nope_tool' })).toMatch(/No tool named 'nope_tool' is available to you/);
    expect(await text('describe_tool', { name: 'hudu_list_assets' })).toMatch(/No tool named 'hudu_list_assets' is available to you/);
  });
});

describe('mode', () => {
  it('parses the CLI values, naming a bad one, and applies the threshold to the visible count', () => {
    expect(parseDiscoveryMode('auto')).toBe('auto');
    expect(() => parseDiscoveryMode('maybe')).toThrow(/--discovery: expected auto, on or off, got 'maybe'/);
    expect(() => parseDiscoveryThreshold('-1')).toThrow(/--discovery-threshold/);
    expect(discoveryActive({ mode: 'auto', threshold: 40 }, 40)).toBe(false);
    expect(discoveryActive({ mode: 'auto', threshold: 40 }, 41)).toBe(true);
    expect(discoveryActive({ mode: 'on', threshold: 40 }, 0)).toBe(true);
    expect(discoveryActive({ mode: 'off', threshold: 0 }, 1000)).toBe(false);
    expect(discoveryActive(undefined, 1000)).toBe(false);
  });
});
