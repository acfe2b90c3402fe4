/**
 * The baseline: a bare Fastify route that forwards to the upstream with undici and returns its
 * body. It takes the same JSON-RPC POST the MCP endpoint takes (Fastify parses it), so the two
 * targets differ only in what specgate adds.
 */
import Fastify from 'fastify';
import { request } from 'undici';
import { report } from '../child.ts';

const baseUrl = process.argv[2];
if (!baseUrl) throw new Error('usage: proxy.ts <upstream base URL>');

const app = Fastify({ logger: false });
app.post('/proxy', async (_req, reply) => {
  const upstream = await request(`${baseUrl}/items`);
  const text = await upstream.body.text();
  return reply.code(upstream.statusCode).type('application/json').send(text);
});
const address = await app.listen({ port: 0, host: '127.0.0.1' });
report({ url: `${address}/proxy` });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
