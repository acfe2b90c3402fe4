/**
 * The `specgate` command as a user runs it: real processes, exit codes, what lands on stdout and
 * stderr, and the serve and stdio commands reached by the official MCP clients.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { legacyClient, listAll, root, tempDir } from './helpers/e2e.ts';

const bin = path.join(root, 'bin', 'specgate.js');
const fixture = path.join(root, 'test/fixtures/generator/helpdesk.yaml');

function run(args: string[], cwd = root): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('specgate command line', () => {
  const dir = tempDir('cli');
  const specs = path.join(dir, 'specs');
  const out = path.join(dir, 'generated');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  beforeAll(() => fs.mkdirSync(specs, { recursive: true }));

  it('has --help on every command', async () => {
    for (const cmd of ['init', 'ops', 'check', 'generate', 'pin', 'serve', 'stdio']) {
      const r = await run([cmd, '--help']);
      expect(r.code, cmd).toBe(0);
      expect(r.stdout).toContain(`Usage: specgate ${cmd}`);
    }
    const top = await run(['--help']);
    expect(top.stdout).toMatch(/init[\s\S]*ops[\s\S]*check[\s\S]*generate[\s\S]*serve[\s\S]*stdio/);
  });

  it('lists operations, with derived operationIds marked', async () => {
    const r = await run(['ops', fixture]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/GET\s+\/tickets\s+listTickets\s+Tickets\s+List tickets/);
    expect(r.stdout).toMatch(/GET\s+\/clients\/\{clientId\}\s+\(getClientsByClientId\)/);
    const json = JSON.parse((await run(['ops', fixture, '--json', '--reads'])).stdout) as Array<{ method: string }>;
    expect(json.every((o) => o.method === 'GET' || o.method === 'HEAD')).toBe(true);
  });

  it('scaffolds specs that check and generate unchanged, in both modes', async () => {
    const listed = path.join(specs, 'helpdesk.yaml');
    const bulk = path.join(specs, 'bulk.yaml');
    expect((await run(['init', fixture, '--out', listed])).code).toBe(0);
    expect((await run(['init', fixture, '--all-reads', '--connector', 'bulk', '--out', bulk])).code).toBe(0);
    const text = fs.readFileSync(listed, 'utf8');
    expect(text.split('\n')[0]).toMatch(/^# yaml-language-server: \$schema=.*generator\/spec\/spec\.schema\.json$/);
    expect(text).toContain('operation: GET /tickets/{id}');
    expect(text).not.toContain('DELETE');
    expect(fs.readFileSync(bulk, 'utf8')).toMatch(/select:\n\s+- methods:\n\s+- GET\n\s+- HEAD/);
    // A second init refuses to overwrite without --force.
    const again = await run(['init', fixture, '--out', listed]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('--force');

    const check = await run(['check', specs]);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/helpdesk\.yaml: helpdesk, \d+ tools/);

    const gen = await run(['generate', specs, '--out', out]);
    expect(gen.code, gen.stderr).toBe(0);
    expect(gen.stderr).toMatch(/\[1\/2\] .*bulk\.yaml -> bulk: \d+ tools/);
    expect(gen.stderr).toMatch(/\[2\/2\] .*helpdesk\.yaml -> helpdesk: \d+ tools/);
    expect(fs.existsSync(path.join(out, 'helpdesk', 'client.ts'))).toBe(true);
    // The compiler loads only for --typecheck, and then runs over what was written.
    const typed = await run(['generate', specs, '--out', out, '--typecheck']);
    expect(typed.code, typed.stderr).toBe(0);
    expect(typed.stderr).toContain('type check passed');

    const fresh = await run(['generate', specs, '--out', out, '--check']);
    expect(fresh.code, fresh.stderr).toBe(0);
    fs.appendFileSync(path.join(out, 'bulk', 'model.ts'), '\n');
    const stale = await run(['generate', specs, '--out', out, '--check']);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain(`stale: ${path.relative(root, path.join(out, 'bulk', 'model.ts'))}`);
  }, 600_000);

  it('fails check with file:line:column and a non-zero exit', async () => {
    const bad = path.join(specs, 'bad.yaml');
    fs.writeFileSync(bad, `specgate: 1\nconnector: bad\ndocument:\n  source: ${fixture}\ntools:\n  - operation: DELETE /tickets/{id}\n`);
    const r = await run(['check', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${path.relative(root, bad)}:6:16: error [select/write-operation]`);
    fs.rmSync(bad);
  });

  it('pins the document hash in place, keeping comments', async () => {
    const spec = path.join(specs, 'pinme.yaml');
    fs.writeFileSync(spec, `# keep me\nspecgate: 1\nconnector: pinme\ndocument:\n  source: ${fixture} # the fixture\ntools:\n  - operationId: listTickets\n`);
    const r = await run(['pin', spec]);
    expect(r.code, r.stderr).toBe(0);
    const text = fs.readFileSync(spec, 'utf8');
    expect(text).toMatch(/sha256: [a-f0-9]{64}/);
    expect(text).toContain('# keep me');
    expect(text).toContain('# the fixture');
    expect((await run(['check', spec])).code).toBe(0);
    fs.rmSync(spec);
  });

  it('says clearly when a document is missing', async () => {
    const r = await run(['ops', path.join(dir, 'nope.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^specgate: .*nope\.json.*no such file/m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  describe('serve and stdio', () => {
    let server: ChildProcess | undefined;
    afterAll(() => server?.kill('SIGKILL'));

    it('serve --mock prints where it listens and what it loaded, answers MCP, and stops on SIGTERM', async () => {
      server = spawn(process.execPath, [bin, 'serve', '--mock', '--port', '0', '--generated', out], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no listen line:\n${stderr}`)), 60_000);
        server!.stderr!.on('data', (d: Buffer) => {
          stderr += d.toString();
          const m = /serving MCP on (http:\/\/\S+\/mcp): 2 connector\(s\), (\d+) tools/.exec(stderr);
          if (m && /helpdesk: \d+ tools -> http:\/\/127\.0\.0\.1:\d+\S* \(mock\)/.test(stderr)) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
      });
      const client = await legacyClient(url);
      const tools = await listAll(client);
      expect(tools.map((t) => t.name)).toContain('helpdesk_list_tickets');
      const r = (await client.callTool({ name: 'helpdesk_get_ticket', arguments: { id: 1 } })) as { isError?: boolean; structuredContent?: any };
      expect(r.isError, JSON.stringify(r)).toBeFalsy();
      expect(r.structuredContent).toHaveProperty('result');
      await client.close();
      const exited = new Promise<number | null>((resolve) => server!.on('exit', (code) => resolve(code)));
      server.kill('SIGTERM');
      expect(await exited).toBe(0);
    });

    it('stdio --mock serves the same catalog to a desktop-style client', async () => {
      const client = new Client({ name: 'stdio-test', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
      await client.connect(new StdioClientTransport({ command: process.execPath, args: [bin, 'stdio', '--mock', '--generated', out], cwd: root, stderr: 'pipe' }));
      try {
        const tools = await listAll(client);
        expect(tools.map((t) => t.name)).toContain('bulk_list_tickets');
        const r = (await client.callTool({ name: 'bulk_get_ticket', arguments: { id: 1 } })) as { isError?: boolean };
        expect(r.isError).toBeFalsy();
      } finally {
        await client.close();
      }
    });
  });
});
