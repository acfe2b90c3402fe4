/**
 * SLOW (about a minute on a quiet machine, several under load): the one test on the whole
 * Microsoft Graph v1.0 document (20 MB, 5,824 reads). `init --all-reads`, generate, type-check and
 * serve it, and call a tool through the MCP client against a real HTTP upstream. Names, emission
 * and the mock's refusal are what make this work; their details are unit-tested elsewhere
 * (naming.test.ts, document-diagnostics.test.ts).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { modernClient, root, serve, tempDir, vendorDir } from './helpers/e2e.ts';
import { typecheckGenerated } from '../generator/emit/typecheck.ts';
import type { ConnectorModel } from '../runtime/model.ts';

const graph = path.join(vendorDir, 'msgraph-v1.0.json');
const bin = path.join(root, 'bin', 'specgate.js');

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

describe.runIf(fs.existsSync(graph))('the whole Microsoft Graph document (slow)', () => {
  const dir = tempDir('graph-whole');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('init --all-reads, generate, type-check and serve all work; tools are called through MCP', async () => {
    const spec = path.join(dir, 'graph.yaml');
    const out = path.join(dir, 'generated');
    expect((await run(['init', graph, '--all-reads', '--connector', 'graph', '--out', spec])).code).toBe(0);

    const gen = await run(['generate', spec, '--out', out]);
    expect(gen.code, gen.stderr.slice(-2000)).toBe(0);
    // Tens of thousands of warnings, one line per rule.
    expect(gen.stderr).toMatch(/^warning \[lint\/property-key\] \d{5} times, first at /m);
    expect(gen.stderr.split('\n').length).toBeLessThan(40);

    const files = fs.readdirSync(path.join(out, 'graph')).sort();
    expect(files).toEqual(['client.js', 'client.ts', 'index.js', 'index.ts', 'model.js', 'model.json', 'model.ts', 'openapi.json']);
    const model = JSON.parse(fs.readFileSync(path.join(out, 'graph', 'model.json'), 'utf8')) as ConnectorModel;
    expect(model.tools.length).toBe(5824);
    const names = model.tools.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    expect(Math.max(...names.map((n) => n.length))).toBeLessThanOrEqual(64);
    // The 159 casts that shared one stem are named from their paths now.
    expect(names).toContain('graph_list_applications_owners_app_role_assignment');
    expect(names.filter((n) => n.startsWith('graph_get_microsoft_graph_directory_object'))).toEqual([]);

    expect(typecheckGenerated(out)).toEqual([]);

    // The mock would dereference 20 MB for minutes: refused at once, with what to do instead.
    const mocked = await run(['serve', '--mock', '--generated', out, '--port', '0']);
    expect(mocked.code).not.toBe(0);
    expect(mocked.stderr).toContain('connector "graph": the mock upstream serves documents of up to 1000 operations, this one has 5824');

    const requests: string[] = [];
    const upstream = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ value: [{ id: 'u1', displayName: 'Ada Lovelace' }] }));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const served = await serve(out, { upstreams: { graph: { baseUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1.0` } } });
    try {
      const client = await modernClient(served.url);
      const users = model.tools.find((t) => t.operation.path === '/users' && t.operation.method === 'GET')!;
      const result = await client.callTool({ name: users.name, arguments: {} });
      expect(result.isError ?? false).toBe(false);
      expect(JSON.stringify(result.content)).toContain('Ada Lovelace');
      expect(requests.some((u) => u.startsWith('/v1.0/users'))).toBe(true);
      await client.close();
    } finally {
      await served.close();
      await served.runtime.close?.();
      await new Promise<void>((resolve) => upstream.close(() => resolve()));
    }
  });
});
