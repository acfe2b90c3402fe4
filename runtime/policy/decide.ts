/**
 * One input document -> one decision. Every rule of every package is evaluated (no short-circuit)
 * so the reasons list every rule that matched; then deny > require_approval > allow, and a
 * package's default applies only when none of its rules matched.
 */
import type { PolicySet } from './engine.ts';
import { loadPolicies } from './engine.ts';
import { uuidv7 } from '../ids.ts';
import { normalizeTag } from './tags.ts';
import type { Decision, DecisionReason, DecisionSink, Effect, Obligations, PolicyInput } from './types.ts';

const RANK: Record<Effect, number> = { allow: 0, require_approval: 1, deny: 2 };

export interface DecideOptions {
  /** Clock used when input.time is absent. */
  now?: () => Date;
  /** Decision ids; defaults to UUID v7. */
  newId?: () => string;
  /** Called with every decision (the audit log). A throwing sink does not change the decision. */
  onDecision?: DecisionSink;
}

export interface PolicyEngine {
  readonly policies: PolicySet;
  decide(input: PolicyInput): Decision;
}

/** The engine over a loaded set (or a folder to load), logging each decision to `onDecision`. */
export function createPolicyEngine(source: PolicySet | { dir: string }, options: DecideOptions = {}): PolicyEngine {
  const policies = 'dir' in source ? loadPolicies(source.dir) : source;
  return { policies, decide: (input) => decide(policies, input, options) };
}

export function decide(policies: PolicySet, rawInput: PolicyInput, options: DecideOptions = {}): Decision {
  const input = normalizeInput(rawInput, options.now ?? (() => new Date()));
  const now = new Date(input.time!);
  const context = { input, data: policies.data, now };
  const reasons: DecisionReason[] = [];
  const errors: Decision['errors'] = [];
  const obligationSets: Array<{ effect: Effect; obligations: Partial<Obligations> }> = [];

  for (const pkg of policies.packages) {
    let matched = 0;
    for (const rule of pkg.rules) {
      let hit: boolean;
      let message = rule.message;
      try {
        const value = rule.condition(context);
        if (typeof value !== 'boolean') throw new Error(`condition returned ${typeof value}, not a bool`);
        hit = value;
      } catch (e) {
        const why = (e as Error).message.split('\n')[0];
        errors.push({ rule: rule.ref, message: why });
        // Fail closed: a broken deny or approval rule still denies or asks; a broken allow does not allow.
        hit = rule.effect !== 'allow';
        message = `condition failed (${why}); treated as matched`;
      }
      if (!hit) continue;
      matched++;
      reasons.push(message ? { rule: rule.ref, effect: rule.effect, message } : { rule: rule.ref, effect: rule.effect });
      if (rule.obligations) obligationSets.push({ effect: rule.effect, obligations: rule.obligations });
    }
    if (matched === 0) reasons.push({ rule: `${pkg.name}/default`, effect: pkg.default, message: 'no rule matched' });
    if (pkg.obligations) obligationSets.push({ effect: 'allow', obligations: pkg.obligations });
  }

  if (policies.packages.length === 0) reasons.push({ rule: 'default', effect: 'deny', message: 'no policy package loaded' });
  const effect = reasons.reduce<Effect>((acc, r) => (RANK[r.effect] > RANK[acc] ? r.effect : acc), 'allow');
  const decision: Decision = {
    id: (options.newId ?? uuidv7)(),
    effect,
    allow: effect === 'allow',
    reasons,
    obligations: effect === 'deny' ? { redact: [] } : mergeObligations(obligationSets.map((o) => o.obligations)),
    errors,
    time: input.time!,
    source: 'local',
  };
  if (options.onDecision) {
    try {
      options.onDecision(decision, input);
    } catch {
      // Logging must not change what was decided; the sink owns its own failures.
    }
  }
  return decision;
}

/** Redact lists are unioned (sorted), item caps take the smallest. */
export function mergeObligations(list: Array<Partial<Obligations>>): Obligations {
  const redact = new Set<string>();
  let maxItems: number | undefined;
  for (const o of list) {
    for (const f of o.redact ?? []) redact.add(f);
    if (typeof o.maxItems === 'number') maxItems = maxItems === undefined ? o.maxItems : Math.min(maxItems, o.maxItems);
  }
  const merged: Obligations = { redact: [...redact].sort() };
  if (maxItems !== undefined) merged.maxItems = maxItems;
  return merged;
}

/**
 * Every top-level field present (so `input.customer == null` works without has()), time filled in
 * and checked: a condition over a malformed time would otherwise decide on garbage.
 */
export function normalizeInput(input: PolicyInput, clock: () => Date): PolicyInput {
  if (!input || typeof input !== 'object') throw new TypeError('policy input must be an object');
  const time = input.time ?? clock().toISOString();
  if (typeof time !== 'string' || !RFC3339.test(time) || Number.isNaN(Date.parse(time))) {
    throw new TypeError(`policy input.time must be an RFC 3339 date-time, got ${JSON.stringify(time)}`);
  }
  const identity = input.identity ?? { subject: '', roles: [] };
  return {
    ...input,
    identity: { ...identity, roles: identity.roles ?? [] },
    tenant: input.tenant ?? identity.tenant ?? '',
    customer: input.customer ?? null,
    actingFor: input.actingFor ?? null,
    connector: input.connector ?? '',
    // A tool of a model older than declared scopes is tenant-wide for all a policy can tell.
    tool: { ...input.tool, tags: (input.tool?.tags ?? []).map(normalizeTag), annotations: input.tool?.annotations ?? {}, sensitivity: input.tool?.sensitivity ?? 'none', scope: input.tool?.scope ?? { kind: 'tenant', reason: 'undeclared' } },
    arguments: input.arguments ?? {},
    time,
  };
}


const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

