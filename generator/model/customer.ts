/**
 * Which of a tool's parameters the runtime forces to the caller's customer (so they are never
 * arguments), and the spec mistakes that would leave a binding ineffective.
 */
import type { OperationInfo, ParameterInfo } from '../openapi/types.ts';
import type { ConnectorSpec, ToolSpec } from '../spec/types.ts';
import { checkNamedId, checkTemplate, isTenantScoped, parameterCustomer, type ParameterCustomer } from '../scope.ts';
import { issueList, type Issue, type Path } from './issues.ts';

export interface CustomerBinding {
  /** The binding of each bound parameter, by vendor name. */
  customerOf: Map<string, ParameterCustomer>;
  /** The bound parameters, in the operation's order. */
  bound: ParameterInfo[];
}

export function customerBinding(
  spec: ConnectorSpec, t: ToolSpec | undefined, op: Pick<OperationInfo, 'method' | 'path'>, params: readonly ParameterInfo[], at: Path,
): CustomerBinding & { issues: Issue[] } {
  const { issues, error, warning } = issueList();
  if (t?.customer === false) {
    warning([...at, 'customer'], 'spec/deprecated', '`customer: false` is deprecated', 'declare `scope: { tenant: <why this tool is tenant-wide> }`');
  }
  if (isTenantScoped(t) && t?.customer === true) error([...at, 'customer'], 'scope/conflict', '`customer: true` and `scope: { tenant }` contradict each other');
  const customerOf = new Map<string, ParameterCustomer>();
  for (const p of params) {
    const c = parameterCustomer(spec, t, p.name);
    if (c) customerOf.set(p.name, c);
  }
  const bound = params.filter((p) => customerOf.has(p.name));
  if (t?.customer === true && bound.length === 0) {
    error([...at, 'customer'], 'customer/missing-parameter',
      `${op.method} ${op.path} has none of the customer parameters (${[...(spec.customer?.parameters ?? [])].join(', ') || 'none declared'})`,
      spec.customer ? 'declare `scope: { tenant: <reason> }` if this tool is not customer data, or bind another parameter under `customer.parameters`' : 'declare `customer: { parameters: [...] }` at the top of the spec');
  }
  const overrides = t?.parameters ?? {};
  for (const p of bound) {
    const { customer: bindsIt, description: _d, ...rest } = overrides[p.name] ?? {};
    if (Object.keys(rest).length) {
      error([...at, 'parameters', p.name], 'customer/override', `parameter "${p.name}" is bound to the customer and cannot be overridden`,
        'the runtime forces it to the caller\'s customer; remove this override');
    }
    if (bindsIt && isTenantScoped(t)) error([...at, 'parameters', p.name, 'customer'], 'scope/conflict', 'a tool declared `scope: { tenant }` cannot bind a customer parameter');
    const c = customerOf.get(p.name)!;
    if (c.template !== undefined) {
      checkTemplate(c.template, [...at, 'parameters', p.name, 'customer', 'template'], error);
      if (p.in === 'path') error([...at, 'parameters', p.name, 'customer', 'template'], 'customer/template', `a template cannot fill path parameter "${p.name}"`);
    }
    checkNamedId(spec, c.id, [...at, 'parameters', p.name, 'customer', 'id'], error);
  }
  return { customerOf, bound, issues };
}
