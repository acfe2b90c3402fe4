/**
 * The operator's console: a single-page app bundled at build time (`npm run build:console` writes
 * `console/dist/`), served as static files beside the admin API it calls. The page itself holds
 * no data; it asks for an admin key and sends it on every API request, so a tenant operator's
 * console shows only what that key may read.
 */
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../package-info.ts';
import type { FastifyInstance } from 'fastify';

export const CONSOLE_PATH = '/console/';

export const consoleDist = (): string => path.join(packageRoot(), 'console', 'dist');

export default async function consoleUi(app: FastifyInstance): Promise<void> {
  const root = consoleDist();
  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.redirect(CONSOLE_PATH));
  if (!fs.existsSync(path.join(root, 'index.html'))) {
    app.get(`${CONSOLE_PATH}*`, { schema: { hide: true } }, async (_request, reply) =>
      reply.code(503).type('text/plain; charset=utf-8').send('The console is not built: run `npm run build:console` (npm install runs it).\n'));
    return;
  }
  const { default: statics } = await import('@fastify/static');
  await app.register(statics, {
    root,
    prefix: CONSOLE_PATH,
    // The bundle's names carry no hash: revalidate every time, the files are small.
    cacheControl: true,
    maxAge: 0,
    setHeaders: (res) => {
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('content-security-policy', "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'");
      res.setHeader('referrer-policy', 'no-referrer');
    },
  });
}
