/**
 * What a regeneration changes for the AI clients: tools added, removed, or whose contract
 * (arguments, result, upstream request) moved. Reported so a vendor's document changing under a
 * spec is noticed at build time, not by a client in production.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import type { ConnectorModel, ToolModel } from '../runtime/model.ts';

export interface ModelDiff {
  documentChanged: boolean;
  added: string[];
  removed: string[];
  changed: Array<{ tool: string; parts: string[] }>;
}

const CONTRACT: Array<keyof ToolModel> = ['operation', 'inputSchema', 'outputSchema', 'parameters', 'description', 'pagination', 'customerParameters', 'scope', 'ownership', 'ownerParent', 'shape'];

export function diffModels(before: ConnectorModel, after: ConnectorModel): ModelDiff {
  const old = new Map(before.tools.map((t) => [t.name, t]));
  const now = new Map(after.tools.map((t) => [t.name, t]));
  const changed: ModelDiff['changed'] = [];
  for (const [name, t] of now) {
    const prev = old.get(name);
    if (!prev) continue;
    const parts = CONTRACT.filter((k) => !isDeepStrictEqual(prev[k], t[k]));
    if (parts.length) changed.push({ tool: name, parts: parts as string[] });
  }
  return {
    documentChanged: before.document.sha256 !== after.document.sha256,
    added: [...now.keys()].filter((n) => !old.has(n)).sort(),
    removed: [...old.keys()].filter((n) => !now.has(n)).sort(),
    changed,
  };
}

/** The model currently in generated/<connector>/model.ts, or null when there is none (or it is broken). */
export async function loadPreviousModel(outDir: string, connector: string): Promise<ConnectorModel | null> {
  // The JavaScript twin loads without a TypeScript loader (an installed specgate has none);
  // a folder generated before it existed still has its model.ts.
  const js = path.join(outDir, connector, 'model.js');
  const file = fs.existsSync(js) ? js : path.join(outDir, connector, 'model.ts');
  if (!fs.existsSync(file)) return null;
  try {
    const url = `${pathToFileURL(file).href}?previous=${fs.statSync(file).mtimeMs}`;
    const mod = (await import(url)) as { model?: ConnectorModel };
    return mod.model ?? null;
  } catch {
    return null;
  }
}

export function formatDiff(connector: string, diff: ModelDiff): string[] {
  const lines: string[] = [];
  if (diff.documentChanged) lines.push(`${connector}: the vendor document changed`);
  for (const n of diff.added) lines.push(`${connector}: + ${n} (new tool)`);
  for (const n of diff.removed) lines.push(`${connector}: - ${n} (removed: clients lose this tool)`);
  for (const c of diff.changed) lines.push(`${connector}: ~ ${c.tool} (${c.parts.join(', ')} changed)`);
  return lines;
}
