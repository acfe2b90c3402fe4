/**
 * The policy engine over real policy files on disk: compile errors with positions, each effect,
 * precedence, obligations, data documents, time conditions, decision ids and the decision log.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compilePolicy, loadPolicies, PolicyLoadError } from '../runtime/policy/engine.ts';
import { createPolicyEngine, decide } from '../runtime/policy/decide.ts';
import type { Decision, PolicyInput } from '../runtime/policy/types.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'specgate-policy-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let n = 0;
function policyDir(files: Record<string, string>): string {
  const dir = path.join(tmp, `p${n++}`);
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

const input = (over: Partial<PolicyInput> = {}): PolicyInput => ({
  identity: { subject: 'tech-1', roles: ['technician'] },
  tenant: 't1',
  connector: 'hudu',
  tool: { name: 'hudu_list_companies', riskTier: 'low', tags: ['companies'] },
  arguments: { page_size: 10 },
  time: '2026-11-18T15:00:00Z',
  ...over,
});

const fourRules = `
package: test.effects
default: deny
rules:
  - id: tech-low
    effect: allow
    when: '"technician" in input.identity.roles && input.tool.riskTier == "low"'
    obligations: { redact: [password], maxItems: 50 }
  - id: prefix
    effect: allow
    when: input.tool.name.startsWith("hudu_") && has(input.arguments.page_size)
    obligations: { redact: [otp_secret, password], maxItems: 20 }
  - id: high
    effect: require_approval
    when: input.tool.riskTier == "high"
  - id: vault
    effect: deny
    message: vault tools are off limits
    when: input.tool.tags.exists(t, t == "passwords")
`;

describe('policy compile errors', () => {
  it('reports a CEL syntax error at the file, line and column of the bad token', () => {
    const text = 'package: bad.syntax\nrules:\n  - id: r1\n    effect: allow\n    when: input.tool.name == \n';
    const { pkg, diagnostics } = compilePolicy('/x/bad.yaml', text);
    expect(pkg).toBeUndefined();
    expect(diagnostics).toHaveLength(1);
    // `when: ` starts at column 5; the value at column 11; the expression ends at offset 19 (EOF).
    expect(diagnostics[0]).toMatchObject({ file: '/x/bad.yaml', line: 5, code: 'policy/cel' });
    expect(diagnostics[0].column).toBe(11 + 'input.tool.name =='.length);
    expect(diagnostics[0].message).toMatch(/rule "r1": Unexpected token/);
  });

  it('points into a quoted scalar and into a literal block at the unknown name', () => {
    const text = [
      'package: bad.names',
      'rules:',
      '  - id: quoted',
      '    effect: allow',
      '    when: "input.tool.name == inptu.x"',
      '  - id: block',
      '    effect: deny',
      '    when: |',
      '      input.tool.riskTier == "high"',
      '        && nosuch(input.tool.name)',
      '',
    ].join('\n');
    const { diagnostics } = compilePolicy('/x/names.yaml', text);
    expect(diagnostics.map((d) => [d.line, d.column, d.message])).toEqual([
      [5, 11 + 1 + 'input.tool.name == '.length, 'rule "quoted": Unknown variable: inptu'],
      [10, 12, expect.stringMatching(/^rule "block": found no matching overload for 'nosuch/)],
    ]);
  });

  it('rejects a condition that is not a bool, schema errors and duplicate ids, with positions', () => {
    const text = 'package: bad.kinds\nrules:\n  - id: num\n    effect: allow\n    when: 1 + 2\n  - id: num\n    effect: maybe\n    when: "true"\n';
    const notBool = compilePolicy('/x/k.yaml', 'package: k\nrules:\n  - id: num\n    effect: allow\n    when: 1 + 2\n');
    expect(notBool.diagnostics[0]).toMatchObject({ line: 5, column: 11, message: 'rule "num": condition must be a bool, this one is int' });
    const schema = compilePolicy('/x/k.yaml', text);
    expect(schema.diagnostics[0]).toMatchObject({ line: 7, column: 13, code: 'policy/schema' });
    expect(schema.diagnostics[0].message).toContain('rules.1.effect: must be one of allow, deny, require_approval');
    const dup = compilePolicy('/x/k.yaml', text.replace('maybe', 'deny'));
    expect(dup.diagnostics.find((d) => d.code === 'policy/duplicate-rule')).toMatchObject({ line: 6, column: 9, message: 'rule id "num" is used twice in package bad.kinds' });
  });

  it('loadPolicies throws one PolicyLoadError listing every file:line:col', () => {
    const dir = policyDir({
      'a.yaml': 'package: a\nrules:\n  - id: r\n    effect: allow\n    when: input.x ==\n',
      'b.yaml': 'package: b\nrules: [ {id: r, effect: allow, when: "true"}\n',
    });
    let err: unknown;
    try {
      loadPolicies(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PolicyLoadError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/a\.yaml:5:\d+: rule "r": Unexpected token/);
    expect(msg).toMatch(/b\.yaml:\d+:\d+: /);
    expect((err as PolicyLoadError).diagnostics).toHaveLength(2);
  });
});

describe('policy decisions', () => {
  const policies = loadPolicies(policyDir({ 'effects.yaml': fourRules }));

  it('allows, merging obligations of every matching allow rule (redact union, maxItems min)', () => {
    const d = decide(policies, input());
    expect(d.effect).toBe('allow');
    expect(d.allow).toBe(true);
    expect(d.reasons.map((r) => r.rule)).toEqual(['test.effects/tech-low', 'test.effects/prefix']);
    expect(d.obligations).toEqual({ redact: ['otp_secret', 'password'], maxItems: 20 });
  });

  it('falls back to the package default, citing it', () => {
    const d = decide(policies, input({ identity: { subject: 'x', roles: ['billing'] }, tool: { name: 'pax8_list', riskTier: 'medium' } }));
    expect(d).toMatchObject({ effect: 'deny', allow: false, reasons: [{ rule: 'test.effects/default', effect: 'deny' }], obligations: { redact: [] } });
  });

  it('require_approval beats allow, and keeps the obligations', () => {
    const d = decide(policies, input({ tool: { name: 'hudu_export', riskTier: 'high', tags: [] } }));
    expect(d.effect).toBe('require_approval');
    expect(d.reasons.map((r) => r.rule)).toEqual(['test.effects/prefix', 'test.effects/high']);
    expect(d.obligations).toEqual({ redact: ['otp_secret', 'password'], maxItems: 20 });
  });

  it('deny overrides allow and require_approval, and drops obligations', () => {
    const d = decide(policies, input({ tool: { name: 'hudu_passwords', riskTier: 'high', tags: ['passwords'] } }));
    expect(d.effect).toBe('deny');
    expect(d.reasons.map((r) => `${r.rule}:${r.effect}`)).toEqual(['test.effects/prefix:allow', 'test.effects/high:require_approval', 'test.effects/vault:deny']);
    expect(d.reasons[2].message).toBe('vault tools are off limits');
    expect(d.obligations).toEqual({ redact: [] });
  });

  it('combines packages: a deny in one package overrides an allow in another, package obligations apply', () => {
    const dir = policyDir({
      'a.yaml': 'package: a\nobligations: { redact: [ssn] }\nrules:\n  - id: all\n    effect: allow\n    when: "true"\n',
      'b.yaml': 'package: b\nrules:\n  - id: t2\n    effect: deny\n    when: input.tenant == "t2"\n',
    });
    const set = loadPolicies(dir);
    const ok = decide(set, input());
    // b matched nothing, so its default (deny) would apply: packages are conjunctive, like OPA.
    expect(ok.effect).toBe('deny');
    expect(ok.reasons.map((r) => r.rule)).toEqual(['a/all', 'b/default']);
    const allowB = loadPolicies(policyDir({
      'a.yaml': 'package: a\nobligations: { redact: [ssn] }\nrules:\n  - id: all\n    effect: allow\n    when: "true"\n',
      'b.yaml': 'package: b\ndefault: allow\nrules:\n  - id: t2\n    effect: deny\n    when: input.tenant == "t2"\n',
    }));
    expect(decide(allowB, input())).toMatchObject({ effect: 'allow', obligations: { redact: ['ssn'] } });
    expect(decide(allowB, input({ tenant: 't2' })).reasons.map((r) => r.rule)).toEqual(['a/all', 'b/t2']);
  });

  it('reads data documents as data.<file name>', () => {
    const dir = policyDir({
      'p.yaml': [
        'package: withdata',
        'rules:',
        '  - id: entitled',
        '    effect: allow',
        '    when: input.connector in data.entitlements[input.tenant].connectors',
        '  - id: blocked-customer',
        '    effect: deny',
        '    when: input.customer in data.blocked.customers',
        '',
      ].join('\n'),
      'data/entitlements.yaml': 'acme:\n  connectors: [hudu, halopsa]\nt1:\n  connectors: [pax8]\n',
      'data/blocked.json': '{"customers": ["evil-corp"]}',
    });
    const set = loadPolicies(dir);
    expect(set.data).toEqual({ blocked: { customers: ['evil-corp'] }, entitlements: { acme: { connectors: ['hudu', 'halopsa'] }, t1: { connectors: ['pax8'] } } });
    expect(decide(set, input({ tenant: 'acme' })).effect).toBe('allow');
    expect(decide(set, input({ tenant: 'acme', customer: 'evil-corp' })).effect).toBe('deny');
    // t1 is not entitled to hudu: no allow rule matches.
    expect(decide(set, input({ tenant: 't1' })).reasons.map((r) => r.rule)).toEqual(['withdata/default']);
  });

  it('reports a bad data document with its position', () => {
    const dir = policyDir({ 'p.yaml': 'package: p\nrules: []\n', 'data/bad.yaml': 'a: 1\nb: [1, 2\n' });
    expect(() => loadPolicies(dir)).toThrow(/bad\.yaml:\d+:\d+: /);
  });

  it('evaluates time conditions from input.time (RFC 3339 string) and `now` (a CEL timestamp)', () => {
    const dir = policyDir({
      'time.yaml': [
        'package: time',
        'rules:',
        '  - id: office-hours-berlin',
        '    effect: allow',
        '    when: now.getHours("Europe/Berlin") >= 8 && now.getHours("Europe/Berlin") < 18',
        '  - id: before-cutover',
        '    effect: deny',
        '    when: timestamp(input.time) < timestamp("2026-01-01T00:00:00Z")',
        '  - id: weekend',
        '    effect: deny',
        '    when: now.getDayOfWeek("Europe/Berlin") in [0, 6]',
        '',
      ].join('\n'),
    });
    const set = loadPolicies(dir);
    const at = (time: string) => decide(set, input({ time })).reasons.map((r) => r.rule.split('/')[1]);
    expect(at('2026-11-18T07:30:00Z')).toEqual(['office-hours-berlin']); // 08:30 in Berlin (CET)
    expect(at('2026-11-18T06:30:00Z')).toEqual(['default']); // 07:30 in Berlin
    expect(at('2026-11-18T09:30:00+02:00')).toEqual(['office-hours-berlin']); // offsets are honoured
    expect(at('2025-12-31T10:00:00Z')).toEqual(['office-hours-berlin', 'before-cutover']);
    expect(at('2026-11-21T10:00:00Z')).toEqual(['office-hours-berlin', 'weekend']); // a Saturday
    // Without input.time the engine's clock decides, and the decision says which instant it used.
    const d = decide(set, { ...input(), time: undefined }, { now: () => new Date('2026-11-18T07:30:00Z') });
    expect(d).toMatchObject({ effect: 'allow', time: '2026-11-18T07:30:00.000Z' });
    expect(() => decide(set, input({ time: 'yesterday' }))).toThrow(/input\.time must be an RFC 3339 date-time, got "yesterday"/);
  });

  it('fails closed when a condition errors at run time: deny still denies, allow does not allow', () => {
    const dir = policyDir({
      'p.yaml': [
        'package: strict',
        'rules:',
        '  - id: by-arg',
        '    effect: allow',
        '    when: input.arguments.scope == "own"',
        '  - id: guard',
        '    effect: deny',
        '    when: input.arguments.limit > 100',
        '',
      ].join('\n'),
    });
    const set = loadPolicies(dir);
    expect(decide(set, input({ arguments: { scope: 'own', limit: 5 } })).effect).toBe('allow');
    const d = decide(set, input({ arguments: { scope: 'own' } }));
    expect(d.effect).toBe('deny');
    expect(d.errors).toEqual([{ rule: 'strict/guard', message: expect.stringMatching(/No such key: limit/) }]);
    expect(d.reasons[1]).toMatchObject({ rule: 'strict/guard', effect: 'deny', message: expect.stringContaining('treated as matched') });
    const noScope = decide(set, input({ arguments: { limit: 5 } }));
    expect(noScope.reasons.map((r) => r.rule)).toEqual(['strict/default']);
  });

  it('gives every decision a unique UUID v7 and logs each one to onDecision, even if the sink throws', () => {
    const log: Decision[] = [];
    const engine = createPolicyEngine(policies, { onDecision: (d) => log.push(d) });
    const made = Array.from({ length: 200 }, (_, i) => engine.decide(input({ arguments: { page_size: i } })));
    expect(log).toEqual(made);
    const ids = made.map((d) => d.id);
    expect(new Set(ids).size).toBe(200);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // v7 ids carry the creation time in their first 48 bits.
    const ms = parseInt(ids[0].replace(/-/g, '').slice(0, 12), 16);
    expect(Math.abs(ms - Date.now())).toBeLessThan(60_000);
    const throwing = createPolicyEngine(policies, { onDecision: () => { throw new Error('disk full'); } });
    expect(throwing.decide(input()).effect).toBe('allow');
  });

  it('loads the default MSP policy from policies/', () => {
    const engine = createPolicyEngine({ dir: path.resolve(import.meta.dirname, '../policies') });
    expect(engine.policies.packages.map((p) => p.name)).toEqual(['specgate.msp']);
    expect(Object.keys(engine.policies.data)).toEqual(['business_hours', 'customer_isolation', 'sensitive']);
  });
});
