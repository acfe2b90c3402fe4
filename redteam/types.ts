/**
 * What an attack module is and what it reports. An attack holds when the gateway refused or
 * contained it; it SUCCEEDED when the attacker got what was tried (a finding to fix).
 */
import type { Deployment } from './deployment.ts';

/** OWASP API Security Top 10 (2023) categories the attacks map to. */
export const OWASP = {
  API1: 'API1:2023 Broken Object Level Authorization',
  API2: 'API2:2023 Broken Authentication',
  API3: 'API3:2023 Broken Object Property Level Authorization',
  API4: 'API4:2023 Unrestricted Resource Consumption',
  API5: 'API5:2023 Broken Function Level Authorization',
  API6: 'API6:2023 Unrestricted Access to Sensitive Business Flows',
  API7: 'API7:2023 Server Side Request Forgery',
  API8: 'API8:2023 Security Misconfiguration',
  API9: 'API9:2023 Improper Inventory Management',
  API10: 'API10:2023 Unsafe Consumption of APIs',
} as const;

export type Owasp = (typeof OWASP)[keyof typeof OWASP];

export interface Finding {
  /** Stable id, `<family>.<case>`. */
  id: string;
  owasp: Owasp;
  /** What the attacker tried, one line. */
  tried: string;
  /** true: the gateway refused or contained it; false: the attack succeeded. */
  held: boolean;
  /** Why the verdict: what was observed. */
  detail: string;
}

export interface Attack {
  /** The family name, as selected with `--only`. */
  family: string;
  /** Which store kinds the family runs on; default both. */
  stores?: Array<'sqlite' | 'postgres'>;
  run(deployment: Deployment): Promise<Finding[]>;
}

/** A finding from a list of problems: held when there are none. */
export function verdict(id: string, owasp: Owasp, tried: string, problems: string[], heldDetail: string): Finding {
  return { id, owasp, tried, held: problems.length === 0, detail: problems.length ? problems.join('; ') : heldDetail };
}

/** Runs one case; an exception thrown by the harness is reported as SUCCEEDED with its message, never swallowed. */
export async function probe(id: string, owasp: Owasp, tried: string, body: () => Promise<{ problems: string[]; held: string }>): Promise<Finding> {
  try {
    const { problems, held } = await body();
    return verdict(id, owasp, tried, problems, held);
  } catch (error) {
    return { id, owasp, tried, held: false, detail: `the attack could not be judged: ${(error as Error).message}` };
  }
}
