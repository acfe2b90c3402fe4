/**
 * The rules operator input follows, whichever front end it came through (the `specgate` admin
 * commands, the admin HTTP API). No store imports here, so the CLI can load it before opening one.
 */
import type { ApprovalStatus } from '../store/repos/approvals.ts';
export type OperatorErrorKind = 'not-found' | 'conflict' | 'invalid' | 'forbidden';

export class OperatorError extends Error {
  override name = 'OperatorError';
  constructor(readonly kind: OperatorErrorKind, message: string, readonly field?: string) {
    super(message);
  }
}

/** Said wherever a key's secret is handed out. */
export const SHOWN_ONCE = 'This key is shown once: store it now, it cannot be retrieved again.';

/** Quota periods the quota step knows how to map to a counter window. */
export const QUOTA_PERIODS: readonly string[] = ['month', 'day', 'hour'];

/** Every status an approval request can be listed by (the type only: the store stays unloaded). */
export const APPROVAL_STATUSES = ['pending', 'approved', 'denied', 'used', 'expired'] as const satisfies readonly ApprovalStatus[];

const ISO_RE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * An ISO date or date-time, normalised to the store's UTC `toISOString` form so string comparison
 * orders correctly. A date-time without an offset is read as UTC, like a bare date, so results do
 * not depend on the operator's time zone.
 */
export function parseDate(value: string, label: string): string {
  const bare = ISO_RE.exec(value);
  const t = bare ? Date.parse(bare[1] && !bare[4] ? `${value}Z` : value) : NaN;
  if (Number.isNaN(t)) throw new OperatorError('invalid', `bad date for ${label}: "${value}" (use ISO 8601, e.g. 2026-01-31 or 2026-01-31T12:00:00Z)`, label);
  return new Date(t).toISOString();
}

/** A [from, to) window for usage reports, both normalised. */
export function usageWindow(from: string, to: string, labels: { from: string; to: string }): { from: string; to: string } {
  const window = { from: parseDate(from, labels.from), to: parseDate(to, labels.to) };
  if (window.from >= window.to) throw new OperatorError('invalid', `${labels.from} ${window.from} must be before ${labels.to} ${window.to}`, labels.from);
  return window;
}

export function keyStatus(k: { revokedAt: string | null; expiresAt: string | null }, now: Date = new Date()): 'active' | 'revoked' | 'expired' {
  return k.revokedAt ? 'revoked' : k.expiresAt && k.expiresAt <= now.toISOString() ? 'expired' : 'active';
}

/**
 * The window a report covers when the operator names only one end or none: from the first of the
 * current month (UTC) to now, the period a monthly bill covers so far.
 */
export function reportWindow(from: string | undefined, to: string | undefined, labels: { from: string; to: string }, now: Date): { from: string; to: string } {
  const end = to ?? now.toISOString();
  const start = from ?? new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString();
  return usageWindow(start, end, labels);
}
