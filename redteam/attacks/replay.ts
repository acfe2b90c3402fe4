/**
 * Idempotency-Key replay: a second key of the same subject with no usable role replays the first
 * key's Idempotency-Key, on the same call and on another tool and customer. Holds when the
 * second key is refused each time, never receives the first key's result, and no audit record of
 * its requests names a tool or customer it did not call.
 */
import { randomUUID } from 'node:crypto';
import type { Deployment } from '../deployment.ts';
import { OWASP, probe, type Attack, type Finding } from '../types.ts';
import { message, refused } from './observe.ts';

export const replay: Attack = {
  family: 'replay',
  async run(d: Deployment): Promise<Finding[]> {
    const findings: Finding[] = [];
    const key = `rt-idem-${randomUUID()}`;
    const original = await d.call('aTech', 'hudu_list_passwords', {}, { customer: 'rt-contoso', headers: { 'idempotency-key': key } });
    const originalText = JSON.stringify(original.json?.result ?? {});
    const cases = [
      { id: 'same-call', tried: "key B (same subject, no usable role) replays key A's Idempotency-Key on the same tool and customer", tool: 'hudu_list_passwords', customer: 'rt-contoso' },
      { id: 'other-tool-customer', tried: "key B replays key A's Idempotency-Key on another tool and another customer", tool: 'hudu_get_company', customer: 'rt-fabrikam' },
    ];
    for (const c of cases) {
      findings.push(await probe(`replay.${c.id}`, OWASP.API5, c.tried, async () => {
        const b = await d.call('aNoRole', c.tool, {}, { customer: c.customer, headers: { 'idempotency-key': key } });
        const problems: string[] = [];
        if (!refused(b)) problems.push(`key B was served (${message(b)})`);
        if (!original.json?.result?.isError && originalText.length > 20 && JSON.stringify(b.json?.result ?? {}) === originalText) problems.push("key B received key A's result");
        for (const r of await d.auditOf(b.requestId)) {
          if (r.record.tool !== c.tool) problems.push(`the audit record of B's request names tool ${String(r.record.tool)}`);
          if (r.record.customer !== undefined && r.record.customer !== c.customer) problems.push(`the audit record of B's request names customer ${String(r.record.customer)}`);
        }
        return { problems, held: `refused (${message(b)})` };
      }));
    }
    return findings;
  },
};
