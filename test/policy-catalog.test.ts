/**
 * Policies against the real generated catalog: the default policy keeps the password tools of Hudu
 * and IT Glue from technicians through the governance chain itself, tags reach rules normalised,
 * and `policy test` fails, at file:line:column, on a rule or case naming a tool, tag or sensitivity
 * no catalog tool has (as the old tag-based password rule did).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog, type Catalog } from '../runtime/catalog.ts';
import { createPolicyEngine } from '../runtime/policy/decide.ts';
import { loadPolicies } from '../runtime/policy/engine.ts';
import { runPolicyTests } from '../runtime/policy/test-runner.ts';
import { createGovernance } from '../runtime/governance/setup.ts';
import { apiKeysRepo, openStore, settingsRepo, tenantsRepo, type Store } from '../runtime/store/index.ts';

const root = path.resolve(import.meta.dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'specgate-policy-catalog-'));
let catalog: Catalog;

beforeAll(async () => {
  catalog = await loadCatalog(path.join(root, 'generated'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A policy folder of one policy file and one test file. */
function folder(name: string, policy: string, tests: string, data?: Record<string, string>): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'p.yaml'), policy);
  fs.writeFileSync(path.join(dir, 'p_test.yaml'), tests);
  for (const [file, text] of Object.entries(data ?? {})) fs.writeFileSync(path.join(dir, 'data', file), text);
  return dir;
}

const OK_TEST = 'base: { identity: { subject: s, roles: [technician] }, tenant: t, time: "2026-11-18T15:00:00Z" }\ntests:\n  - name: t\n    input: { tool: hudu_list_companies }\n    expect: { effect: allow }\n';

describe('the default policy over the real catalog, through the governance chain', () => {
  let store: Store;
  const key: Record<string, string> = {};
  beforeAll(async () => {
    store = await openStore('sqlite::memory:');
    await tenantsRepo(store).createTenant({ id: 'msp', name: 'MSP' });
    await tenantsRepo(store).createCustomer({ id: 'contoso', tenantId: 'msp', name: 'Contoso' });
    await tenantsRepo(store).setVendorId('contoso', 'hudu', '12');
    await tenantsRepo(store).setVendorId('contoso', 'itglue', '34');
    for (const c of ['hudu', 'itglue']) await settingsRepo(store).grant('msp', c, '*');
    const keys = apiKeysRepo(store);
    key.tech = (await keys.create({ tenantId: 'msp', subject: 'tech', roles: ['technician'] })).key;
    key.admin = (await keys.create({ tenantId: 'msp', subject: 'sec', roles: ['security-admin'] })).key;
  });
  afterAll(async () => store?.close());

  it('a technician is never shown nor let call the password tools; a security admin is', async () => {
    const gov = createGovernance({
      store, policy: createPolicyEngine({ dir: path.join(root, 'policies') }, { now: () => new Date('2026-11-18T15:00:00Z') }),
      caller: { callTool: async () => ({ content: [{ type: 'text', text: 'reached the vendor' }] }) },
      now: () => new Date('2026-11-18T15:00:00Z'),
    });
    const headers = (k: string) => ({ authorization: `Bearer ${key[k]}`, 'specgate-customer': 'contoso' });
    const names = async (k: string) => (await gov.visibleTools({ headers: headers(k), requestId: `r-${k}` }, catalog)).map((t) => t.name);
    const passwordTools = ['hudu_list_password_folders', 'hudu_list_passwords', 'itglue_get_password_metadata', 'itglue_list_passwords'];
    const tech = await names('tech');
    expect(tech).toContain('hudu_list_articles');
    for (const t of passwordTools) expect(tech).not.toContain(t);
    const admin = await names('admin');
    for (const t of passwordTools) expect(admin).toContain(t);
    for (const t of ['hudu_list_passwords', 'itglue_list_passwords']) {
      const r = await gov.call({ headers: headers('tech'), requestId: `c-${t}` }, catalog.byName.get(t)!.tool, {}, `call-${t}`);
      expect(r.content[0]!.text).toBe('Refused by policy: password vault tools are reserved for security admins');
    }
  });

  it('the generated password tools carry their declared sensitivity', () => {
    for (const t of ['hudu_list_passwords', 'itglue_list_passwords']) expect(catalog.byName.get(t)!.tool.sensitivity).toBe('credentials');
    expect(catalog.byName.get('hudu_list_companies')!.tool.sensitivity).toBeUndefined();
  });
});

describe('policy test against the catalog', () => {
  it('the shipped suite passes and denies both password lists to a technician', () => {
    const run = runPolicyTests(path.join(root, 'policies'), { catalog: catalog.tools });
    expect(run.diagnostics).toEqual([]);
    expect(run.failed).toBe(0);
    const denied = run.results.filter((r) => r.decision?.reasons.some((x) => x.rule === 'specgate.msp/password-tools-restricted'));
    expect(denied.map((r) => r.name)).toEqual(expect.arrayContaining(["Hudu's password list is denied to technicians", "IT Glue's password list is denied to technicians"]));
  });

  it('catches the old tag rule: tags that no catalog tool has, named at the data reference', () => {
    const dir = folder('old-rule', [
      'package: old',
      'rules:',
      '  - id: password-tools-restricted',
      '    effect: deny',
      '    when: |',
      '      input.tool.tags.exists(t, t in data.sensitive.password_tags)',
      '        && !("security-admin" in input.identity.roles)',
      '',
    ].join('\n'), OK_TEST, { 'sensitive.yaml': 'password_tags: [passwords, credentials, otp]\n' });
    const run = runPolicyTests(dir, { catalog: catalog.tools });
    const file = path.join(dir, 'p.yaml');
    expect(run.diagnostics.map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}`)).toEqual([
      expect.stringMatching(new RegExp(`^${file}:6:38: rule "old/password-tools-restricted": no tool of the generated catalog has tag "credentials" \\(the catalog has: .*asset passwords.*\\) \\(via data.sensitive.password_tags\\)$`)),
      expect.stringMatching(/:6:38: .*tag "otp"/),
    ]);
  });

  it('names an unknown tool, tag and sensitivity in a condition at their own column', () => {
    const dir = folder('unknown', [
      'package: unknown',
      'rules:',
      '  - id: names',
      '    effect: deny',
      '    when: \'input.tool.name in ["hudu_list_passwords", "hudu_list_pwds"] || "Asset  PASSWORDS" in input.tool.tags || input.tool.sensitivity == "secrets"\'',
      '',
    ].join('\n'), OK_TEST);
    const run = runPolicyTests(dir, { catalog: catalog.tools });
    const at = run.diagnostics.map((d) => [d.line, d.column, d.message.replace(/ \(the catalog has: [^)]*\)/, '')]);
    expect(at).toEqual([
      [5, 55, 'rule "unknown/names": no tool of the generated catalog has tool "hudu_list_pwds"'],
      [5, 143, 'rule "unknown/names": no tool of the generated catalog has sensitivity "secrets"'],
    ]);
  });

  it('a case naming a tool, tag or sensitivity the catalog lacks is an error at its place, and the case does not run', () => {
    const dir = folder('cases', 'package: cases\nrules:\n  - id: all\n    effect: allow\n    when: "true"\n', [
      'base: { identity: { subject: s, roles: [technician] }, tenant: t, time: "2026-11-18T15:00:00Z" }',
      'tests:',
      '  - name: made-up tool',
      '    input: { tool: hudu_export_assets }',
      '    expect: { effect: allow }',
      '  - name: made-up tag',
      '    input: { tool: { name: hudu_list_passwords, tags: [vault] } }',
      '    expect: { effect: allow }',
      '  - name: made-up sensitivity',
      '    input: { tool: { riskTier: low, sensitivity: secret } }',
      '    expect: { effect: allow }',
      '  - name: real',
      '    input: { tool: hudu_list_passwords }',
      '    expect: { effect: allow }',
      '',
    ].join('\n'));
    const run = runPolicyTests(dir, { catalog: catalog.tools });
    expect(run.diagnostics.map((d) => [d.line, d.column, d.message.replace(/ \(the catalog has: [^)]*\)/, '')])).toEqual([
      [4, 20, 'test "made-up tool": tool: no tool of the generated catalog has tool "hudu_export_assets"'],
      [7, 20, 'test "made-up tag": tool.tags: no tool of the generated catalog has tag "vault"'],
      [10, 20, 'test "made-up sensitivity": tool.sensitivity: no tool of the generated catalog has sensitivity "secret"'],
    ]);
    expect(run.results.map((r) => r.name)).toEqual(['real']);
    // The real tool's input came from its model: connector and normalised tags included.
    expect(run.results[0]!.passed).toBe(true);
  });

  it('tags reach rules lower-case with single spaces, so a rule can name a vendor tag reliably', () => {
    const dir = folder('tags', 'package: tags\ndefault: allow\nrules:\n  - id: vault\n    effect: deny\n    when: \'"asset passwords" in input.tool.tags\'\n', [
      'base: { identity: { subject: s, roles: [] }, tenant: t, time: "2026-11-18T15:00:00Z" }',
      'tests:',
      '  - { name: hudu passwords, input: { tool: hudu_list_passwords }, expect: { effect: deny, reasons: [vault] } }',
      '  - { name: companies, input: { tool: hudu_list_companies }, expect: { effect: allow } }',
      '',
    ].join('\n'));
    const run = runPolicyTests(dir, { catalog: catalog.tools });
    expect(run.diagnostics).toEqual([]);
    expect(run.results.map((r) => [r.name, r.passed])).toEqual([['hudu passwords', true], ['companies', true]]);
    expect(loadPolicies(dir).packages).toHaveLength(1);
  });
});
