/**
 * The same decision from an external OPA server instead of the local engine: POST `{ input }` to
 * its data API and map the document it returns. Any failure (network, timeout, status, shape)
 * is a deny that says why, never an allow.
 */
import { mergeObligations, normalizeInput, type DecideOptions } from './decide.ts';
import { uuidv7 } from '../ids.ts';
import type { Decision, DecisionReason, Effect, Obligations, PolicyInput } from './types.ts';

export interface OpaHttpOptions extends DecideOptions {
  /** OPA's base URL, e.g. http://127.0.0.1:8181 */
  url: string;
  /** The policy document to query, dotted or slashed: `specgate/msp/decision` -> /v1/data/specgate/msp/decision */
  path: string;
  timeoutMs?: number;
  headers?: Record<string, string>;
}

/** What the queried document may hold; a bare boolean is read as `allow`. */
interface OpaResult {
  allow?: unknown;
  deny?: unknown;
  require_approval?: unknown;
  reasons?: unknown;
  obligations?: { redact?: unknown; maxItems?: unknown };
}

export function createOpaHttpDecider(options: OpaHttpOptions): (input: PolicyInput) => Promise<Decision> {
  const docPath = options.path.replace(/^\/+|\/+$/g, '').replaceAll('.', '/');
  if (!docPath) throw new Error('createOpaHttpDecider: path is empty');
  const endpoint = new URL(`v1/data/${docPath}`, options.url.endsWith('/') ? options.url : `${options.url}/`).toString();
  const newId = options.newId ?? uuidv7;

  return async (rawInput) => {
    const input = normalizeInput(rawInput, options.now ?? (() => new Date()));
    let decision: Decision;
    try {
      const res = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', ...options.headers },
        body: JSON.stringify({ input }),
        signal: AbortSignal.timeout(options.timeoutMs ?? 2000),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`OPA answered ${res.status}: ${text.slice(0, 200)}`);
      const body = JSON.parse(text) as { result?: unknown; decision_id?: unknown };
      decision = fromResult(body.result, typeof body.decision_id === 'string' ? body.decision_id : newId(), input.time!, endpoint);
    } catch (e) {
      const message = (e as Error).name === 'TimeoutError' ? `OPA did not answer within ${options.timeoutMs ?? 2000} ms` : (e as Error).message;
      decision = {
        id: newId(), effect: 'deny', allow: false, obligations: { redact: [] }, time: input.time!, source: endpoint,
        reasons: [{ rule: 'opa/error', effect: 'deny', message }], errors: [{ rule: 'opa/error', message }],
      };
    }
    try {
      options.onDecision?.(decision, input);
    } catch {
      // The sink owns its failures; the decision stands.
    }
    return decision;
  };
}

function fromResult(result: unknown, id: string, time: string, source: string): Decision {
  const base = { id, time, source, errors: [] as Decision['errors'] };
  if (result === undefined) {
    // OPA returns no `result` when the document is undefined: the path is wrong or no rule fired.
    return { ...base, effect: 'deny', allow: false, obligations: { redact: [] }, reasons: [{ rule: 'opa/undefined', effect: 'deny', message: `no document at ${source}` }] };
  }
  const r: OpaResult = typeof result === 'boolean' ? { allow: result } : (result as OpaResult) ?? {};
  const effect: Effect = truthy(r.deny) ? 'deny' : truthy(r.require_approval) ? 'require_approval' : r.allow === true ? 'allow' : 'deny';
  const reasons = [...toReasons(r.deny, 'deny'), ...toReasons(r.require_approval, 'require_approval'), ...toReasons(r.reasons, effect)];
  if (reasons.length === 0) reasons.push({ rule: effect === 'allow' ? 'opa/allow' : 'opa/default', effect });
  const obligations: Obligations = effect === 'deny' ? { redact: [] } : mergeObligations([sanitizeObligations(r.obligations)]);
  return { ...base, effect, allow: effect === 'allow', reasons, obligations };
}

/** Rego's idioms: `deny` as a boolean, or as a set (JSON array) / map of messages. */
function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v && typeof v === 'object') return Object.keys(v).length > 0;
  return v === true;
}

function toReasons(v: unknown, effect: Effect): DecisionReason[] {
  const list = Array.isArray(v) ? v : v && typeof v === 'object' ? Object.entries(v).map(([rule, message]) => ({ rule, message })) : [];
  return list.flatMap((x): DecisionReason[] => {
    if (typeof x === 'string') return [{ rule: `opa/${effect}`, effect, message: x }];
    if (x && typeof x === 'object' && typeof (x as { rule?: unknown }).rule === 'string') {
      const o = x as { rule: string; effect?: unknown; message?: unknown };
      const eff = o.effect === 'allow' || o.effect === 'deny' || o.effect === 'require_approval' ? o.effect : effect;
      return [typeof o.message === 'string' ? { rule: o.rule, effect: eff, message: o.message } : { rule: o.rule, effect: eff }];
    }
    return [];
  });
}

function sanitizeObligations(o: OpaResult['obligations']): Partial<Obligations> {
  const redact = Array.isArray(o?.redact) ? o.redact.filter((x): x is string => typeof x === 'string') : [];
  const maxItems = typeof o?.maxItems === 'number' && Number.isInteger(o.maxItems) && o.maxItems >= 0 ? o.maxItems : undefined;
  return maxItems === undefined ? { redact } : { redact, maxItems };
}
