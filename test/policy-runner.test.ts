/**
 * `policy test` and `policy eval`: the default policy's own suite passes through the runner, a
 * wrong expectation is reported as a failure with what differed, and the command exits accordingly.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatPolicyTestRun, policyTestFiles, runPolicyTests } from '../runtime/policy/test-runner.ts';
import type { Decision } from '../runtime/policy/types.ts';
import { loadCatalog } from '../runtime/catalog.ts';

const root = path.resolve(import.meta.dirname, '..');
const defaultPolicies = path.join(root, 'policies');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'specgate-policy-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The command as a user would run it once it is registered: a real process, real exit code. */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const main = "import { Command } from 'commander'; import { registerPolicy } from './cli/commands/policy.ts';"
    + " const p = new Command('specgate'); registerPolicy(p); await p.parseAsync(process.argv.slice(1), { from: 'user' });";
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', main, ...args], { cwd: root }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

function failingDir(): string {
  const dir = path.join(tmp, 'failing');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'p.yaml'), [
    'package: small',
    'rules:',
    '  - id: tech',
    '    effect: allow',
    '    when: \'"technician" in input.identity.roles\'',
    '    obligations: { maxItems: 5 }',
    '',
  ].join('\n'));
  fs.writeFileSync(path.join(dir, 'p_test.yaml'), [
    'base: { identity: { subject: s, roles: [technician] }, tenant: t, connector: c, tool: { name: hudu_list_companies, riskTier: low }, time: "2026-11-18T15:00:00Z" }',
    'tests:',
    '  - name: technician allowed',
    '    input: {}',
    '    expect: { effect: allow, reasons: [tech], obligations: { maxItems: 5 } }',
    '  - name: wrong on purpose',
    '    input: { identity: { roles: [billing] } }',
    '    expect: { effect: allow, reasons: [tech], obligations: { redact: [password] } }',
    '',
  ].join('\n'));
  return dir;
}

describe('policy test runner', () => {
  it('finds test files beside the policies and in tests/', () => {
    const dir = failingDir();
    expect(policyTestFiles(dir)).toEqual([path.join(dir, 'p_test.yaml')]);
    expect(policyTestFiles(defaultPolicies)).toEqual([path.join(defaultPolicies, 'tests', 'msp.yaml')]);
  });

  it('passes the default MSP policy suite against the generated catalog, logging every decision', async () => {
    const log: Decision[] = [];
    const { tools } = await loadCatalog(path.join(root, 'generated'));
    const run = runPolicyTests(defaultPolicies, { onDecision: (d) => log.push(d), catalog: tools });
    expect(run.diagnostics).toEqual([]);
    expect(run.results.length).toBeGreaterThanOrEqual(15);
    expect(run.results.filter((r) => !r.passed).map((r) => [r.name, r.failures])).toEqual([]);
    expect(run.failed).toBe(0);
    expect(log).toHaveLength(run.results.length);
    expect(new Set(log.map((d) => d.id)).size).toBe(log.length);
    // Each effect of the default policy is exercised by its suite.
    expect(new Set(run.results.map((r) => r.decision!.effect))).toEqual(new Set(['allow', 'deny', 'require_approval']));
  });

  it('reports a failing case with every difference, and the summary counts it', () => {
    const run = runPolicyTests(failingDir());
    expect(run.passed).toBe(1);
    expect(run.failed).toBe(1);
    const bad = run.results[1];
    expect(bad).toMatchObject({ name: 'wrong on purpose', passed: false, line: 6 });
    expect(bad.failures).toEqual([
      'effect: expected allow, got deny',
      'reasons: expected tech among [small/default]',
      'obligations.redact: expected [password], got []',
    ]);
    const text = formatPolicyTestRun(run, tmp);
    expect(text).toContain('PASS failing/p_test.yaml:3 technician allowed -> allow (small/tech)');
    expect(text).toContain('FAIL failing/p_test.yaml:6 wrong on purpose -> deny (small/default)\n     effect: expected allow, got deny');
    expect(text).toMatch(/PASS: 1\/2 {2}FAIL: 1\/2\n$/);
  });

  it('reports an unreadable test file at its position instead of skipping it silently', () => {
    const dir = path.join(tmp, 'badtests');
    fs.mkdirSync(path.join(dir, 'tests'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'p.yaml'), 'package: p\nrules: []\n');
    fs.writeFileSync(path.join(dir, 'tests', 't.yaml'), 'tests:\n  - name: x\n    input: {}\n    expect: { effect: perhaps }\n');
    const run = runPolicyTests(dir);
    expect(run.results).toEqual([]);
    expect(run.diagnostics[0]).toMatchObject({ line: 4, code: 'policy-test/schema' });
    expect(run.diagnostics[0].message).toContain('tests.0.expect.effect: must be one of allow, deny, require_approval');
  });
});

describe('specgate policy (command)', () => {
  it('policy test prints PASS lines and exits 0 on the default policy', async () => {
    const r = await cli(['policy', 'test']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^PASS policies\/tests\/msp\.yaml:\d+ technician may call a low-risk tool/m);
    expect(r.stdout).not.toContain('FAIL');
  });

  it('policy test exits 1 and prints FAIL with the reason on a failing case', async () => {
    const r = await cli(['policy', 'test', failingDir()]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL .*p_test\.yaml:6 wrong on purpose -> deny \(small\/default\)/);
    expect(r.stdout).toContain('FAIL: 1/2');
  });

  it('policy test exits 1 with file:line:col when a policy does not compile', async () => {
    const dir = path.join(tmp, 'broken');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'p.yaml'), 'package: p\nrules:\n  - id: r\n    effect: allow\n    when: input.tool.name ==\n');
    const r = await cli(['policy', 'test', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/p\.yaml:5:\d+.*rule "r": Unexpected token/);
  });

  it('policy eval prints the decision for an input file', async () => {
    const file = path.join(tmp, 'input.json');
    fs.writeFileSync(file, JSON.stringify({
      identity: { subject: 's', roles: ['technician'] }, tenant: 'acme-msp', connector: 'hudu',
      tool: { name: 'hudu_export', riskTier: 'high', tags: [] }, time: '2026-11-18T15:00:00Z',
    }));
    const r = await cli(['policy', 'eval', '--input', file]);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout) as Decision;
    expect(d).toMatchObject({ effect: 'require_approval', reasons: [{ rule: 'specgate.msp/high-risk-needs-approval' }], obligations: { redact: ['otp_secret', 'password'] } });
    const missing = await cli(['policy', 'eval', '--input', path.join(tmp, 'nope.json')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot read input');
  });
});
