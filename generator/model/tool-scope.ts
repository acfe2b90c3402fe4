/**
 * The tool's customer scope (bound, verified, or tenant-wide and why), with the warnings that a
 * tenant-wide tool may in fact return customer records.
 */
import type { JsonSchema, OwnerParent, Ownership, ToolScope } from '../../runtime/model.ts';
import type { ConnectorSpec, ToolSpec } from '../spec/types.ts';
import { customerReferenceFields, isTenantScoped, scopeOf } from '../scope.ts';
import { issueList, type Issue, type Path } from './issues.ts';

export interface ScopeInputs {
  spec: Pick<ConnectorSpec, 'customer'>;
  t: ToolSpec | undefined;
  name: string;
  /** The customer-bound parameters and body fields (`body.<path>`). */
  boundNames: string[];
  ownership: Ownership | undefined;
  ownerParent: OwnerParent | undefined;
  /** Every call of the connector carries one customer's own token (auth.oauth2.tokenUrl has {customer}). */
  customerToken: boolean;
  output: JsonSchema;
  at: Path;
}

export function toolScope({ spec, t, name, boundNames, ownership, ownerParent, customerToken, output, at }: ScopeInputs): { scope: ToolScope; issues: Issue[] } {
  const { issues, error, warning } = issueList();
  if (customerToken && isTenantScoped(t)) {
    error([...at, t?.scope ? 'scope' : 'customer'], 'scope/conflict', `tool "${name}" cannot be tenant-wide: every call of this connector uses the customer's own token (auth.oauth2.tokenUrl has {customer})`);
  }
  let scope = scopeOf(t, boundNames, ownership, ownerParent, customerToken);
  if (!scope) {
    if (spec.customer) {
      warning(at, 'scope/undeclared', `tool "${name}" is neither bound to the customer, nor response-verified, nor declared tenant-wide`,
        'bind a customer parameter, declare `owner: { field: ... }`, or `scope: { tenant: <reason> }`; until then policies treat it as returning customer records');
    }
    scope = spec.customer
      ? { kind: 'tenant', reason: 'undeclared', customerRecords: true }
      : { kind: 'tenant', reason: 'the connector declares no customer binding' };
  }
  if (scope.kind === 'tenant' && !scope.customerRecords && t?.scope) {
    const refs = customerReferenceFields(output);
    if (refs.length) {
      warning([...at, 'scope'], 'scope/tenant-customer-reference',
        `tenant-wide tool "${name}" returns fields that look like customer references (${refs.join(', ')})`,
        'bind or verify it (`owner: { field: ... }`), or declare `customerRecords: true` so policies keep it from callers acting for one customer');
    }
  }
  return { scope, issues };
}
