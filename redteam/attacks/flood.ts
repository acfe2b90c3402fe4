/**
 * Unauthenticated bodies: 16 clients each POSTing 4 MB bodies without credentials, over and over
 * for a bounded time. Holds when the server's memory stays bounded (RSS growth under 64 MB) and an
 * authenticated call made during the flood is served. And the root of it: a request whose headers
 * carry no credential is answered before its body has been sent.
 */
import net from 'node:net';
import type { Deployment } from '../deployment.ts';
import { OWASP, probe, type Attack, type Finding } from '../types.ts';
import { message, refused } from './observe.ts';

const CLIENTS = 16;
const SECONDS = 15;
const LIMIT_MB = 64;

export const flood: Attack = {
  family: 'flood',
  async run(d: Deployment): Promise<Finding[]> {
    const early = await probe('flood.auth-before-body', OWASP.API4, 'headers without credentials announcing a 4 MB body, then only 1 KB of it: answered before the body?', async () => {
      const status = await new Promise<number>((resolve) => {
        const url = new URL(d.url);
        const socket = net.connect(Number(url.port), '127.0.0.1');
        let answer = '';
        const timer = setTimeout(() => { socket.destroy(); resolve(0); }, 5000);
        socket.on('error', () => {});
        socket.on('data', (b) => {
          answer += b.toString();
          const m = /^HTTP\/1\.1 (\d{3})/.exec(answer);
          if (m) { clearTimeout(timer); socket.destroy(); resolve(Number(m[1])); }
        });
        socket.write(`POST /mcp HTTP/1.1\r\nHost: ${url.host}\r\ncontent-type: application/json\r\ncontent-length: ${4 * 1024 * 1024}\r\n\r\n{"a":"${'x'.repeat(1024)}`);
      });
      return { problems: status === 0 ? ['no answer within 5 s: the server waits for the whole unauthenticated body'] : status < 400 ? [`answered ${status}`] : [], held: `answered ${status} from the headers alone` };
    });
    return [early, await probe('flood.unauthenticated-4mb-bodies', OWASP.API4, `${CLIENTS} unauthenticated clients sending 4 MB bodies for ${SECONDS} s, and an authenticated call meanwhile`, async () => {
      const body = Buffer.from(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"hudu_list_companies","arguments":{"name":"${'x'.repeat(4 * 1024 * 1024 - 120)}"}}}`);
      const baseline = d.rssMiB();
      let peak = baseline;
      let sent = 0;
      const end = Date.now() + SECONDS * 1000;
      const sample = setInterval(() => (peak = Math.max(peak, d.rssMiB())), 200);
      const client = async () => {
        while (Date.now() < end) {
          try {
            const r = await fetch(d.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body, signal: AbortSignal.timeout(30_000) });
            await r.arrayBuffer();
          } catch { /* a server that hangs up on the flood is fine */ }
          sent++;
        }
      };
      try {
        const clients = Array.from({ length: CLIENTS }, client);
        await new Promise((r) => setTimeout(r, (SECONDS * 1000) / 2));
        const started = Date.now();
        const authenticated = await d.call('aTech', 'hudu_get_company', {}, { customer: 'rt-contoso' });
        const ms = Date.now() - started;
        await Promise.all(clients);
        const problems: string[] = [];
        if (refused(authenticated)) problems.push(`the authenticated call failed during the flood: ${message(authenticated)}`);
        if (peak - baseline > LIMIT_MB) problems.push(`RSS grew ${Math.round(peak - baseline)} MB (${Math.round(baseline)} -> ${Math.round(peak)} MB)`);
        return { problems, held: `${sent} bodies sent; RSS ${Math.round(baseline)} -> peak ${Math.round(peak)} MB; authenticated call served in ${ms} ms` };
      } finally {
        clearInterval(sample);
      }
    })];
  },
};
