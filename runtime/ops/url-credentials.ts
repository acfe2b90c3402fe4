/**
 * Credentials in a URL are refused on every listener: a query string is written to access logs,
 * proxy logs and browser history, so a key sent there must be treated as leaked. The answer says
 * where credentials belong; the request's log line shows the URL with its query redacted
 * (ops/logging.ts).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CREDENTIALS_IN_URL_MESSAGE, credentialInUrl } from '../mcp/edge.ts';

/** An onRequest step: answers 400 when the URL carries a credential; the body is never read. */
export function refuseCredentialsInUrl(request: FastifyRequest, reply: FastifyReply): FastifyReply | undefined {
  const found = credentialInUrl(request.url);
  if (!found) return undefined;
  if (request.edge) request.edge.refusal = { step: 'transport', code: 'credentials-in-url', reason: `query parameter ${found.param} carries a credential` };
  if (request.headers['content-length'] !== undefined || request.headers['transfer-encoding'] !== undefined) void reply.header('connection', 'close');
  return reply.code(400).type('application/json').send({
    jsonrpc: '2.0', error: { code: -32600, message: `${CREDENTIALS_IN_URL_MESSAGE} (query parameter ${found.param})` }, id: null,
  });
}
