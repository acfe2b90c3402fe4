/** The policy engine's contract: one input document in, one logged decision out. */
import type { RiskTier, Sensitivity, ToolAnnotations, ToolScope } from '../model.ts';

export type Effect = 'allow' | 'deny' | 'require_approval';

/** The single document every condition sees as `input`. */
export interface PolicyInput {
  identity: { subject: string; roles: string[]; tenant?: string };
  tenant: string;
  /** The MSP customer the call is scoped to; null when the tool is not customer data. */
  customer?: string | null;
  /** The customer the caller selected (Specgate-Customer), whatever the tool; null when none. */
  actingFor?: string | null;
  connector: string;
  /**
   * Tags are compared lower-case with single spaces (the engine normalises them); `sensitivity` is
   * the spec's declaration, `none` when it declares none.
   */
  tool: { name: string; riskTier: RiskTier; annotations?: ToolAnnotations | Record<string, unknown>; tags?: string[]; sensitivity?: Sensitivity | 'none'; scope?: ToolScope };
  arguments?: Record<string, unknown>;
  /** RFC 3339 instant of the call; the engine's clock fills it in when absent. */
  time?: string;
}

export interface Obligations {
  /** Field names to remove from results, sorted, deduplicated. */
  redact: string[];
  /** Upper bound on returned items, the smallest any matching rule asked for. */
  maxItems?: number;
}

/** Why a decision came out as it did: one entry per matching rule (or default / error). */
export interface DecisionReason {
  /** `<package>/<rule id>`, or `<package>/default` when no rule matched. */
  rule: string;
  effect: Effect;
  message?: string;
}

export interface Decision {
  /** UUID v7: unique and sortable by time, so audit records order naturally. */
  id: string;
  effect: Effect;
  /** Convenience: effect === 'allow'. */
  allow: boolean;
  reasons: DecisionReason[];
  /** Empty (`{ redact: [] }`) unless the effect is allow or require_approval. */
  obligations: Obligations;
  /** Conditions that failed to evaluate; a failing deny/approval rule counts as matched (fail closed). */
  errors: Array<{ rule: string; message: string }>;
  /** RFC 3339 instant the decision was made for (input.time). */
  time: string;
  /** Which engine decided: 'local' or the OPA URL. */
  source: string;
}

export type DecisionSink = (decision: Decision, input: PolicyInput) => void;

/** Anything that can decide: the local engine (sync) or an OPA server (async). */
export type Decider = (input: PolicyInput) => Decision | Promise<Decision>;
