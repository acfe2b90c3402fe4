/**
 * Mock answers belong to the mock customer: a response-verified tool's records get the customer's
 * id where the ownership check reads it, so that every tool can be tried in mock mode (a generated
 * sample's owner would be some other customer's and refused, as it should be).
 */
import { replaceAt } from '../execution/shape.ts';
import { simplePath, typedOwner, withValueAt } from '../execution/ownership.ts';
import type { ConnectorModel } from '../model.ts';

export type MockRewrite = (method: string, path: string, body: unknown) => unknown;

export function mockOwners(model: ConnectorModel, customerId: string): MockRewrite {
  const routes = model.tools.filter((t) => t.ownership).map((t) => ({
    method: t.operation.method,
    path: new RegExp(`^${t.operation.path.split(/\{[^}]*\}/).map((s) => s.replace(/[.*+?^$()|[\]\\]/g, '\\$&')).join('[^/]+')}$`),
    field: simplePath(t.ownership!.field),
    items: t.ownership!.items === undefined ? undefined : simplePath(t.ownership!.items),
    hasItems: t.ownership!.items !== undefined,
  }));
  return (method, path, body) => {
    const route = routes.find((r) => r.method === method.toUpperCase() && r.path.test(path));
    if (!route?.field) return body;
    const own = (record: unknown) => withValueAt(record, route.field!, typedOwner(getAt2(record, route.field!), customerId));
    const at = route.hasItems ? route.items : Array.isArray(body) ? [] : undefined;
    if (at) {
      const list = getAt2(body, at);
      return Array.isArray(list) ? replaceAt(body, at, list.map(own)) : body;
    }
    return body && typeof body === 'object' ? own(body) : body;
  };
}

function getAt2(value: unknown, path: string[]): unknown {
  let node = value;
  for (const k of path) {
    if (!node || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[k];
  }
  return node;
}
