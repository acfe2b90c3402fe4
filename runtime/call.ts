/**
 * The runtime's tool caller: built once per catalog version from the generated connectors and their
 * upstream configuration. One typed client, one guard and one resilience policy per connector; for
 * each call it picks the connector's runtime and runs the execution steps (runtime/call-path.ts,
 * step 7), and it tracks the calls in flight so that a reload or shutdown can wait for them.
 */
import type { GeneratedConnector } from './model.ts';
import { executeTool } from './call-path.ts';
import type { ConnectorRuntime } from './execution/connector-runtime.ts';
import { errorResult, type CallToolResult, type ToolCaller, type UpstreamEvent } from './tool-call.ts';
import { createUpstreamGuard, type Authenticate, type UpstreamGuard } from './upstream/guard.ts';
import { createUpstreamPolicy } from './upstream/resilience.ts';
import { createCursorSigner, cursorKeysFrom, type CursorSigner } from './upstream/cursor.ts';

export interface UpstreamConfig {
  baseUrl: string;
  /** Adds credentials to an outgoing request; called only after the allow-list check passed. */
  authenticate?: Authenticate;
}

export interface CallerOptions {
  connectors: GeneratedConnector[];
  /** By connector name. */
  upstreams: Record<string, UpstreamConfig>;
  /** Per attempt; default 10 000. */
  timeoutMs?: number;
  /** Retries of idempotent reads; default 2. */
  retries?: number;
  /** Default 5 MB. */
  maxResponseBytes?: number;
  /** Concurrent calls per upstream; default 16 (a queue of four times that waits). */
  concurrency?: number;
  /** Default { threshold: 5, halfOpenAfterMs: 30 000 }. */
  breaker?: { threshold: number; halfOpenAfterMs: number };
  /** After each call that reached the upstream stage, for metrics and metering. */
  onUpstream?: (e: UpstreamEvent) => void;
  /** Pagination cursor keys, the first signs (see cursorKeysFrom); default from the environment. */
  cursorKeys?: Buffer[];
}

export type { ToolCaller } from './tool-call.ts';

/** One connector's runtime against one upstream: its guard (closed by whoever made it), client and resilience policy. */
export function createConnectorRuntime(
  connector: GeneratedConnector, upstream: UpstreamConfig, cursors: CursorSigner, options: Omit<CallerOptions, 'connectors' | 'upstreams' | 'cursorKeys'> = {},
): ConnectorRuntime & { guard: UpstreamGuard } {
  const name = connector.model.name;
  const guard = createUpstreamGuard({
    connector: name,
    baseUrl: upstream.baseUrl,
    allowList: connector.model.allowList,
    authenticate: upstream.authenticate,
    timeoutMs: options.timeoutMs ?? 10_000,
    maxResponseBytes: options.maxResponseBytes ?? 5 * 1024 * 1024,
  });
  return {
    name,
    baseUrl: upstream.baseUrl,
    guard,
    client: connector.createClient({ baseUrl: upstream.baseUrl, fetch: guard.unscoped }),
    policy: createUpstreamPolicy({
      connector: name,
      retries: options.retries ?? 2,
      concurrency: options.concurrency ?? 16,
      breaker: options.breaker ?? { threshold: 5, halfOpenAfterMs: 30_000 },
    }),
    cursors,
    onUpstream: options.onUpstream,
    tools: new Map(connector.model.tools.map((t) => [t.name, t])),
  };
}

export function createToolCaller(options: CallerOptions): ToolCaller {
  const runtimes = new Map<string, ConnectorRuntime>();
  const pools: Array<{ close(): Promise<void> }> = [];
  const missing = new Map<string, string>();
  const cursors = createCursorSigner(options.cursorKeys ?? cursorKeysFrom());
  for (const connector of options.connectors) {
    const name = connector.model.name;
    const upstream = options.upstreams[name];
    if (!upstream) {
      missing.set(name, `No upstream is configured for the ${name} connector`);
      continue;
    }
    try {
      new URL(upstream.baseUrl);
    } catch {
      missing.set(name, `The ${name} upstream URL is not a valid URL`);
      continue;
    }
    const rt = createConnectorRuntime(connector, upstream, cursors, options);
    pools.push(rt.guard);
    runtimes.set(name, rt);
  }

  const inFlight = new Set<Promise<CallToolResult>>();
  let closed = false;

  return {
    callTool(tool, args, ctx) {
      if (closed) return Promise.resolve(errorResult('The runtime is shutting down; retry shortly'));
      const rt = runtimes.get(tool.connector);
      if (!rt) return Promise.resolve(errorResult(missing.get(tool.connector) ?? `Unknown connector "${tool.connector}"`));
      const call = executeTool(rt, tool, args, ctx);
      inFlight.add(call);
      void call.finally(() => inFlight.delete(call));
      return call;
    },
    breakers() {
      return Object.fromEntries([...runtimes].map(([name, rt]) => [name, rt.policy.state]));
    },
    async close() {
      closed = true;
      await Promise.allSettled([...inFlight]);
      await Promise.allSettled(pools.map((p) => p.close()));
    },
  };
}
