/**
 * The upstream both call-cost targets talk to: node:http on 127.0.0.1 answering GET /api/items
 * with a fixed JSON list (20 items, about 4 KB), so that only the layers in front of it differ.
 */
import http from 'node:http';
import { report } from '../child.ts';

export const ITEM_COUNT = 20;

const statuses = ['open', 'pending', 'closed'] as const;
const items = Array.from({ length: ITEM_COUNT }, (_, i) => ({
  id: 1000 + i,
  name: `UPS battery, rack ${i + 1}`,
  status: statuses[i % statuses.length],
  owner: `technician${(i % 5) + 1}@msp.example`,
  createdAt: new Date(Date.UTC(2025, 0, 1 + i, 9, 30)).toISOString(),
  tags: ['hardware', `site-${(i % 4) + 1}`],
  description: 'Battery self-test failed twice; bring a spare.',
}));
const body = Buffer.from(JSON.stringify(items));

const server = http.createServer((req, res) => {
  const pathname = (req.url ?? '/').split('?')[0];
  if (req.method === 'GET' && pathname === '/api/items') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  } else {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"error":"not found"}');
  }
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  report({ baseUrl: `http://127.0.0.1:${port}/api`, items: ITEM_COUNT, bytes: body.length });
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
