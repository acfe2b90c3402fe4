/**
 * Step 6.5 (runtime/call-path.ts): which tools exist at all for the tenant. Entitlements are (connector, tool glob) pairs;
 * a tool no entitlement matches is neither listed nor callable. Both fields are picomatch globs.
 */
import { glob } from './glob.ts';
import type { ToolModel } from '../model.ts';
import type { settingsRepo } from '../store/index.ts';
import { Refusal } from './refusal.ts';

type Settings = Pick<ReturnType<typeof settingsRepo>, 'entitlements'>;

export type Entitled = (tool: ToolModel) => boolean;

export async function loadEntitlements(settings: Settings, tenantId: string): Promise<Entitled> {
  const matchers = (await settings.entitlements(tenantId)).map((e) => ({
    connector: glob(e.connector),
    tool: glob(e.toolGlob),
  }));
  return (tool) => matchers.some((m) => m.connector(tool.connector) && m.tool(tool.name));
}

export function requireEntitled(entitled: Entitled, tool: ToolModel): void {
  if (!entitled(tool)) {
    throw new Refusal('entitlement', 'not-entitled', `Refused: your tenant is not entitled to ${tool.name} (connector ${tool.connector})`, 403);
  }
}
