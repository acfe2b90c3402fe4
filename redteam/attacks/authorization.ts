/**
 * Function- and flow-level authorization: password tools for a technician (default policy),
 * self-approval of a held call, forged and cross-tool pagination cursors, invalid arguments that
 * spend quota or bill units, and rate-limit refusals counted as errors in the metrics.
 */
import { type Answer, type Deployment, DRILL_TOOL, TENANT_A } from '../deployment.ts';
import { OWASP, probe, type Attack, type Finding } from '../types.ts';
import { during, message, refused } from './observe.ts';

const cursor = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

export const authorization: Attack = {
  family: 'authorization',
  async run(d: Deployment): Promise<Finding[]> {
    const findings: Finding[] = [];

    for (const tool of ['hudu_list_passwords', 'itglue_list_passwords']) {
      findings.push(await probe(`authorization.technician-${tool.replace(/_/g, '-')}`, OWASP.API5, `a technician calls ${tool} (default policy reserves password tools for security admins)`, async () => {
        const tech = await d.call('aTech', tool, {}, { customer: 'rt-contoso' });
        const audit = await d.auditOf(tech.requestId);
        const admin = await d.call('aAdmin', tool, {}, { customer: 'rt-contoso' });
        const problems: string[] = [];
        if (!refused(tech)) problems.push(`the technician got ${tool}'s result`);
        else if (!audit.some((r) => r.record.outcome === 'refused')) problems.push('refused, but not audited as refused');
        if (refused(admin)) problems.push(`the security admin was refused too (${message(admin)}): the rule is not about roles`);
        return { problems, held: `technician refused (${message(tech)}), security admin served` };
      }));
    }

    findings.push(await probe('authorization.self-approval', OWASP.API6, 'the requester of a held call approves it themselves, then runs it', async () => {
      const held = await d.call('aDrill', DRILL_TOOL, {}, { customer: 'rt-contoso' });
      const id = /Request ([0-9a-f-]{36})/.exec(message(held))?.[1] ?? /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/.exec(held.text)?.[1];
      if (!id) return { problems: [`the drill call was not held for approval: ${message(held)}`], held: '' };
      const approve = await d.cli(['approval', 'approve', id, '--tenant', TENANT_A, '--by', d.keys.aDrill.subject, '--store', d.storeUrl]);
      const { value: again, upstream } = await during(d, () => d.call('aDrill', DRILL_TOOL, {}, { customer: 'rt-contoso' }));
      const problems: string[] = [];
      if (approve.code === 0) problems.push(`\`approval approve --by ${d.keys.aDrill.subject}\` (the requester) succeeded`);
      if (!refused(again) || upstream.length) problems.push('the self-approved call then ran');
      return { problems, held: `self-approval refused: ${(approve.stderr || approve.stdout).trim().split('\n')[0]?.slice(0, 140)}` };
    }));

    for (const c of [
      { id: 'forged-cursor-link', tried: 'a hand-made cursor holding a vendor Link URL with extra query parameters', value: () => cursor({ u: `${d.recorder.url}/a/hudu/assets?page=2&company_id=901&page_size=100000` }) },
      { id: 'forged-cursor-token', tried: 'a hand-made cursor token carrying query syntax', value: () => cursor({ c: 'x&company_id=901' }) },
      { id: 'forged-cursor-page', tried: 'a hand-made page cursor (page 999999) the tool never returned', value: () => cursor({ p: 999_999 }) },
    ]) {
      findings.push(await probe(`authorization.${c.id}`, OWASP.API1, c.tried, async () => {
        // A tool the technician may call for this customer, so that only the cursor can refuse it.
        const { value, upstream } = await during(d, () => d.call('aTech', 'hudu_list_assets', { cursor: c.value() }, { customer: 'rt-contoso' }));
        const problems: string[] = [];
        if (!refused(value)) problems.push('the forged cursor was accepted');
        else if (!/cursor/i.test(message(value))) problems.push(`refused, but not for its cursor (${message(value)})`);
        if (upstream.length) problems.push(`upstream saw ${upstream.map((r) => r.rawUrl).join(', ')}`);
        return { problems, held: `refused (${message(value)})` };
      }));
    }

    findings.push(await probe('authorization.cross-tool-cursor', OWASP.API1, "a cursor from hudu_list_assets handed to hudu_list_passwords (another tool) by the security admin", async () => {
      // A customer-bound paged tool: the directory (hudu_list_companies) is refused while acting for a customer.
      const first = await d.call('aAdmin', 'hudu_list_assets', { limit: 1 }, { customer: 'rt-contoso' });
      const next = JSON.stringify(first.json?.result ?? {}).match(/nextCursor\\?":\\?"([A-Za-z0-9_-]+)/)?.[1];
      if (!next) return { problems: [`hudu_list_assets returned no cursor to replay: ${message(first)}`], held: '' };
      const { value, upstream } = await during(d, () => d.call('aAdmin', 'hudu_list_passwords', { cursor: next }, { customer: 'rt-contoso' }));
      const problems = !refused(value) || upstream.length ? [`the other tool's cursor was accepted (${upstream.length} upstream request(s))`] : [];
      return { problems, held: `refused (${message(value)})` };
    }));

    findings.push(await probe('authorization.invalid-arguments-quota', OWASP.API4, 'calls with invalid arguments, to see whether they spend quota and bill units', async () => {
      const before = await d.quotaSpent(TENANT_A);
      const answers: Answer[] = [];
      for (let i = 0; i < 3; i++) answers.push(await d.call('aTech', 'hudu_get_asset', { asset_id: 'not-a-number', extra: i }, { customer: 'rt-contoso' }));
      const after = await d.quotaSpent(TENANT_A);
      const usage = (await d.usage(TENANT_A)).filter((u) => answers.some((a) => a.requestId === u.callId));
      const problems: string[] = [];
      if (!answers.every(refused)) problems.push('invalid arguments were accepted');
      if (after !== before) problems.push(`quota spent went from ${before} to ${after}`);
      const billed = usage.filter((u) => u.units !== 0);
      if (billed.length) problems.push(`usage billed ${billed.map((u) => `${u.units} unit(s) as ${u.outcome}`).join(', ')}`);
      return { problems, held: `refused, quota unchanged at ${after}, ${usage.length} usage row(s) with 0 units` };
    }));

    findings.push(await probe('authorization.rate-limit-metrics', OWASP.API4, 'a burst over the rate limit, then the metrics: refusals must not count as errors', async () => {
      const answers = await Promise.all(Array.from({ length: 6 }, () => d.call('cTech', 'hudu_get_company', {}, { customer: 'rt-initech' })));
      const limited = answers.filter((a) => /rate|too many|limit/i.test(message(a)));
      const metrics = await fetch(d.metricsUrl).then(async (r) => (r.ok ? r.text() : ''), () => '');
      const line = (outcome: string) => metrics.split('\n').find((l) => l.startsWith('mcp_tool_calls_total{') && l.includes('tool="hudu_get_company"') && l.includes(`outcome="${outcome}"`));
      const problems: string[] = [];
      if (!limited.length) problems.push(`no call of the burst was rate limited (${message(answers[answers.length - 1])})`);
      if (!metrics) problems.push(`metrics could not be read at ${d.metricsUrl}`);
      else {
        if (line('error')) problems.push(`metrics count the refusals as errors: ${line('error')}`);
        if (!line('refused')) problems.push('no outcome="refused" series for the refused calls');
      }
      return { problems, held: `${limited.length} call(s) rate limited, counted as ${line('refused')}` };
    }));
    return findings;
  },
};
