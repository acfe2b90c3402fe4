/**
 * The request body of a POST read (a search endpoint) as one argument, and the body fields the
 * runtime forces to the caller's customer.
 */
import type { ToolModel } from '../../runtime/model.ts';
import type { OperationInfo } from '../openapi/types.ts';
import type { ConnectorSpec, ToolSpec } from '../spec/types.ts';
import type { SchemaConverter } from '../schema/json-schema.ts';
import { bodyCustomerFields } from '../scope.ts';
import { asObject, clean } from './text.ts';
import { issueList, type Issue, type Path } from './issues.ts';

export interface BodyArgument {
  body: NonNullable<ToolModel['body']>;
  schema: Record<string, unknown>;
}

export function requestBody(
  spec: ConnectorSpec, t: ToolSpec | undefined, op: Pick<OperationInfo, 'method' | 'requestBody'>,
  converter: SchemaConverter, taken: ReadonlySet<string>, at: Path,
): { argument?: BodyArgument; issues: Issue[] } {
  const { issues, error } = issueList();
  let argument: BodyArgument | undefined;
  if (op.requestBody && op.method === 'POST') {
    let name = 'body';
    for (let n = 2; taken.has(name); n++) name = `body_${n}`;
    argument = {
      body: { argument: name, contentType: op.requestBody.contentType, required: op.requestBody.required },
      schema: { ...asObject(converter.convert(op.requestBody.schema)), ...(op.requestBody.description ? { description: clean(op.requestBody.description, 300) } : {}) },
    };
  }
  const customerFields = bodyCustomerFields(spec, t, argument !== undefined, at, error);
  if (argument && customerFields) argument.body.customerFields = customerFields;
  return { argument, issues };
}
