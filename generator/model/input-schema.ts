/**
 * The tool's input schema, put together from the parameter arguments, the body argument, the
 * paging arguments and the input $defs.
 */
import type { JsonSchema, OwnerParent, Pagination } from '../../runtime/model.ts';
import type { ToolArguments } from './arguments.ts';
import type { BodyArgument } from './body.ts';

export function inputSchema(
  args: Pick<ToolArguments, 'properties' | 'required'>, body: BodyArgument | undefined, ownerParent: OwnerParent | undefined,
  pagination: Pagination | undefined, defs: Record<string, unknown>,
): Record<string, unknown> {
  const properties: Record<string, JsonSchema> = { ...args.properties };
  const required = [...args.required];
  if (body) {
    properties[body.body.argument] = body.schema;
    if (body.body.required) required.push(body.body.argument);
  }
  // The parent check needs the parent's id: without it the call would read every parent's records.
  for (const own of Object.values(ownerParent?.arguments ?? {})) {
    if (own in properties && !required.includes(own)) required.push(own);
  }
  if (pagination) {
    properties.limit = { type: 'integer', minimum: 1, maximum: pagination.maxLimit, default: pagination.defaultLimit, description: 'How many items per page.' };
    properties.cursor = { type: 'string', description: 'Opaque cursor from a previous result\'s nextCursor, for the next page. Omit for the first page.' };
  }
  return {
    type: 'object',
    properties,
    ...(required.length ? { required } : {}),
    additionalProperties: false,
    ...(Object.keys(defs).length ? { $defs: defs } : {}),
  };
}
