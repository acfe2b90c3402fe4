/**
 * `init` on a document whose reads are all POSTs (AWS's JSON protocols, RPC-style APIs): the spec
 * it writes lists the POSTs that look like reads, commented out, with what `effect: read` means,
 * because only the author can vouch that a POST changes nothing.
 */
import type { LoadedDocument, OperationInfo } from './openapi/types.ts';
import { assignToolNames, snakeCase } from './naming.ts';
import { looksLikeWrite } from './select.ts';

/** Leading words of an operationId that name a read in RPC-style APIs. */
const READ_VERBS = /^(describe|list|get|search|query|find|lookup|batch_get|read|fetch|count|head|scan|select|export)(_|$)/;

/** POST operations whose operationId starts with a read verb and whose path or id names no write. */
export function postReadCandidates(doc: LoadedDocument): OperationInfo[] {
  return doc.operations.filter((o) => o.method === 'POST' && !o.derivedOperationId && READ_VERBS.test(snakeCase(o.operationId)) && !looksLikeWrite(o));
}

/**
 * The commented `tools:` block: each candidate with `effect: read` and a `reason:` to write, or
 * every POST when none looks like a read. Empty when the document has no POST.
 */
export function postReadsBlock(doc: LoadedDocument, connector: string): { text: string; listed: number; posts: number } {
  const posts = doc.operations.filter((o) => o.method === 'POST');
  if (posts.length === 0) return { text: '', listed: 0, posts: 0 };
  const candidates = postReadCandidates(doc);
  const listed = candidates.length ? candidates : posts;
  const names = assignToolNames(connector, listed);
  const lines = [
    `# This document has no GET or HEAD operation: its reads are POSTs (${posts.length} in all).`,
    '# specgate serves reads only, so a POST becomes a tool only when the spec says it reads:',
    '# `effect: read` with a `reason:` saying why it has no side effects (docs/spec-reference.md,',
    '# "Reads by POST"). Check each one against the vendor\'s documentation, uncomment those that',
    '# only read, and write their reason.',
    candidates.length
      ? `# Listed: the ${candidates.length} whose operationId starts with a read verb (Describe, List, Get, Search ...); the other ${posts.length - candidates.length} are left out.`
      : '# None has an operationId that starts with a read verb (Describe, List, Get, Search ...): all are listed.',
    '# tools:',
  ];
  for (const o of listed) {
    lines.push(`#   - operation: "${o.method} ${o.path}"`);
    lines.push(`#     name: ${names.get(`${o.method} ${o.path}`)}`);
    if (o.summary) lines.push(`#     description: ${JSON.stringify(o.summary.replace(/\s+/g, ' ').trim())}`);
    lines.push('#     effect: read');
    lines.push('#     reason: ""   # why this POST only reads, e.g. "a search: changes nothing"');
  }
  return { text: `${lines.join('\n')}\n`, listed: listed.length, posts: posts.length };
}
