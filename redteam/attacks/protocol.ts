/**
 * The wire: malformed JSON-RPC, batches, a 100 MB body, slow clients (slowloris). Holds when
 * each is refused with a JSON-RPC error or a 4xx, the server's memory does not balloon, and an
 * authenticated call still goes through afterwards.
 */
import net from 'node:net';
import type { Deployment } from '../deployment.ts';
import { OWASP, probe, type Attack, type Finding } from '../types.ts';
import { message, refused } from './observe.ts';

const MB = 1024 * 1024;

async function stillServes(d: Deployment): Promise<string[]> {
  const a = await d.call('aTech', 'hudu_get_company', {}, { customer: 'rt-contoso' });
  return refused(a) ? [`an authenticated call afterwards failed: ${message(a)}`] : [];
}

/** Sends `total` bytes of a JSON-looking body in chunks, without holding it in memory; the server's answer or hang-up ends it. */
function sendHuge(d: Deployment, total: number, auth: boolean): Promise<{ status: number; peakRss: number }> {
  return new Promise((resolve, reject) => {
    const url = new URL(d.url);
    const socket = net.connect(Number(url.port), '127.0.0.1');
    let peakRss = d.rssMiB();
    let answer = '';
    let sent = 0;
    const chunk = Buffer.alloc(MB, 0x20);
    const timer = setTimeout(() => { socket.destroy(); resolve({ status: 0, peakRss }); }, 60_000);
    const sample = setInterval(() => (peakRss = Math.max(peakRss, d.rssMiB())), 100);
    const done = () => {
      clearTimeout(timer);
      clearInterval(sample);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0), peakRss: Math.max(peakRss, d.rssMiB()) });
    };
    socket.on('data', (b) => (answer += b.toString()));
    socket.on('close', done);
    socket.on('error', () => {});
    socket.on('connect', () => {
      socket.write(`POST /mcp HTTP/1.1\r\nHost: ${url.host}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\ncontent-length: ${total}\r\n${auth ? `authorization: Bearer ${d.keys.aTech.key}\r\n` : ''}\r\n`);
      const pump = () => {
        while (sent < total && !socket.destroyed) {
          const n = Math.min(MB, total - sent);
          sent += n;
          if (!socket.write(n === MB ? chunk : chunk.subarray(0, n))) return void socket.once('drain', pump);
        }
      };
      pump();
    });
    socket.on('timeout', () => reject(new Error('timeout')));
  });
}

export const protocol: Attack = {
  family: 'protocol',
  async run(d: Deployment): Promise<Finding[]> {
    const findings: Finding[] = [];
    const malformed: Array<[string, string]> = [
      ['truncated JSON', '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":'],
      ['not an object', '"tools/call"'],
      ['wrong jsonrpc version', '{"jsonrpc":"1.0","id":1,"method":"tools/call","params":{"name":"hudu_get_company","arguments":{}}}'],
      ['params not an object', '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":"hudu_get_company"}'],
      ['arguments an array', '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"hudu_get_company","arguments":[1,2]}}'],
      ['unknown method', '{"jsonrpc":"2.0","id":1,"method":"admin/tenants","params":{}}'],
      ['id an object', '{"jsonrpc":"2.0","id":{"x":1},"method":"tools/call","params":{"name":"hudu_get_company","arguments":{}}}'],
      ['__proto__ in arguments', '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"hudu_get_company","arguments":{"__proto__":{"tenant_id":"rt-msp-b","isAdmin":true}}}}'],
      ['invalid UTF-8', '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\udcff\ud800"}}'],
    ];
    findings.push(await probe('protocol.malformed-json-rpc', OWASP.API8, `malformed JSON-RPC: ${malformed.map(([n]) => n).join(', ')}`, async () => {
      const problems: string[] = [];
      for (const [name, body] of malformed) {
        const a = await d.post(body, { key: 'aTech', headers: { 'specgate-customer': 'rt-contoso' } });
        if (a.status >= 500) problems.push(`${name}: ${a.status}`);
        if (a.status === 200 && a.json?.result && !a.json.result.isError && name !== '__proto__ in arguments') problems.push(`${name}: served`);
      }
      problems.push(...(await stillServes(d)));
      return { problems, held: `each refused with a 4xx or a JSON-RPC error, none crashed the server` };
    }));

    findings.push(await probe('protocol.batch', OWASP.API4, 'a JSON-RPC batch of 1,000 tools/call, with and without authentication', async () => {
      const batch = JSON.stringify(Array.from({ length: 1000 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: 'hudu_get_company', arguments: {} } })));
      const before = d.recorder.requests.length;
      const withKey = await d.post(batch, { key: 'aTech', headers: { 'specgate-customer': 'rt-contoso' } });
      const without = await d.post(batch);
      const problems: string[] = [];
      if (withKey.status !== 400 && !withKey.json?.error) problems.push(`authenticated batch answered ${message(withKey)}`);
      if (without.status < 400) problems.push(`unauthenticated batch answered ${without.status}`);
      if (d.recorder.requests.length !== before) problems.push(`${d.recorder.requests.length - before} upstream requests`);
      return { problems, held: `refused (${message(withKey)}; unauthenticated ${without.status})` };
    }));

    for (const auth of [false, true]) {
      findings.push(await probe(`protocol.body-100mb${auth ? '-authenticated' : ''}`, OWASP.API4, `a 100 MB request body${auth ? ' with a valid key' : ' without credentials'}, streamed`, async () => {
        const before = d.rssMiB();
        const { status, peakRss } = await sendHuge(d, 100 * MB, auth);
        const problems: string[] = [];
        if (status !== 0 && status < 400) problems.push(`answered ${status}`);
        if (peakRss - before > 60) problems.push(`server RSS grew ${Math.round(peakRss - before)} MB (from ${Math.round(before)} MB)`);
        problems.push(...(await stillServes(d)));
        return { problems, held: `refused (${status || 'connection closed'}), RSS ${Math.round(before)} -> peak ${Math.round(peakRss)} MB` };
      }));
    }

    findings.push(await probe('protocol.slowloris', OWASP.API4, '40 connections trickling headers and bodies one byte a second for 8 s', async () => {
      const url = new URL(d.url);
      const sockets: net.Socket[] = [];
      let closedByServer = 0;
      for (let i = 0; i < 40; i++) {
        const s = net.connect(Number(url.port), '127.0.0.1');
        s.on('error', () => {});
        s.on('close', () => closedByServer++);
        s.write(i % 2 ? `POST /mcp HTTP/1.1\r\nHost: ${url.host}\r\ncontent-length: 100000\r\ncontent-type: application/json\r\n\r\n{` : `POST /mcp HTTP/1.1\r\nHost: ${url.host}\r\n`);
        sockets.push(s);
      }
      const trickle = setInterval(() => sockets.forEach((s, i) => !s.destroyed && s.write(i % 2 ? ' ' : 'X-A: b\r\n')), 1000);
      try {
        await new Promise((r) => setTimeout(r, 4000));
        const problems = await stillServes(d);
        await new Promise((r) => setTimeout(r, 4000));
        problems.push(...(await stillServes(d)));
        return { problems, held: `authenticated calls served while 40 slow clients were connected (${closedByServer} closed by the server)` };
      } finally {
        clearInterval(trickle);
        sockets.forEach((s) => s.destroy());
      }
    }));
    return findings;
  },
};
