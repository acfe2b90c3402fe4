/**
 * Oversized arguments: nested 5,000 deep, and a 3 MB arguments object, each with and without a
 * forged tenant field. Holds when each is refused with a message naming the limit, leaves an
 * audit record, no usage row, and spends no quota.
 */
import type { Deployment } from '../deployment.ts';
import { TENANT_A, TENANT_B } from '../deployment.ts';
import { OWASP, probe, type Attack, type Finding } from '../types.ts';
import { during, message, refused } from './observe.ts';

/** `{a:{a:...}}` `depth` levels deep, built as text: the attacker's JSON needs no recursion. */
function deepJson(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

function callBody(argsJson: string, forgedTenant: boolean): string {
  const args = forgedTenant ? `{"tenant_id":"${TENANT_B}","name":${argsJson}}` : `{"name":${argsJson}}`;
  return `{"jsonrpc":"2.0","id":77,"method":"tools/call","params":{"name":"hudu_list_companies","arguments":${args}}}`;
}

export const limits: Attack = {
  family: 'limits',
  async run(d: Deployment): Promise<Finding[]> {
    const big = JSON.stringify(Object.fromEntries(Array.from({ length: 3 * 1024 }, (_, i) => [`k${i}`, 'x'.repeat(1000)])));
    const cases = [
      { id: 'deep-arguments', tried: 'arguments nested 5,000 levels deep', json: deepJson(5000), forged: false },
      { id: 'deep-arguments-forged-tenant', tried: "arguments nested 5,000 deep beside a forged tenant_id (tenant B)", json: deepJson(5000), forged: true },
      { id: 'huge-arguments', tried: 'a 3 MB arguments object', json: big, forged: false },
      { id: 'huge-arguments-forged-tenant', tried: 'a 3 MB arguments object beside a forged tenant_id (tenant B)', json: big, forged: true },
    ];
    const findings: Finding[] = [];
    for (const c of cases) {
      findings.push(await probe(`limits.${c.id}`, OWASP.API4, c.tried, async () => {
        const quotaBefore = await d.quotaSpent(TENANT_A);
        const { value, upstream } = await during(d, () => d.post(callBody(c.json, c.forged), { key: 'aTech', headers: { 'specgate-customer': 'rt-contoso' } }));
        const quotaAfter = await d.quotaSpent(TENANT_A);
        const audit = await d.auditOf(value.requestId);
        const usage = (await d.usage()).filter((u) => u.callId === value.requestId);
        const problems: string[] = [];
        if (!refused(value)) problems.push('the call was served');
        else if (!/deep|levels|limit|too large|size/i.test(message(value))) problems.push(`the refusal names no limit (${message(value)})`);
        if (upstream.length) problems.push(`${upstream.length} upstream request(s)`);
        if (!audit.length) problems.push('no audit record of the attempt');
        if (usage.length) problems.push(`${usage.length} usage row(s)`);
        if (quotaAfter !== quotaBefore) problems.push(`quota spent ${quotaAfter - quotaBefore}`);
        return { problems, held: `refused (${message(value)}), audited, no usage, no quota` };
      }));
    }
    return findings;
  },
};
