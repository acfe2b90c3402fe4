/**
 * The server instructions (MCP `instructions`): how the catalog is organised, which customer the
 * session acts for, and how to find tools in the mode the caller is served. The customer comes
 * from the governance chain's principal (the identity's tenant and its verified customer), never
 * from anything the model wrote.
 */
import type { Catalog } from '../catalog.ts';
import type { ToolModel } from '../model.ts';
import type { RequestContext } from '../request-context.ts';
import { CALL_TOOL, DESCRIBE_TOOL, SEARCH_TOOL } from '../discovery/meta-tools.ts';
import { toolsetsOf } from '../discovery/toolsets.ts';

export interface CallerSummary {
  tenantId: string;
  /** The customer the governance chain scoped this session to; null when none is selected. */
  customer: { id: string; name?: string } | null;
}

export type DescribeCaller = (ctx: RequestContext) => Promise<CallerSummary>;

export interface InstructionsInput {
  catalog: Catalog;
  visible: ToolModel[];
  discovery: boolean;
  caller?: CallerSummary;
  /** The toolsets the client pinned (listed in full beside the meta-tools). */
  pinned: string[];
}

/** Connector descriptions are written for people; the first sentence is what a model needs. */
function firstSentence(text: string | undefined): string {
  if (!text) return '';
  const s = /^(.+?[.!?])(\s|$)/s.exec(text.trim())?.[1] ?? text.trim();
  return s.replace(/\s+/g, ' ');
}

export function buildInstructions(input: InstructionsInput): string {
  const { catalog, visible, caller } = input;
  const lines: string[] = [];
  lines.push('specgate serves read-only tools over the MSP\'s vendor systems; each tool name starts with its connector.');
  if (caller) {
    lines.push(caller.customer
      ? `You act for customer ${caller.customer.name ? `"${caller.customer.name}" (id ${caller.customer.id})` : `"${caller.customer.id}"`}: customer-scoped tools return only this customer's data, whatever arguments you pass.`
      : 'No customer is selected for this session: tools that read one customer\'s data are not available until the user selects one.');
  }
  const counts = new Map<string, number>();
  for (const t of visible) counts.set(t.connector, (counts.get(t.connector) ?? 0) + 1);
  lines.push('', `Connectors you may use (${visible.length} tools):`);
  for (const c of catalog.connectors) {
    const n = counts.get(c.model.name);
    if (!n) continue;
    const about = firstSentence(c.model.description);
    lines.push(`- ${c.model.name} (${c.model.title}, ${n} tools)${about ? `: ${about}` : ''}`);
  }
  lines.push('');
  if (input.discovery) {
    const visibleNames = new Set(visible.map((t) => t.name));
    const tags = [...toolsetsOf(catalog).values()].filter((s) => s.kind === 'tag' && s.tools.some((n) => visibleNames.has(n))).map((s) => s.name);
    lines.push(
      `Tools are not listed one by one. Find them with ${SEARCH_TOOL} (plain words, e.g. "open tickets for this customer"), read one with ${DESCRIBE_TOOL} before its first call, and run it with ${CALL_TOOL} {name, arguments}.`,
      `Narrow a search with toolset: a connector name above, or a tag: ${tags.join(', ')}.`,
    );
    if (input.pinned.length) lines.push(`Pinned toolsets listed in full: ${input.pinned.join(', ')}.`);
  } else {
    lines.push('Every tool you may use is in tools/list; pick by name and description.');
  }
  lines.push('Tools that return lists take limit and cursor (pass back nextCursor for the next page). Results leave out empty fields; lists come as a header line and one line per item.');
  return lines.join('\n');
}
