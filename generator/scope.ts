/**
 * How each tool is kept to the caller's customer, decided at build time: which parameters and
 * body fields the runtime binds (whole value, template, named id), whether each returned record's
 * owner is verified, or why the tool is tenant-wide. The runtime enforces exactly what is decided
 * here (runtime/upstream/request.ts, runtime/execution/ownership.ts).
 */
import { compile as compileJmespath } from '@jmespath-community/jmespath';
import type { BodyCustomerField, JsonSchema, OwnerParent, Ownership, ToolModel, ToolScope } from '../runtime/model.ts';
import type { ConnectorSpec, OwnerSpec, ToolSpec } from './spec/types.ts';

type Path = Array<string | number>;
type Fail = (path: Path, code: string, message: string, hint?: string) => void;

/** What the spec binds on one parameter. */
export interface ParameterCustomer {
  template?: string;
  id?: string;
}

/** The customer binding of one parameter, from the connector's list or the tool's override; undefined when unbound. */
export function parameterCustomer(spec: ConnectorSpec, t: ToolSpec | undefined, name: string): ParameterCustomer | undefined {
  if (isTenantScoped(t)) return undefined;
  const own = t?.parameters?.[name]?.customer;
  if (own === true) return {};
  if (own) return { ...(own.template !== undefined && { template: own.template }), ...(own.id !== undefined && { id: own.id }) };
  return spec.customer?.parameters?.includes(name) ? {} : undefined;
}

/** `scope: { tenant }`, or the deprecated `customer: false`. */
export function isTenantScoped(t: ToolSpec | undefined): boolean {
  return t?.scope !== undefined || t?.customer === false;
}

/** Checks a named vendor id against the connector's declared names. */
export function checkNamedId(spec: ConnectorSpec, id: string | undefined, path: Path, fail: Fail): void {
  if (id === undefined) return;
  const names = spec.customer?.ids ?? [];
  if (!names.includes(id)) {
    fail(path, 'customer/unknown-id', `customer id name "${id}" is not declared in customer.ids${names.length ? ` (${names.join(', ')})` : ''}`,
      'declare the names of the customer\'s ids under `customer: { ids: [...] }`');
  }
}

export function checkTemplate(template: string, path: Path, fail: Fail): void {
  // Exactly one place for the id: a second one could be set apart by the vendor's parser.
  if (template.split('{id}').length !== 2) fail(path, 'customer/template', `customer template "${template}" must contain {id} exactly once`);
}

/** The body field binding of an `effect: read` POST. */
export function bodyCustomerFields(spec: ConnectorSpec, t: ToolSpec | undefined, hasBody: boolean, at: Path, fail: Fail): BodyCustomerField[] | undefined {
  const b = t?.body?.customer;
  if (!b) return undefined;
  if (!hasBody) {
    fail([...at, 'body', 'customer'], 'customer/no-body', 'body.customer binds a request body field, but this operation has no request body (only POSTs with `effect: read` have one)');
    return undefined;
  }
  checkNamedId(spec, b.id, [...at, 'body', 'customer', 'id'], fail);
  return [{ path: b.field.split('.'), ...(b.id !== undefined && { customerId: b.id }) }];
}

/** The tool's ownership check: its own `owner`, else the connector default; none for tenant-wide tools or `owner: false`. */
export function ownershipOf(spec: ConnectorSpec, t: ToolSpec | undefined, at: Path, fail: Fail): Ownership | undefined {
  if (t?.owner === false || isTenantScoped(t)) {
    if (t?.owner && isTenantScoped(t)) fail([...at, 'owner'], 'scope/conflict', 'a tool declared `scope: { tenant }` cannot also verify an owner; choose one');
    return undefined;
  }
  const own = t?.owner;
  const d = spec.defaults?.owner;
  // The connector default covers bound tools too: a vendor that ignores a filter must not leak.
  const o: OwnerSpec | undefined = own ?? d;
  if (!o) return undefined;
  const where: Path = own ? [...at, 'owner'] : ['defaults', 'owner'];
  for (const k of ['field', 'items'] as const) {
    const expr = o[k];
    if (expr === undefined) continue;
    try {
      compileJmespath(expr);
    } catch (e) {
      fail([...where, k], 'owner/jmespath', `invalid JMESPath "${expr}": ${(e as Error).message}`, 'see https://jmespath.org/specification.html');
    }
  }
  checkNamedId(spec, o.id, [...where, 'id'], fail);
  if (o.field === undefined) return undefined; // a parent check only
  return {
    field: o.field,
    ...(o.items !== undefined && { items: o.items }),
    ...(o.id !== undefined && { customerId: o.id }),
    ...(o.optional !== undefined && { optionalReason: o.optional }),
  };
}

/** The parent record check (`owner.parent`); validated against the other tools once all are built. */
export function ownerParentOf(t: ToolSpec | undefined): OwnerParent | undefined {
  const p = t?.owner ? t.owner.parent : undefined;
  if (!p) return undefined;
  return { tool: p.tool, arguments: Object.fromEntries(Object.entries(p.arguments).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) };
}

/** What the runtime needs of a parent tool: it exists, verifies a record field and has no parent of its own, and the arguments exist on both sides. */
export function checkOwnerParent(tool: ToolModel, tools: readonly ToolModel[]): string | undefined {
  const p = tool.ownerParent!;
  const parent = tools.find((t) => t.name === p.tool);
  if (!parent) return `owner.parent names tool "${p.tool}", which this spec does not build`;
  if (!parent.ownership || parent.ownerParent) return `owner.parent tool "${p.tool}" must verify its record's owner with owner.field (and have no parent of its own)`;
  const props = (s: unknown) => Object.keys(((s as { properties?: object }).properties ?? {}));
  for (const [pa, a] of Object.entries(p.arguments)) {
    if (!props(parent.inputSchema).includes(pa)) return `owner.parent tool "${p.tool}" has no argument "${pa}"`;
    if (!props(tool.inputSchema).includes(a)) return `tool "${tool.name}" has no argument "${a}" to pass to "${p.tool}"`;
  }
  return undefined;
}

/** The declared scope; undefined when the tool has none (the caller reports it). `credential`: the connector's token is the customer's own. */
export function scopeOf(t: ToolSpec | undefined, bound: string[], ownership: Ownership | undefined, parent?: OwnerParent, credential = false): ToolScope | undefined {
  if (t?.scope) return { kind: 'tenant', reason: t.scope.tenant, ...(t.scope.customerRecords && { customerRecords: true }) };
  if (t?.customer === false) return { kind: 'tenant', reason: 'declared with the deprecated `customer: false`' };
  if (bound.length || ownership || parent || credential) {
    return {
      kind: 'customer',
      ...(bound.length && { bound }),
      ...(ownership && { verified: ownership.field }),
      ...(parent && { parent: parent.tool }),
      ...(credential && { credential: true as const }),
    };
  }
  return undefined;
}

/**
 * Field names that look like a reference to a customer (client_id, company, organization-id,
 * companyId, siteUid...): a tenant-wide tool returning them likely returns customers' records.
 */
const CUSTOMER_REFERENCE = /^(client|company|customer|organi[sz]ation|org|account|site)([_.-]?(id|uid|name|ref))?$/i;

export function customerReferenceFields(schema: JsonSchema): string[] {
  const found = new Set<string>();
  const root = schema && typeof schema === 'object' ? schema : {};
  const defs = ((root as Record<string, unknown>).$defs ?? {}) as Record<string, unknown>;
  const seen = new Set<unknown>();
  const visit = (node: unknown, depth: number): void => {
    if (depth > 12 || !node || typeof node !== 'object' || seen.has(node)) return;
    seen.add(node);
    if (Array.isArray(node)) return node.forEach((n) => visit(n, depth + 1));
    const n = node as Record<string, unknown>;
    if (typeof n.$ref === 'string' && n.$ref.startsWith('#/$defs/')) visit(defs[decodeURIComponent(n.$ref.slice(8))], depth + 1);
    if (n.properties && typeof n.properties === 'object') {
      for (const [k, v] of Object.entries(n.properties as Record<string, unknown>)) {
        if (CUSTOMER_REFERENCE.test(k)) found.add(k);
        visit(v, depth + 1);
      }
    }
    for (const k of ['items', 'allOf', 'anyOf', 'oneOf', 'additionalProperties']) visit(n[k], depth + 1);
  };
  // Only the result: the envelope (truncated, nextCursor) is specgate's own.
  const result = ((root as Record<string, unknown>).properties as Record<string, unknown> | undefined)?.result;
  visit(result ?? root, 0);
  return [...found].sort();
}
