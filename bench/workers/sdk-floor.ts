/**
 * The SDK floor: the official SDK's own stateless Streamable HTTP example on Fastify (the
 * @modelcontextprotocol/fastify README: a fresh McpServer and transport per request), with one
 * tool that does what the bare proxy does. No specgate code runs here, so this target is what
 * any server built on the SDK pays per call before it does anything of its own.
 */
import { createMcpFastifyApp } from '@modelcontextprotocol/fastify';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import { McpServer } from '@modelcontextprotocol/server';
import { request } from 'undici';
import { TOOL } from '../fixture.ts';
import { report } from '../child.ts';
import { profileOnSignal } from './profiler.ts';

const baseUrl = process.argv[2];
if (!baseUrl) throw new Error('usage: sdk-floor.ts <upstream base URL>');

function server(): McpServer {
  const mcp = new McpServer({ name: 'sdk-floor', version: '1.0.0' });
  mcp.registerTool(TOOL, { description: 'The bench upstream\'s items' }, async () => {
    const upstream = await request(`${baseUrl}/items`);
    return { content: [{ type: 'text', text: await upstream.body.text() }] };
  });
  return mcp;
}

const app = createMcpFastifyApp();
app.post('/mcp', async (req, reply) => {
  const mcp = server();
  const transport = new NodeStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  await mcp.connect(transport);
  reply.raw.on('close', () => {
    void transport.close();
    void mcp.close();
  });
  await transport.handleRequest(req.raw, reply.raw, req.body);
});
const address = await app.listen({ port: 0, host: '127.0.0.1' });
profileOnSignal('sdk-floor');
report({ url: `${address}/mcp` });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
