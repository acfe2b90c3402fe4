/**
 * Reports for the console and operators' tooling: usage over time split by tenant, customer,
 * connector or tool (calls, billable units, errors and refusals apart, latency percentiles), and
 * the catalog with each upstream's health. A tenant operator sees its own tenant only; the
 * cross-tenant series needs a global key.
 */
import type { FastifyInstance } from 'fastify';
import { REPORT_BUCKETS, REPORT_KEYS, type ReportBucket, type ReportKey } from '../store/index.ts';
import { requireGlobal, tenantParams, type AdminDeps } from './context.ts';
import { reportWindow } from './rules.ts';
export type { CatalogReport } from './catalog-report.ts';

const isoish = { type: 'string', minLength: 10, maxLength: 40 } as const;

interface SeriesQuerystring { from?: string; to?: string; bucket: ReportBucket; by?: ReportKey }

const seriesQuery = {
  type: 'object', additionalProperties: false,
  properties: {
    from: { ...isoish, description: 'inclusive start (ISO 8601); default: the first of the current month, UTC' },
    to: { ...isoish, description: 'exclusive end (ISO 8601); default: now' },
    bucket: { type: 'string', enum: [...REPORT_BUCKETS], default: 'day' },
    by: { type: 'string', enum: [...REPORT_KEYS] },
  },
} as const;

const nullableNumber = { type: ['number', 'null'] } as const;
const seriesResponse = {
  200: {
    type: 'object',
    properties: {
      tenantId: { type: ['string', 'null'] }, from: { type: 'string' }, to: { type: 'string' }, bucket: { type: 'string' }, by: { type: ['string', 'null'] },
      points: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            at: { type: 'string' }, key: { type: ['string', 'null'] }, calls: { type: 'integer' }, units: { type: 'integer' },
            ok: { type: 'integer' }, errors: { type: 'integer' }, cancelled: { type: 'integer' }, refused: { type: 'integer' },
            p50: nullableNumber, p95: nullableNumber, p99: nullableNumber,
          },
        },
      },
      totals: {
        type: 'array',
        items: { type: 'object', properties: { key: { type: ['string', 'null'] }, calls: { type: 'integer' }, units: { type: 'integer' }, errors: { type: 'integer' }, refused: { type: 'integer' } } },
      },
    },
  },
} as const;

export default async function reports(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  const series = (tenantId: string | undefined, q: SeriesQuerystring) => {
    const { from, to } = reportWindow(q.from, q.to, { from: 'querystring.from', to: 'querystring.to' }, deps.now());
    return deps.reports.series({ ...(tenantId !== undefined && { tenantId }), from, to, bucket: q.bucket, ...(q.by && { by: q.by }) })
      .then((s) => ({ tenantId: tenantId ?? null, from, to, bucket: q.bucket, by: q.by ?? null, ...s }));
  };

  app.get<{ Params: { tenant: string }; Querystring: SeriesQuerystring }>('/tenants/:tenant/usage/series', {
    schema: { summary: "A tenant's usage over time", params: tenantParams, querystring: seriesQuery, response: seriesResponse },
  }, async (request) => {
    const { tenant } = request.params;
    await deps.tenant(request, tenant);
    return series(tenant, request.query);
  });

  app.get<{ Querystring: SeriesQuerystring }>('/usage/series', {
    schema: { summary: "Every tenant's usage over time (global operators)", querystring: seriesQuery, response: seriesResponse },
  }, async (request) => {
    requireGlobal(request.admin, 'usage across tenants');
    return series(undefined, request.query);
  });

  app.get('/catalog', {
    schema: { summary: 'The served catalog: connectors, tools, scope, token cost, document, upstream health' },
  }, async (request) => {
    const catalog = deps.options.catalog?.();
    if (!catalog) return { version: null, connectors: [], tools: [] };
    // Upstream hosts can name an MSP's own vendor instance: only a global operator sees them.
    if (request.admin.tenantId === null) return catalog;
    return { ...catalog, connectors: catalog.connectors.map((c) => ({ ...c, upstream: { ...c.upstream, url: null } })) };
  });
}
