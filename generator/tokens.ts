/**
 * Token cost of a tool definition in a client's context, counted with a real BPE tokenizer
 * (o200k, the encoding of current OpenAI models; Claude's differs by a few percent, which is
 * well inside what a budget warning needs).
 */
import { countTokens } from 'gpt-tokenizer';

export function definitionTokens(def: { name: string; title?: string; description: string; inputSchema: unknown; outputSchema?: unknown }): number {
  // Clients serialise the definition as JSON into the prompt; count what they would send.
  return jsonTokens(JSON.stringify(def));
}

export function textTokens(text: string): number {
  return countTokens(text);
}

/**
 * Counts of text pieces already seen. The definitions of one connector repeat the same keys,
 * descriptions and $defs hundreds of times (GitHub: 3 MB of JSON over 639 tools), and BPE over
 * all of it was most of a build.
 */
const pieceCounts = new Map<string, number>();

/**
 * The same count as countTokens(json), from the counts of its pieces. The tokenizer first splits
 * text into words (o200k's pattern), and a word never spans an ASCII letter or digit followed by
 * a quote: a run of letters or digits cannot take in a quote, nor a run of punctuation a letter.
 * Cut there, the pieces split into exactly the words of the whole, so their counts add up.
 */
export function jsonTokens(json: string): number {
  let total = 0;
  let start = 0;
  for (let quote = json.indexOf('"', 1); quote !== -1; quote = json.indexOf('"', quote + 1)) {
    if (!isAsciiWordChar(json.charCodeAt(quote - 1))) continue;
    total += pieceTokens(json.slice(start, quote));
    start = quote;
  }
  return total + pieceTokens(json.slice(start));
}

function isAsciiWordChar(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

function pieceTokens(piece: string): number {
  let n = pieceCounts.get(piece);
  if (n === undefined) {
    n = countTokens(piece);
    pieceCounts.set(piece, n);
  }
  return n;
}
