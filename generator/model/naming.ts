/**
 * Tool and argument names: what clients accept (^[a-zA-Z0-9_-]{1,64}$ for tools, keys within
 * ^[a-zA-Z0-9_.-]{1,64}$), and each selected operation's tool name.
 */
import type { ConnectorSpec } from '../spec/types.ts';
import { assignToolNames, withCounter } from '../naming.ts';
import type { Selection } from '../select.ts';

export const TOOL_NAME_RE = /^[a-zA-Z0-9_-]{1,64}$/;
export const PROPERTY_KEY_RE = /^[a-zA-Z0-9_.-]{1,64}$/;

/** A client-safe argument name for a vendor parameter name: `filter[name]` -> `filter.name`. */
export function argumentName(name: string): string {
  if (PROPERTY_KEY_RE.test(name)) return name;
  const mapped = name
    .replace(/\[([^\]]*)\]/g, '.$1')
    .replace(/[^a-zA-Z0-9_.-]+/g, '_')
    .replace(/^[._]+/, '')
    .slice(0, 64);
  return mapped || 'param';
}

/**
 * One unique name per selection, in selection order: the spec's own name, else the name
 * generator/naming.ts derives for bulk picks; a clash gets a counter within 64 characters, and
 * a bulk pick never takes a name that an individually listed tool claims.
 */
export function toolNames(spec: Pick<ConnectorSpec, 'connector' | 'tools'>, selections: readonly Pick<Selection, 'op' | 'tool'>[]): string[] {
  const explicitNames = new Set((spec.tools ?? []).map((t) => t.name).filter(Boolean) as string[]);
  const defaultNames = assignToolNames(spec.connector, selections.filter((s) => !s.tool?.name).map((s) => s.op), explicitNames);
  const used = new Set<string>();
  return selections.map(({ op, tool }) => {
    const wanted = tool?.name ?? defaultNames.get(`${op.method} ${op.path}`)!;
    let name = wanted;
    for (let n = 2; used.has(name) || (explicitNames.has(name) && used.has(`explicit:${name}`)); n++) name = withCounter((max) => wanted.slice(0, max), n);
    used.add(name);
    if (explicitNames.has(name)) used.add(`explicit:${name}`);
    return name;
  });
}
