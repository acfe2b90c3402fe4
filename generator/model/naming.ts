/**
 * Tool and argument names: what clients accept (^[a-zA-Z0-9_-]{1,64}$ for tools, keys within
 * ^[a-zA-Z0-9_.-]{1,64}$) and how a name is derived when the spec does not give one.
 */
import type { OperationInfo } from '../openapi/types.ts';
import type { ConnectorSpec } from '../spec/types.ts';
import type { Selection } from '../select.ts';

export const TOOL_NAME_RE = /^[a-zA-Z0-9_-]{1,64}$/;
export const PROPERTY_KEY_RE = /^[a-zA-Z0-9_.-]{1,64}$/;

/** `<connector>_<operation id in snake case>`, without repeating the connector's name. */
export function defaultToolName(connector: string, op: Pick<OperationInfo, 'operationId'>): string {
  let snake = op.operationId
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
  if (snake.startsWith(`${connector}_`)) snake = snake.slice(connector.length + 1);
  return `${connector}_${snake || 'operation'}`.slice(0, 64).replace(/_+$/, '');
}

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
 * One unique name per selection, in selection order: a clash gets `_2`, `_3`, ... and a bulk pick
 * never takes a name that an individually listed tool claims.
 */
export function toolNames(spec: Pick<ConnectorSpec, 'connector' | 'tools'>, selections: readonly Pick<Selection, 'op' | 'tool'>[]): string[] {
  const explicitNames = new Set((spec.tools ?? []).map((t) => t.name).filter(Boolean) as string[]);
  const used = new Set<string>();
  return selections.map(({ op, tool }) => {
    const wanted = tool?.name ?? defaultToolName(spec.connector, op);
    let name = wanted;
    for (let n = 2; used.has(name) || (explicitNames.has(name) && used.has(`explicit:${name}`)); n++) name = `${wanted}_${n}`;
    used.add(name);
    if (explicitNames.has(name)) used.add(`explicit:${name}`);
    return name;
  });
}
