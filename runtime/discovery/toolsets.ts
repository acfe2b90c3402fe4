/**
 * Named toolsets: every connector is one (`halopsa`), and every tag is one across connectors
 * (`tickets`, `contacts`). A client names the toolsets it wants pinned (the Specgate-Toolsets
 * header, or SPECGATE_TOOLSETS on stdio) and sees their tools in full beside the meta-tools.
 */
import type { Catalog } from '../catalog.ts';
import type { ToolModel } from '../model.ts';

export const TOOLSETS_HEADER = 'specgate-toolsets';

export interface Toolset {
  name: string;
  kind: 'connector' | 'tag';
  tools: string[];
}

/** Tags as the vendor wrote them ("Asset Layouts") become lower-case, hyphenated names. */
export function toolsetSlug(tag: string): string {
  return tag.trim().toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

const cache = new WeakMap<Catalog, Map<string, Toolset>>();

/** The catalog's toolsets by name; a tag named like a connector joins the connector's set. */
export function toolsetsOf(catalog: Catalog): Map<string, Toolset> {
  let sets = cache.get(catalog);
  if (sets) return sets;
  sets = new Map();
  const add = (name: string, kind: Toolset['kind'], tool: ToolModel): void => {
    if (name === '') return;
    let set = sets!.get(name);
    if (!set) sets!.set(name, (set = { name, kind, tools: [] }));
    if (!set.tools.includes(tool.name)) set.tools.push(tool.name);
  };
  for (const tool of catalog.tools) add(tool.connector, 'connector', tool);
  for (const tool of catalog.tools) for (const tag of tool.tags) add(toolsetSlug(tag), 'tag', tool);
  sets = new Map([...sets.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  cache.set(catalog, sets);
  return sets;
}

/** The toolset names a client asked for: comma- or space-separated, unknown names reported. */
export function parseToolsets(raw: string | undefined, catalog: Catalog): { names: string[]; unknown: string[] } {
  const sets = toolsetsOf(catalog);
  const asked = (raw ?? '').split(/[\s,]+/).map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
  return { names: asked.filter((n) => sets.has(n)), unknown: asked.filter((n) => !sets.has(n)) };
}

/** Tool names in the named toolsets. */
export function toolsInToolsets(catalog: Catalog, names: string[]): Set<string> {
  const sets = toolsetsOf(catalog);
  return new Set(names.flatMap((n) => sets.get(n)?.tools ?? []));
}
