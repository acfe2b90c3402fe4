/**
 * A catalog of synthetic tools shaped like generated ones (a handful of typed arguments, an
 * object result with a paged list), for measuring tools/list at a size no fixture reaches.
 */
import type { ConnectorModel, GeneratedConnector, ToolModel } from '../runtime/model.ts';

function tool(connector: string, index: number): ToolModel {
  const name = `${connector}_list_records_${String(index).padStart(4, '0')}`;
  return {
    name,
    title: `List records ${index}`,
    description: `Lists the records of kind ${index} in ${connector}, newest first. Filter by status, owner or a free-text search; results are paged.`,
    connector,
    operation: { method: 'GET', path: `/records/${index}`, operationId: `listRecords${index}` },
    effect: 'read',
    riskTier: 'low',
    tags: ['records'],
    annotations: { title: `List records ${index}`, readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    inputSchema: {
      type: 'object',
      properties: {
        search: { type: 'string', description: 'Free-text search over name and notes' },
        status: { type: 'string', enum: ['open', 'pending', 'closed'] },
        owner_id: { type: 'integer', minimum: 1 },
        updated_since: { type: 'string', format: 'date-time' },
        limit: { type: 'integer', minimum: 1, maximum: 100, default: 25 },
        cursor: { type: 'string' },
      },
      additionalProperties: false,
    },
    outputSchema: {
      type: 'object',
      properties: {
        items: {
          type: 'array',
          items: {
            type: 'object',
            properties: { id: { type: 'integer' }, name: { type: 'string' }, status: { type: 'string' }, owner_id: { type: 'integer' } },
          },
        },
        nextCursor: { type: 'string' },
      },
    },
    parameters: [
      { name: 'search', in: 'query', argument: 'search', required: false },
      { name: 'status', in: 'query', argument: 'status', required: false },
      { name: 'owner_id', in: 'query', argument: 'owner_id', required: false },
      { name: 'updated_since', in: 'query', argument: 'updated_since', required: false },
    ],
    customerParameters: [],
    shape: {},
    definitionTokens: 220,
  };
}

/** `total` tools spread over connectors of `perConnector` tools each. */
export function syntheticConnectors(total: number, perConnector = 100): GeneratedConnector[] {
  const connectors: GeneratedConnector[] = [];
  for (let c = 0; c * perConnector < total; c++) {
    const name = `synthetic${String(c).padStart(2, '0')}`;
    const count = Math.min(perConnector, total - c * perConnector);
    const tools = Array.from({ length: count }, (_, i) => tool(name, i));
    const model: ConnectorModel = {
      name,
      title: `Synthetic ${c}`,
      document: { source: 'synthetic', sha256: '0'.repeat(64), version: '1.0.0', openapi: '3.1.0' },
      servers: ['http://127.0.0.1:9'],
      auth: { schemes: [] },
      tools,
      allowList: tools.map((t) => ({ method: t.operation.method, path: t.operation.path })),
    };
    connectors.push({
      model,
      createClient: () => {
        throw new Error('the tools/list bench never calls an upstream');
      },
    });
  }
  return connectors;
}
