/**
 * The types one tool call is executed with and answers in, shared by every step of the call path
 * (runtime/call-path.ts): the executor, the governance steps and the MCP endpoint. Types and one
 * constructor only, so that any module may import it without creating a cycle.
 */
import type { TraceContext } from './ops/tracing.ts';
import type { ToolModel } from './model.ts';

/**
 * What a tool call answers: text content, optionally structured. A structural subset of the SDK's
 * (a type alias, not an interface, so that it fits the SDK's index signature).
 */
export type CallToolResult = {
  content: Array<{ type: 'text'; text: string }>;
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
  /** `specgate/tokens`: what the result's text costs in a model's context (o200k). */
  _meta?: Record<string, unknown>;
};

/** What the response ownership check did, for the audit record. */
export interface OwnershipReport {
  /** Set when the call was refused: why, as the caller was told. */
  refused?: { code: 'other-customer' | 'no-owner' | 'unverifiable'; message: string };
  /** Items of other customers (or without an owner) left out of the list. */
  withheld: number;
}

/** What the executor needs to know about one call beyond the tool and its arguments. */
export interface ToolCallContext {
  requestId: string;
  signal: AbortSignal;
  /** The call's trace context, when tracing is on: upstream attempts become its children. */
  trace?: TraceContext;
  /** The caller's customer id in each vendor, by connector name (set by customer scoping). */
  customerIds?: Record<string, string>;
  /** The selected customer (specgate's id), for messages that name it. */
  customer?: string;
  /** The caller's named vendor ids (a spec's customer.ids), by connector and name. */
  customerNamedIds?: Record<string, Record<string, string>>;
  /** Filled in by the executor: what the response ownership check refused or withheld. */
  ownership?: OwnershipReport;
  /** The caller's tenant, when the governance chain runs: picks the tenant's own upstreams. */
  tenantId?: string;
  /** Filled in by the executor as the call ends: what metering bills besides the call itself. */
  usage?: { upstreamBytes: number; reachedVendor?: boolean };
  /**
   * Set by the governed path, which validated these arguments against this tool's input schema
   * (step 6.9) before spending approval or quota on them: execution does not repeat it (step 7.1).
   */
  validated?: true;
}

/** Executes tool calls against the upstreams of one catalog version (runtime/call.ts). */
export interface ToolCaller {
  callTool(tool: ToolModel, args: Record<string, unknown>, ctx: ToolCallContext): Promise<CallToolResult>;
  /** Each connector's circuit breaker: 'closed', 'open' or 'half-open'. */
  breakers(): Record<string, string>;
  /** Refuses new calls and waits for the ones in flight. */
  close(): Promise<void>;
}

/** After each call that reached the upstream stage, for metrics. */
export interface UpstreamEvent {
  connector: string;
  tool: string;
  status: number | 'error';
  durationMs: number;
  bytes: number;
}

export function errorResult(message: string): CallToolResult {
  return { content: [{ type: 'text', text: message }], isError: true };
}
