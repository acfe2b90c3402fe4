/**
 * A connector of more tools than this (a whole-document `init --all-reads`: Microsoft Graph has
 * 5,824 reads) is emitted for start-up and type-check time rather than for a typed client:
 * - the model goes to model.json, read with JSON.parse (Node compiled Graph's 53 MB literal
 *   module in tens of seconds; JSON.parse reads it in under one), and model.ts only declares it;
 * - no schema.ts and an untyped client: typing 5,824 calls against openapi-typescript's `paths`
 *   ran tsc out of memory ("union type that is too complex") after minutes.
 * The runtime validates every call against the tool's input schema either way.
 */
export const LARGE_CONNECTOR_TOOLS = 1000;

export function isLargeConnector(tools: number): boolean {
  return tools > LARGE_CONNECTOR_TOOLS;
}
