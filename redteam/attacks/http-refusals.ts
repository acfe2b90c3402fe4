/**
 * The HTTP layer in front of the MCP handler: refusals there must be on the record (wrong key,
 * another tenant's customer), credentials in URLs refused and kept out of the logs, the 401
 * challenge not built from a forged Host header, and /metrics not served on the client-facing port.
 */
import http from 'node:http';
import type { Deployment } from '../deployment.ts';
import { TENANT_A } from '../deployment.ts';
import { OWASP, probe, type Attack, type Finding } from '../types.ts';
import { message } from './observe.ts';

const LIST = JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/list', params: {} });
const GATEWAY_CHAIN = '_gateway';

/** Audit rows that appeared after `before` (compared by chain and seq). */
async function newAudit(d: Deployment, before: Set<string>) {
  return (await d.audit()).filter((r) => !before.has(`${r.tenantId}#${r.seq}`));
}

async function auditKeys(d: Deployment): Promise<Set<string>> {
  return new Set((await d.audit()).map((r) => `${r.tenantId}#${r.seq}`));
}

function rawRequest(d: Deployment, method: string, pathname: string, headers: Record<string, string>, body?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: new URL(d.origin).port, method, path: pathname, headers, timeout: 30_000 }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.end(body);
  });
}

export const httpRefusals: Attack = {
  family: 'http-refusals',
  async run(d: Deployment): Promise<Finding[]> {
    const findings: Finding[] = [];
    const wrongKey = `sg_${'0'.repeat(12)}_${'Z'.repeat(43)}`;
    const refusals = [
      { id: 'unaudited-401', tried: 'a request with a wrong API key (401): is it on the record?', status: 401, chain: GATEWAY_CHAIN, secret: wrongKey, send: () => d.post(LIST, { key: wrongKey }) },
      { id: 'unaudited-403', tried: "a valid key selecting another tenant's customer in Specgate-Customer (403): is it on the record?", status: 403, chain: TENANT_A, secret: d.keys.aTech.key, send: () => d.post(LIST, { key: 'aTech', headers: { 'specgate-customer': 'rt-globex' } }) },
    ];
    for (const c of refusals) {
      findings.push(await probe(`http-refusals.${c.id}`, OWASP.API8, c.tried, async () => {
        const before = await auditKeys(d);
        const answer = await c.send();
        const added = await newAudit(d, before);
        const record = added.find((r) => r.tenantId === c.chain && r.record.outcome === 'refused');
        const problems: string[] = [];
        if (answer.status !== c.status) problems.push(`answered ${message(answer)}, not ${c.status}`);
        if (!record) problems.push(`no refused record in chain ${c.chain} (new records: ${added.map((r) => r.tenantId).join(', ') || 'none'})`);
        else {
          if (!record.record.reason) problems.push('the record has no reason');
          if (!record.record.remoteAddress) problems.push('the record has no remoteAddress');
        }
        const all = JSON.stringify(await d.audit());
        if (all.includes(c.secret)) problems.push('the full key is in the audit table');
        return { problems, held: `${c.status}, recorded in ${c.chain}: ${String(record?.record.reason ?? '').slice(0, 80)} from ${String(record?.record.remoteAddress ?? '')}` };
      }));
    }

    findings.push(await probe('http-refusals.key-in-url', OWASP.API2, 'POST /mcp?api_key=<a real key>: refused, and the key kept out of the logs', async () => {
      const key = d.keys.aTech.key;
      const answer = await d.post(LIST, { pathAndQuery: `/mcp?api_key=${encodeURIComponent(key)}` });
      await new Promise((r) => setTimeout(r, 500));
      const problems: string[] = [];
      if (answer.status !== 400) problems.push(`answered ${message(answer)}, not 400`);
      if (d.logs().includes(key)) problems.push('the whole key is in the server log');
      return { problems, held: `400 (${message(answer).slice(4, 120)}), key not logged` };
    }));

    findings.push(await probe('http-refusals.forged-host-challenge', OWASP.API8, "an unauthenticated request with Host: evil.redteam.test: does the 401 challenge's resource_metadata point there?", async () => {
      // fetch() will not send a Host of our choosing; node:http will.
      const answer = await rawRequest(d, 'POST', '/mcp', { host: 'evil.redteam.test', 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, LIST);
      const challenge = String(answer.headers['www-authenticate'] ?? '');
      const metadata = (await rawRequest(d, 'GET', '/.well-known/oauth-protected-resource', { host: 'evil.redteam.test' })).body;
      const problems: string[] = [];
      if (answer.status !== 401) problems.push(`answered ${answer.status}, not 401`);
      if (challenge.includes('evil.redteam.test')) problems.push(`challenge reflects the forged host: ${challenge}`);
      if (metadata.includes('evil.redteam.test')) problems.push('protected-resource metadata reflects the forged host');
      return { problems, held: `challenge: ${challenge}` };
    }));

    findings.push(await probe('http-refusals.metrics-on-mcp-port', OWASP.API8, 'GET /metrics on the client-facing MCP port without credentials', async () => {
      const r = await fetch(`${d.origin}/metrics`);
      const body = await r.text();
      const problems = r.ok && body.includes('# TYPE') ? [`the MCP port serves metrics to anyone (${body.length} bytes)`] : [];
      return { problems, held: `answered ${r.status}` };
    }));
    return findings;
  },
};
