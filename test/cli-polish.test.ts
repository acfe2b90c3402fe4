/**
 * The first hour with the command line: `try` (one tool call without JSON-RPC), `pin --dry-run`
 * (review before the pin), output into a closed pipe, shell completion, and an engines field the
 * dependencies agree with. Real processes, a real HTTP upstream, real bash.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import semver from 'semver';
import { parse, stringify } from 'yaml';
import { root, tempDir } from './helpers/e2e.ts';

const bin = path.join(root, 'bin', 'specgate.js');
const fixture = path.join(root, 'test/fixtures/generator/helpdesk.yaml');

function run(args: string[], cwd = root): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

const dir = tempDir('cli-polish');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('specgate try', () => {
  const out = path.join(dir, 'try-generated');
  const seen: string[] = [];
  let upstream: http.Server;
  let upstreamUrl: string;

  beforeAll(async () => {
    const spec = path.join(dir, 'try.yaml');
    fs.writeFileSync(spec, `specgate: 1\nconnector: helpdesk\ndocument:\n  source: ${fixture}\ntools:\n  - operationId: listTickets\n    name: helpdesk_list_tickets\n  - operation: GET /tickets/{id}\n    name: helpdesk_get_ticket\n`);
    const g = await run(['generate', spec, '--out', out]);
    expect(g.code, g.stderr).toBe(0);
    upstream = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ id: 7, summary: 'Printer on fire', status: 'open' }));
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/api`;
  }, 60_000);
  afterAll(() => new Promise<void>((r) => upstream.close(() => r())));

  it('calls one tool on a real upstream and prints the structured result', async () => {
    const r = await run(['try', 'helpdesk_get_ticket', '--generated', out, '--upstream', upstreamUrl, '--args', '{"id": 7}']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { result: unknown }).result).toMatchObject({ id: 7, summary: 'Printer on fire', status: 'open' });
    expect(seen).toContain('GET /api/tickets/7');
    expect(r.stderr).toContain(`helpdesk_get_ticket -> ${upstreamUrl}`);
  });

  it('calls the mock upstream with --mock', async () => {
    const r = await run(['try', 'helpdesk_get_ticket', '--generated', out, '--mock', '--args', '{"id": 3}']);
    expect(r.code, r.stderr).toBe(0);
    const { result } = JSON.parse(r.stdout) as { result: { id: unknown; summary: unknown } };
    expect(typeof result.id).toBe('number');
    expect(typeof result.summary).toBe('string');
    expect(r.stderr).toMatch(/\(mock\)/);
  });

  it('names the argument and the rule when the arguments are invalid, and calls nobody', async () => {
    const before = seen.length;
    const r = await run(['try', 'helpdesk_get_ticket', '--generated', out, '--upstream', upstreamUrl, '--args', '{"id": "seven"}']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Invalid arguments: .*"id".*integer/);
    expect(r.stdout).toBe('');
    expect(seen.length).toBe(before);
  });

  it('refuses an unknown tool with the closest names, and arguments that are not a JSON object', async () => {
    const unknown = await run(['try', 'helpdesk_get_tickte', '--generated', out, '--mock']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/unknown tool "helpdesk_get_tickte" .*\(2 tools\); did you mean helpdesk_get_ticket/);
    const notJson = await run(['try', 'helpdesk_get_ticket', '--generated', out, '--mock', '--args', '{id: 1}']);
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toMatch(/^specgate: --args is not valid JSON/m);
    const array = await run(['try', 'helpdesk_get_ticket', '--generated', out, '--mock', '--args', '[1]']);
    expect(array.stderr).toMatch(/--args must be a JSON object .*got an array/);
    const both = await run(['try', 'helpdesk_get_ticket', '--generated', out, '--mock', '--upstream', upstreamUrl]);
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/--mock and --upstream exclude each other/);
  });
});

describe('specgate pin --dry-run', () => {
  const work = path.join(dir, 'pin');
  const doc = path.join(work, 'helpdesk.yaml');
  const spec = path.join(work, 'spec.yaml');
  const out = path.join(work, 'generated');

  beforeAll(async () => {
    fs.mkdirSync(work, { recursive: true });
    fs.copyFileSync(fixture, doc);
    fs.writeFileSync(spec, 'specgate: 1\nconnector: pinned\ndocument:\n  source: ./helpdesk.yaml\nselect:\n  - methods: [GET]\n');
    expect((await run(['pin', spec])).code).toBe(0);
    const g = await run(['generate', spec, '--out', out]);
    expect(g.code, g.stderr).toBe(0);
  }, 60_000);

  it('says there is nothing to pin when the document is unchanged', async () => {
    const r = await run(['pin', '--dry-run', '--out', out, spec]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/the document is unchanged/);
  });

  it('shows the tools a changed document adds, removes and changes, and writes nothing', async () => {
    const vendor = parse(fs.readFileSync(doc, 'utf8')) as { paths: Record<string, Record<string, Record<string, unknown>>> };
    delete vendor.paths['/articles/{slug}'];
    vendor.paths['/sites'] = { get: { operationId: 'listSites', summary: 'List sites', responses: { 200: { description: 'ok', content: { 'application/json': { schema: { type: 'array', items: { type: 'string' } } } } } } } };
    vendor.paths['/tickets'].get.description = 'Lists the tickets, oldest first.';
    fs.writeFileSync(doc, stringify(vendor));
    const specBefore = fs.readFileSync(spec, 'utf8');
    const modelBefore = fs.readFileSync(path.join(out, 'pinned', 'model.ts'), 'utf8');

    const r = await run(['pin', '--dry-run', '--out', out, spec]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/spec\.yaml: the document changed: pinned [a-f0-9]{64}, now [a-f0-9]{64}/);
    expect(r.stdout).toMatch(/pinned: \+ pinned_list_sites \(new tool\)/);
    expect(r.stdout).toMatch(/pinned: - pinned_get_article \(removed: clients lose this tool\)/);
    expect(r.stdout).toMatch(/pinned: ~ pinned_list_tickets \(.*description.* changed\)/);
    expect(r.stderr).toContain('dry run: nothing written');
    expect(fs.readFileSync(spec, 'utf8')).toBe(specBefore);
    expect(fs.readFileSync(path.join(out, 'pinned', 'model.ts'), 'utf8')).toBe(modelBefore);

    // The pin still guards generation, and its hint points at the review.
    const check = await run(['check', spec]);
    expect(check.code).toBe(1);
    expect(check.stderr).toMatch(/document\/changed[\s\S]*pin --dry-run/);
    expect((await run(['pin', spec])).code).toBe(0);
    expect((await run(['check', spec])).code).toBe(0);
  });
});

describe('output into a closed pipe', () => {
  it('ends quietly when the reader has gone (`specgate ops doc | head`)', async () => {
    const child = spawn(process.execPath, [bin, 'ops', fixture], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    // The reader goes away before the first line is written: every write meets EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    expect(stderr).not.toMatch(/EPIPE|Error|\n\s+at /);
    expect(code).toBe(0);
  });

  it('works through a real shell pipe into head', () => {
    const text = execFileSync('bash', ['-o', 'pipefail', '-c', `"${process.execPath}" "${bin}" ops "${fixture}" 2>&1 | head -n 1`], { encoding: 'utf8' });
    expect(text).toMatch(/^METHOD\s+PATH/);
  });
});

describe('shell completion', () => {
  let bashScript: string;
  beforeAll(async () => {
    const r = await run(['completion', 'bash']);
    expect(r.code, r.stderr).toBe(0);
    bashScript = path.join(dir, 'completion.bash');
    fs.writeFileSync(bashScript, r.stdout);
  });

  /** What bash offers after the words typed so far (the last one is being completed). */
  const complete = (...words: string[]) => execFileSync('bash', ['-c', `source "${bashScript}"; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _specgate_complete; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' }).split('\n').filter(Boolean);

  it('completes commands, subcommands and options in bash, from the program itself', () => {
    expect(complete('specgate', 'ge')).toEqual(['generate']);
    expect(complete('specgate', '')).toEqual(expect.arrayContaining(['init', 'ops', 'check', 'generate', 'pin', 'serve', 'stdio', 'try', 'completion', 'tenant']));
    expect(complete('specgate', 'pin', '--d')).toEqual(['--dry-run']);
    expect(complete('specgate', 'tenant', 'cr')).toEqual(['create']);
    expect(complete('specgate', '--store', 'x', 'ops', 'doc.yaml', '--')).toEqual(expect.arrayContaining(['--json', '--reads', '--tag', '--help']));
    expect(complete('specgate', 'try', 'x', '--')).toEqual(expect.arrayContaining(['--args', '--mock', '--upstream']));
  });

  it('prints zsh and fish scripts, and refuses other shells', async () => {
    const zsh = await run(['completion', 'zsh']);
    expect(zsh.stdout.split('\n')[0]).toBe('#compdef specgate');
    expect(zsh.stdout).toContain('bashcompinit');
    expect(zsh.stdout).toContain('complete -o default -F _specgate_complete specgate');
    const fish = await run(['completion', 'fish']);
    expect(fish.stdout).toContain("complete -c specgate -n '__fish_use_subcommand' -a generate");
    expect(fish.stdout).toMatch(/complete -c specgate -n '__fish_seen_subcommand_from pin' -l dry-run/);
    expect(fish.stdout).toMatch(/complete -c specgate -n '__fish_seen_subcommand_from tenant; and not __fish_seen_subcommand_from [^']*create[^']*' -a create/);
    const other = await run(['completion', 'tcsh']);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/completion tcsh: unknown shell; expected bash, zsh or fish/);
  });
});

describe('engines and dependencies agree', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { engines: { node: string } };
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; optional?: boolean; engines?: { node?: string } | string[] }> };

  it('every dependency supports the oldest promised release of each Node line', () => {
    // What `npm ci` checks is the running Node against each package's engines: the oldest
    // release the field admits on each current line (20, 22, 24, 26) stands for all of them.
    const promised = pkg.engines.node;
    const oldest = [20, 22, 24, 26].flatMap((major) => {
      for (let minor = 0; minor < 40; minor++) if (semver.satisfies(`${major}.${minor}.0`, promised)) return [`${major}.${minor}.0`];
      return [];
    });
    expect(oldest[0]).toMatch(/^20\./);
    const disagree = Object.entries(lock.packages)
      .filter(([name, p]) => name && !p.optional && p.engines && !Array.isArray(p.engines) && p.engines.node)
      .flatMap(([name, p]) => oldest.filter((v) => !semver.satisfies(v, (p.engines as { node: string }).node)).map((v) => `${name}@${p.version} wants node ${(p.engines as { node: string }).node}, not ${v}`));
    expect(disagree, `engines.node is "${promised}"`).toEqual([]);
  });

  it('the Node running the tests is one the engines field promises', () => {
    expect(semver.satisfies(process.version, pkg.engines.node)).toBe(true);
  });
});
