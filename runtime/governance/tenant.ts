/**
 * Step 6.3 (runtime/call-path.ts): the tenant is the identity's, full stop. A tenant named anywhere else (a header, the
 * request's _meta, an argument the tool does not declare) is only checked, never used: if it
 * names another tenant the request is refused rather than silently corrected.
 */
import type { ToolModel } from '../model.ts';
import type { Identity } from './authenticate.ts';
import { Refusal, type GovernanceRequest } from './refusal.ts';

export interface Claim { where: string; value: unknown }

const TENANT_HEADERS = ['specgate-tenant', 'x-tenant-id'];
const TENANT_META = ['specgate/tenant', 'tenant', 'tenantId'];
const TENANT_ARG = /^tenant(_?id)?$/i;

/** Every place the request names a tenant. Arguments count only when the tool does not declare them. */
export function tenantClaims(req: GovernanceRequest, tool?: ToolModel, args?: Record<string, unknown>): Claim[] {
  const claims: Claim[] = [];
  for (const h of TENANT_HEADERS) if (req.headers[h] !== undefined) claims.push({ where: `header ${h}`, value: req.headers[h] });
  for (const k of TENANT_META) if (req.meta?.[k] !== undefined) claims.push({ where: `_meta.${k}`, value: req.meta[k] });
  if (tool && args) {
    const declared = declaredArguments(tool);
    for (const k of Object.keys(args).sort()) {
      if (TENANT_ARG.test(k) && !declared.has(k)) claims.push({ where: `argument ${k}`, value: args[k] });
    }
  }
  return claims;
}

export function resolveTenant(identity: Identity, claims: Claim[]): string {
  for (const c of claims) {
    if (c.value !== identity.tenantId) {
      throw new Refusal('tenant', 'tenant-mismatch', `Refused: ${c.where} names a tenant your identity does not belong to`, 403);
    }
  }
  return identity.tenantId;
}

function declaredArguments(tool: ToolModel): Set<string> {
  const schema = tool.inputSchema;
  const props = typeof schema === 'object' && schema.properties && typeof schema.properties === 'object' ? schema.properties : {};
  return new Set(Object.keys(props as object));
}
