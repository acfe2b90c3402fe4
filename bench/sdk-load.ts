/**
 * Closed-loop tools/call load through the official MCP client (SDK 1.x, the 2025-era client the
 * peers speak): `clients` connected clients, each with one call in flight at a time. autocannon
 * cannot drive a peer that answers a POST with 202 and sends the result on its GET stream, so the
 * peers section loads every target, specgate included, this same way.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { hasAllItems, type ToolAnswer } from './mcp-answer.ts';
import type { Sample } from './load.ts';

export interface McpTarget {
  url: string;
  headers: Record<string, string>;
  /** Resolved on first connect: each server names the same operation its own way. */
  tool?: string;
  /** Picks this target's tool for the bench upstream's listItems out of its tools/list. */
  pickTool(names: string[]): string | undefined;
}

async function connect(target: McpTarget): Promise<Client> {
  const client = new Client({ name: 'specgate-bench', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(target.url), { requestInit: { headers: target.headers } }));
  return client;
}

async function toolOf(target: McpTarget, client: Client): Promise<string> {
  if (target.tool) return target.tool;
  const names = (await client.listTools()).tools.map((t) => t.name);
  const tool = target.pickTool(names);
  if (!tool) throw new Error(`${target.url}: no tool for listItems among ${names.join(', ')}`);
  target.tool = tool;
  return tool;
}

function asAnswer(result: unknown): ToolAnswer {
  return { status: 200, result: result as ToolAnswer['result'], raw: JSON.stringify(result).slice(0, 300) };
}

/** One call on a fresh connection: throws unless it returns the upstream's `items` items. */
export async function checkMcpTarget(target: McpTarget, items: number): Promise<void> {
  const client = await connect(target);
  try {
    const answer = asAnswer(await client.callTool({ name: await toolOf(target, client), arguments: {} }));
    if (!hasAllItems(answer, items)) throw new Error(`${target.url}: tools/call ${target.tool} did not return the ${items} items: ${answer.raw}`);
  } finally {
    await client.close();
  }
}

export async function sdkLoad(target: McpTarget, options: { seconds: number; clients: number; items: number; tolerateErrors?: boolean }): Promise<Sample> {
  const clients = await Promise.all(Array.from({ length: options.clients }, () => connect(target)));
  const tool = await toolOf(target, clients[0]);
  const latencies: number[] = [];
  let requests = 0;
  let errors = 0;
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  try {
    await Promise.all(clients.map(async (client) => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        requests++;
        try {
          const result = asAnswer(await client.callTool({ name: tool, arguments: {} }, undefined, { timeout: 10_000 }));
          if (hasAllItems(result, options.items)) latencies.push(performance.now() - t0);
          else errors++;
        } catch {
          errors++;
        }
      }
    }));
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  }
  const seconds = (performance.now() - started) / 1000;
  if (!options.tolerateErrors && (errors > 0 || requests === 0)) throw new Error(`${target.url}: ${errors} failed calls out of ${requests} under load`);
  return { latencies, requests, seconds, errors, non2xx: 0, timeouts: 0 };
}
