/** Vendor prose made fit for a client: tags removed, white space folded, length capped. */
import type { OperationInfo } from '../openapi/types.ts';
import type { ToolSpec } from '../spec/types.ts';

const MAX_DESCRIPTION = 1024;

export function clean(text: string, max: number): string {
  const plain = text.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
  return plain.length > max ? `${plain.slice(0, max - 1).trimEnd()}…` : plain;
}

export function asObject(s: unknown): Record<string, unknown> {
  return s && typeof s === 'object' ? (s as Record<string, unknown>) : {};
}

/** The spec's title and description, else the operation's summary and description, else its method and path. */
export function toolText(t: ToolSpec | undefined, op: Pick<OperationInfo, 'summary' | 'description' | 'method' | 'path'>): { title?: string; description: string } {
  const title = t?.title ?? (op.summary ? clean(op.summary, 80) : undefined);
  const description = t?.description
    ? t.description.trim()
    : clean([op.summary, op.description].filter(Boolean).join('. ') || `${op.method} ${op.path}`, MAX_DESCRIPTION);
  return { title, description };
}
