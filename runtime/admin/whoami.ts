/** Who the presented admin credential is: the console asks once to know which tenants it may show. */
import type { FastifyInstance } from 'fastify';

export default async function whoami(app: FastifyInstance): Promise<void> {
  app.get('/whoami', {
    schema: {
      summary: 'The operator behind the credential',
      response: { 200: { type: 'object', properties: { subject: { type: 'string' }, tenantId: { type: ['string', 'null'] } } } },
    },
  }, async (request) => ({ subject: request.admin.subject, tenantId: request.admin.tenantId }));
}
