/**
 * Response ownership: the vendor's raw response is checked against the caller's customer before
 * anything is projected or shaped, so that no projection can hide the owner field and no record
 * of another customer reaches the model. One record of another customer refuses the call; items
 * of another customer are withheld from the list and counted. A record that does not say whose it
 * is counts as another customer's, unless the spec declares the owner optional (with a reason).
 */
import { TreeInterpreter, compile } from '@jmespath-community/jmespath';
import type { JSONValue } from '@jmespath-community/jmespath';
import type { Ownership, ToolModel } from '../model.ts';
import { findPath, getAt, replaceAt } from './shape.ts';
import type { OwnershipReport } from '../tool-call.ts';

export type { OwnershipReport } from '../tool-call.ts';

export type OwnershipResult =
  | { ok: false; report: OwnershipReport }
  | {
    ok: true;
    /** The raw response with other customers' items removed. */
    raw: unknown;
    report: OwnershipReport;
    /** For a list: its length as the vendor sent it and the vendor's index of each kept item. */
    list?: { rawCount: number; kept: number[] };
  };

type Compiled = { field: ReturnType<typeof compile>; items?: ReturnType<typeof compile> };
const compiled = new WeakMap<Ownership, Compiled>();

function compiledFor(o: Ownership): Compiled {
  let c = compiled.get(o);
  if (!c) {
    // The generator compiled both already; a model edited by hand fails here, at the first call.
    c = { field: compile(o.field), ...(o.items !== undefined && { items: compile(o.items) }) };
    compiled.set(o, c);
  }
  return c;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Whether a vendor's owner value names this vendor id. Ids compare as text: the number 12 is the
 * id "12", but "012" is not "12" (vendors whose ids are strings mean them as written). UUIDs
 * compare without regard to case, as RFC 9562 says they are. A number beyond 2^53 lost digits
 * in JSON parsing and could equal another id, so it never matches; nor does anything that is not
 * a string or a number.
 */
export function sameOwner(owner: unknown, vendorId: string): boolean {
  if (typeof owner === 'number') return Number.isSafeInteger(owner) && String(owner) === vendorId;
  if (typeof owner !== 'string') return false;
  if (owner === vendorId) return true;
  return UUID.test(owner) && UUID.test(vendorId) && owner.toLowerCase() === vendorId.toLowerCase();
}

type Verdict = 'own' | 'other' | 'missing';

function verdict(c: Compiled, record: unknown, vendorId: string): Verdict {
  let owner: unknown;
  try {
    owner = TreeInterpreter.search(c.field, record as JSONValue);
  } catch {
    owner = null;
  }
  if (owner === null || owner === undefined || owner === '') return 'missing';
  return sameOwner(owner, vendorId) ? 'own' : 'other';
}

/** `label` names the tool the caller called (for a parent check, not the parent's). */
export function checkOwnership(tool: ToolModel, raw: unknown, vendorId: string, customer: string, label = tool.name): OwnershipResult {
  const o = tool.ownership!;
  const c = compiledFor(o);
  const refuse = (code: NonNullable<OwnershipReport['refused']>['code'], message: string): OwnershipResult =>
    ({ ok: false, report: { refused: { code, message }, withheld: 0 } });

  let at: Array<string | number> | undefined;
  if (c.items) {
    let list: unknown;
    try {
      list = TreeInterpreter.search(c.items, raw as JSONValue);
    } catch {
      list = undefined;
    }
    at = Array.isArray(list) ? findPath(raw, list) : undefined;
    // No list where the spec says one is: nothing can be shown as verified.
    if (!at) return refuse('unverifiable', `Refused: ${label} answered without its item list (${o.items}), so whose records they are cannot be checked; nothing of it is shown`);
  } else if (Array.isArray(raw)) {
    at = [];
  }

  if (at) {
    const items = getAt(raw, at) as unknown[];
    const kept: number[] = [];
    for (let i = 0; i < items.length; i++) {
      const v = verdict(c, items[i], vendorId);
      if (v === 'own' || (v === 'missing' && o.optionalReason !== undefined)) kept.push(i);
    }
    const withheld = items.length - kept.length;
    return {
      ok: true,
      raw: withheld ? replaceAt(raw, at, kept.map((i) => items[i])) : raw,
      report: { withheld },
      list: { rawCount: items.length, kept },
    };
  }

  if (raw === null) return { ok: true, raw, report: { withheld: 0 } }; // an empty answer shows nothing
  if (typeof raw !== 'object') {
    return refuse('unverifiable', `Refused: ${label} answered with something other than a record, so whose it is cannot be checked; nothing of it is shown`);
  }
  const v = verdict(c, raw, vendorId);
  if (v === 'own' || (v === 'missing' && o.optionalReason !== undefined)) return { ok: true, raw, report: { withheld: 0 } };
  return v === 'other'
    ? refuse('other-customer', `Refused: the record ${label} reads belongs to another customer, not "${customer}" (the customer of this conversation); nothing of it is shown`)
    : refuse('no-owner', `Refused: the record ${label} reads does not say which customer it belongs to (${o.field} is missing), so nothing of it is shown`);
}

/**
 * Shaping counts items of the filtered list; a cursor must count the vendor's own page. Maps
 * "returned n of available" over kept items to the vendor's positions: the next page starts
 * after the last item the model saw, or after the whole page when it saw every kept item.
 */
export function vendorCounts(list: { rawCount: number; kept: number[] }, counts: { available: number; returned: number }): { available: number; returned: number } {
  const returned = counts.returned < list.kept.length ? list.kept[counts.returned]! : list.rawCount;
  return { available: list.rawCount, returned };
}

/** The audit fields of the check: a refusal's step and code, or how many items were withheld. */
export function ownershipAudit(report: OwnershipReport): Record<string, unknown> {
  if (report.refused) return { step: 'ownership', code: report.refused.code };
  return report.withheld > 0 ? { withheld: report.withheld } : {};
}

/**
 * A simple owner path (`client_id`, `company.id`, `attributes."organization-id"`) as property
 * names, so that mocks and tests can write an owner where the check reads it; undefined for any
 * other JMESPath (the check still reads those, they just cannot be written).
 */
export function simplePath(expr: string): string[] | undefined {
  if (expr === '@') return [];
  const parts: string[] = [];
  const re = /\s*(?:([A-Za-z_][A-Za-z0-9_]*)|"((?:[^"\\]|\\.)*)")\s*(\.|$)/y;
  let at = 0;
  while (at < expr.length) {
    re.lastIndex = at;
    const m = re.exec(expr);
    if (!m) return undefined;
    parts.push(m[1] ?? JSON.parse(`"${m[2]}"`));
    at = re.lastIndex;
    if (m[3] === '' ) break;
  }
  return at === expr.length && parts.length ? parts : undefined;
}

/** A copy of `record` with the value at `path` set (objects on the way created or copied). */
export function withValueAt(record: unknown, path: string[], value: unknown): unknown {
  if (path.length === 0) return value;
  const base: Record<string, unknown> = record && typeof record === 'object' && !Array.isArray(record) ? { ...(record as Record<string, unknown>) } : {};
  const [head, ...rest] = path as [string, ...string[]];
  base[head] = withValueAt(Object.hasOwn(base, head) ? base[head] : undefined, rest, value);
  return base;
}

/** The owner value as the vendor would type it: a number where the schema's sample was a number. */
export function typedOwner(sample: unknown, vendorId: string): unknown {
  return (typeof sample === 'number' || sample === undefined) && /^-?\d+$/.test(vendorId) && Number.isSafeInteger(Number(vendorId)) ? Number(vendorId) : vendorId;
}
