/**
 * Injection through tool parameters: path traversal, encoded slashes, CR/LF, NUL and query
 * smuggling in string arguments that land in vendor paths and query strings. Holds when every
 * request the recording upstream saw is an allow-listed operation of the tool's connector, with
 * no dot segment, encoded slash, control character or foreign parameter, and no answer is a 500.
 */
import type { Deployment } from '../deployment.ts';
import { OWASP, probe, type Attack, type Finding } from '../types.ts';
import { loadAllowList, outsideAllowList } from '../allow-list.ts';
import { during, foreignTouches } from './observe.ts';

/**
 * String arguments that reach a vendor path (pax8 ids) or query (names, slugs, serials), on tools
 * the technician may call for its customer: a policy refusal would make the attack prove nothing.
 */
const TARGETS = [
  { tool: 'pax8_get_product', arg: 'productId' },
  { tool: 'pax8_list_usage_summaries', arg: 'subscriptionId' },
  { tool: 'hudu_list_assets', arg: 'name' },
  { tool: 'hudu_read_article', arg: 'slug' },
  { tool: 'itglue_list_configurations', arg: 'serial_number' },
];

const PAYLOADS: Record<string, { tried: string; values: string[] }> = {
  'path-traversal': { tried: 'dot segments (../, ..\\, /./) in string parameters', values: ['../../../admin', '..', 'a/../../companies/901', '..\\..\\windows', './././x'] },
  'encoded-slash': { tried: 'percent-encoded slashes and dots (%2F, %2e%2e, double encoding)', values: ['..%2F..%2Fcompanies%2F901', '%2e%2e%2f%2e%2e%2f', 'a%252F..%252Fb', '%2F%2F127.0.0.1%2Fx'] },
  crlf: { tried: 'CR/LF to split the request or add headers', values: ['a\r\nX-Injected: 1', 'x\nHost: evil.test', 'a%0d%0aX-Injected:%201', 'x\r\n\r\nGET /admin HTTP/1.1'] },
  nul: { tried: 'NUL bytes, raw and encoded', values: ['a\u0000b', '%00', 'x\u0000/../../admin'] },
  'query-smuggling': { tried: 'extra query parameters and fragments (customer id of tenant B)', values: ['x&company_id=901', 'x?company_id=901', 'x#company_id=901', 'x;company_id=901', 'x&page_size=100000'] },
};

export const injection: Attack = {
  family: 'injection',
  async run(d: Deployment): Promise<Finding[]> {
    const allow = await loadAllowList();
    const findings: Finding[] = [];
    for (const [id, { tried, values }] of Object.entries(PAYLOADS)) {
      findings.push(await probe(`injection.${id}`, OWASP.API8, `${tried}, into ${TARGETS.map((t) => `${t.tool}.${t.arg}`).join(', ')}`, async () => {
        const problems: string[] = [];
        let seen = 0;
        let refusals = 0;
        for (const t of TARGETS) {
          for (const value of values) {
            const { value: answer, upstream } = await during(d, () => d.call('aTech', t.tool, { [t.arg]: value }, { customer: 'rt-contoso' }));
            if (answer.status >= 500) problems.push(`${t.tool}(${JSON.stringify(value)}) answered ${answer.status}`);
            if (answer.json?.result?.isError || answer.status >= 400) refusals++;
            for (const r of upstream) {
              seen++;
              const why = outsideAllowList(r, allow);
              if (why) problems.push(`${t.tool}(${JSON.stringify(value)}): ${why}`);
            }
            problems.push(...foreignTouches(upstream, '/a/', ['901', '902', 'c-903', '102', '202', 'c-302']).map((p) => `${t.tool}(${JSON.stringify(value)}): ${p}`));
          }
        }
        return { problems: [...new Set(problems)].slice(0, 5), held: `${TARGETS.length * values.length} calls: ${refusals} refused, ${seen} upstream requests, all allow-listed and encoded` };
      }));
    }
    return findings;
  },
};
