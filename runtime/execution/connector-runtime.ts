/**
 * What the tool caller (runtime/call.ts) prepares once per connector at startup and every
 * execution step of a call reads: the connector's client, guard, resilience policy and cursor
 * signer. Types only.
 */
import type { OperationCall, ToolModel } from '../model.ts';
import type { UpstreamEvent } from '../tool-call.ts';
import type { UpstreamGuard } from '../upstream/guard.ts';
import type { CursorSigner } from '../upstream/cursor.ts';
import type { UpstreamPolicy } from '../upstream/resilience.ts';

export interface ConnectorRuntime {
  name: string;
  baseUrl: string;
  /** Hands each call its own scoped fetch. */
  guard: Pick<UpstreamGuard, 'fetchFor'>;
  client: Record<string, OperationCall>;
  policy: UpstreamPolicy;
  /** Seals the cursors results hand out and opens the ones callers hand back. */
  cursors: CursorSigner;
  /** The connector's tools by name: a tool's owner parent is one of them. */
  tools?: Map<string, ToolModel>;
  onUpstream?: (e: UpstreamEvent) => void;
}
