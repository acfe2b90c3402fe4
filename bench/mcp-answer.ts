/**
 * One tools/call as the bench sends it (a 2025-era stateless POST, served without a prior
 * initialize) and the checks that an answer is the upstream's items, not a fast error.
 */
import { TOOL } from './fixture.ts';

export const MCP_HEADERS = {
  accept: 'application/json, text/event-stream',
  'content-type': 'application/json',
  'mcp-protocol-version': '2025-11-25',
} as const;

export const toolsCallBody = (tool: string = TOOL, id: number | string = 1) =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: tool, arguments: {} } });

export interface ToolAnswer {
  status: number;
  result?: { isError?: boolean; content?: Array<{ type?: string; text?: string }> };
  error?: { code: number; message: string };
  raw: string;
}

/** The JSON-RPC message of an answer sent as plain JSON or as an SSE stream with one message. */
export function parseAnswer(status: number, contentType: string, text: string): ToolAnswer {
  const json = contentType.includes('text/event-stream')
    ? text.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('')
    : text;
  try {
    const message = JSON.parse(json) as Omit<ToolAnswer, 'status' | 'raw'>;
    return { status, ...(message.result ? { result: message.result } : {}), ...(message.error ? { error: message.error } : {}), raw: text };
  } catch {
    return { status, raw: text };
  }
}

/** Whether the tool result carries all `items` items of the bench upstream (ids 1000..). */
export function hasAllItems(answer: ToolAnswer, items: number): boolean {
  // specgate renders lists compactly in text; the structured result carries the items as JSON.
  const structured = (answer.result as { structuredContent?: unknown } | undefined)?.structuredContent;
  const rendered = (answer.result?.content?.map((c) => c.text ?? '').join('') ?? '') + (structured === undefined ? '' : JSON.stringify(structured));
  // Peers pretty-print their JSON: allow a space after the colon.
  return answer.status === 200 && !!answer.result && !answer.result.isError && new RegExp(`"id":\\s*${1000 + items - 1}\\b`).test(rendered);
}

export async function callOnce(url: string, headers: Record<string, string>, body: string): Promise<ToolAnswer & { requestId: string | null }> {
  const response = await fetch(url, { method: 'POST', headers: { ...MCP_HEADERS, ...headers }, body });
  const answer = parseAnswer(response.status, response.headers.get('content-type') ?? '', await response.text());
  return { ...answer, requestId: response.headers.get('x-request-id') };
}
