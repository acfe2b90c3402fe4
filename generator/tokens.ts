/**
 * Token cost of a tool definition in a client's context, counted with a real BPE tokenizer
 * (o200k, the encoding of current OpenAI models; Claude's differs by a few percent, which is
 * well inside what a budget warning needs).
 */
import { countTokens } from 'gpt-tokenizer';

export function definitionTokens(def: { name: string; title?: string; description: string; inputSchema: unknown; outputSchema?: unknown }): number {
  // Clients serialise the definition as JSON into the prompt; count what they would send.
  return countTokens(JSON.stringify(def));
}

export function textTokens(text: string): number {
  return countTokens(text);
}
