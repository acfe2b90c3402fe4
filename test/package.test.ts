/**
 * specgate as a user gets it: the packed tarball (`npm pack`) installed into an empty project
 * outside this checkout, and the whole author flow run there with the installed command: init,
 * check, generate --typecheck, serve --mock and stdio reached by the official MCP client. One
 * install serves every step. The install skips install scripts (better-sqlite3's native build):
 * nothing in this flow opens a store, which also shows the store's modules load only when asked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { legacyClient, listAll, root } from './helpers/e2e.ts';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

interface Run { code: number; stdout: string; stderr: string }

function run(command: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: { ...process.env, NO_COLOR: '1', npm_config_update_notifier: 'false' }, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

function ok(r: Run, what: string): Run {
  expect(r.code, `${what} failed:\n${r.stderr.slice(-4000)}\n${r.stdout.slice(-2000)}`).toBe(0);
  return r;
}

/** Every file under dir, relative, posix separators. */
function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => fs.statSync(path.join(dir, f)).isFile())
    .map((f) => f.split(path.sep).join('/'));
}

describe('the packed package, installed into an empty project', () => {
  // Outside the checkout: nothing may resolve through it (no package self-reference, no node_modules of ours).
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'specgate-package-'));
  const project = path.join(work, 'acme-connectors');
  const installed = path.join(project, 'node_modules', 'specgate');
  const specgate = path.join(project, 'node_modules', '.bin', 'specgate');
  let server: ChildProcess | undefined;

  beforeAll(async () => {
    // `npm pack` runs prepare/prepack: the build, skipped when dist/ is already of these sources.
    const packed = ok(await run(npm, ['pack', '--json', '--pack-destination', work], root), 'npm pack');
    const [{ filename }] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string }>;
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), `${JSON.stringify({ name: 'acme-connectors', private: true }, null, 2)}\n`);
    fs.copyFileSync(path.join(root, 'test/fixtures/generator/helpdesk.yaml'), path.join(project, 'helpdesk.yaml'));
    // Tarballs come from the npm cache that `npm ci` filled; only package metadata may need the registry.
    ok(await run(npm, ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', path.join(work, filename)], project), 'npm install');
  });

  afterAll(() => {
    server?.kill('SIGKILL');
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('ships compiled JavaScript and no TypeScript loader: no sources, tsx not installed', () => {
    const files = filesUnder(installed);
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('dist/runtime/model.d.ts');
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.some((f) => f.startsWith('test/') || f.startsWith('bench/'))).toBe(false);
    // tsx is a development dependency only: were it needed at run time, every command below would fail.
    expect(() => createRequire(path.join(project, 'package.json')).resolve('tsx')).toThrow(/Cannot find module 'tsx'/);
    expect(fs.readFileSync(path.join(installed, 'bin/specgate.js'), 'utf8')).toContain("'../dist/cli/main.js'");
  });

  it('init scaffolds a spec in the project through npx', async () => {
    const r = ok(await run(npx, ['--no-install', 'specgate', 'init', 'helpdesk.yaml', '--all-reads'], project), 'specgate init');
    expect(r.stderr).toContain('wrote specs/helpdesk.yaml: connector "helpdesk"');
    const spec = fs.readFileSync(path.join(project, 'specs/helpdesk.yaml'), 'utf8');
    // The editor schema comes from the installed package.
    expect(spec).toContain('$schema=../node_modules/specgate/generator/spec/spec.schema.json');
    expect(fs.existsSync(path.join(project, 'node_modules/specgate/generator/spec/spec.schema.json'))).toBe(true);
  });

  it('check validates the project\'s specs/', async () => {
    const r = ok(await run(specgate, ['check'], project), 'specgate check');
    expect(r.stdout).toMatch(/^specs\/helpdesk\.yaml: helpdesk, 7 tools/m);
    expect(r.stderr).toContain('1 spec(s): 0 error(s)');
  });

  it('generate writes the project\'s generated/, importing specgate by package name, and it type-checks', async () => {
    const r = ok(await run(specgate, ['generate', '--typecheck'], project), 'specgate generate --typecheck');
    expect(r.stderr).toContain('type check passed');
    const generated = path.join(project, 'generated');
    expect(filesUnder(generated).sort()).toEqual([
      'helpdesk/client.js', 'helpdesk/client.ts', 'helpdesk/index.js', 'helpdesk/index.ts', 'helpdesk/model.js',
      'helpdesk/model.ts', 'helpdesk/openapi.json', 'helpdesk/schema.ts', 'index.js', 'index.ts', 'package.json',
    ]);
    const client = fs.readFileSync(path.join(generated, 'helpdesk/client.ts'), 'utf8');
    expect(client).toContain('import { createClient } from "specgate/openapi-fetch";');
    expect(client).toContain('from "specgate/model";');
    for (const f of filesUnder(generated)) {
      const text = fs.readFileSync(path.join(generated, f), 'utf8');
      expect(text, f).not.toContain('node_modules');
      expect(text, f).not.toContain(work);
      expect(text, f).not.toMatch(/from "\.\.\/\.\./);
    }
    // Deterministic: a second run changes nothing, and --check agrees.
    ok(await run(specgate, ['generate', '--check'], project), 'specgate generate --check');
  });

  it('serve --mock answers an MCP client\'s tool call over HTTP', async () => {
    server = spawn(specgate, ['serve', '--mock', '--port', '0'], { cwd: project, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      server!.on('exit', (code) => reject(new Error(`serve exited (${code}):\n${stderr}`)));
      server!.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /serving MCP on (http:\/\/\S+\/mcp): 1 connector\(s\), 7 tools/.exec(stderr);
        if (m && /helpdesk: 7 tools -> http:\/\/127\.0\.0\.1:\d+\S* \(mock\)/.test(stderr)) resolve(m[1]);
      });
    });
    const client = await legacyClient(url);
    try {
      expect((await listAll(client)).map((t) => t.name)).toContain('helpdesk_get_ticket');
      const r = (await client.callTool({ name: 'helpdesk_get_ticket', arguments: { id: 1 } })) as { isError?: boolean; structuredContent?: any };
      expect(r.isError, JSON.stringify(r)).toBeFalsy();
      expect(r.structuredContent).toHaveProperty('result');
    } finally {
      await client.close();
    }
    const exited = new Promise<number | null>((resolve) => server!.on('exit', (code) => resolve(code)));
    server.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('stdio --mock serves the same catalog, started from another folder with --generated', async () => {
    const elsewhere = fs.mkdtempSync(path.join(work, 'elsewhere-'));
    const client = new Client({ name: 'package-test', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StdioClientTransport({ command: specgate, args: ['stdio', '--mock', '--generated', '../acme-connectors/generated'], cwd: path.join(work, path.basename(elsewhere)), stderr: 'pipe' }));
    try {
      const r = (await client.callTool({ name: 'helpdesk_list_tickets', arguments: {} })) as { isError?: boolean };
      expect(r.isError, JSON.stringify(r)).toBeFalsy();
    } finally {
      await client.close();
    }
  });
});
