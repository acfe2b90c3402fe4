/**
 * Sends one operation to the vendor: through the connector's resilience policy (timeout, retries,
 * breaker, concurrency cap), with the generated client handed the call's own scoped fetch for this
 * request (openapi-fetch's `fetch` option), so no state is shared between calls. A vendor error
 * status becomes a ToolCallError whose message the model can act on; a body the client left as
 * text is parsed by its content type.
 */
import type { OperationCall, ToolModel, UpstreamRequest } from '../model.ts';
import type { CallScope } from '../upstream/guard.ts';
import { ToolCallError, describeHttpError } from '../upstream/errors.ts';
import type { ConnectorRuntime } from './connector-runtime.ts';
import { parseBody } from './shape.ts';

export interface Answer {
  /** The vendor's body, parsed. */
  raw: unknown;
  response: Response;
}

export async function send(
  rt: Pick<ConnectorRuntime, 'name' | 'guard' | 'policy'>, tool: ToolModel, operation: OperationCall, request: UpstreamRequest, scope: CallScope, signal: AbortSignal,
): Promise<Answer> {
  const fetch = rt.guard.fetchFor(scope);
  const outcome = await rt.policy.run(tool.operation.method, () => operation({ ...request, fetch }), signal);
  const { response } = outcome;
  // Scrubbed of the request's secrets where the call turns it into a result.
  if (!response.ok) throw new ToolCallError(describeHttpError(rt.name, tool.operation, response, outcome.error));
  const raw = typeof outcome.data === 'string' || outcome.data === undefined
    ? parseBody(outcome.data, response.headers.get('content-type'))
    : outcome.data; // a client that parsed already
  return { raw, response };
}
