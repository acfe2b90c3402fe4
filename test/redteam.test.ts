/**
 * The red-team harness (redteam/, `npm run redteam` for the whole suite): a real governed
 * deployment (`specgate serve --store` over the launch catalog, with planted secrets, an OpenID
 * provider and a recording upstream) comes up, one attack family plays against it end to end,
 * and everything it started is gone afterwards. Plus the runner's verdict and table.
 */
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAllowList, outsideAllowList } from '../redteam/allow-list.ts';
import { isolation } from '../redteam/attacks/isolation.ts';
import { Deployment, secretsIn } from '../redteam/deployment.ts';
import { renderTable } from '../redteam/run.ts';
import { OWASP, probe, verdict } from '../redteam/types.ts';

describe('the red-team harness', () => {
  const d = new Deployment({ store: 'sqlite' });
  afterAll(() => d.close());

  it('brings up a governed deployment and plays the isolation attacks against it: all hold', async () => {
    await d.start();
    const findings = await isolation.run(d);
    expect(findings.length).toBeGreaterThanOrEqual(10);
    expect(findings.filter((f) => !f.held)).toEqual([]);
    expect(findings.every((f) => f.owasp === OWASP.API1)).toBe(true);
    // The control went through to tenant A's upstream with tenant A's planted credential.
    expect(findings.find((f) => f.id === 'isolation.control')?.detail).toContain('/a/hudu/companies/101');
    expect(secretsIn(JSON.stringify(d.recorder.requests.map((r) => r.headers)), d.secrets)).toContain('huduKeyShared');
  });

  it('leaves no process and no temp folder behind', async () => {
    const pid = d.pid;
    await d.close();
    expect(fs.existsSync(d.dir)).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow();
  });
});

describe("the runner's verdicts", () => {
  it('reports an attack that got through as SUCCEEDED, and a harness failure too', async () => {
    expect(verdict('x.y', OWASP.API4, 'tried', ['quota spent 1'], 'fine')).toMatchObject({ held: false, detail: 'quota spent 1' });
    expect(verdict('x.y', OWASP.API4, 'tried', [], 'fine')).toMatchObject({ held: true, detail: 'fine' });
    const broken = await probe('x.z', OWASP.API2, 'tried', async () => { throw new Error('server gone'); });
    expect(broken).toMatchObject({ held: false, detail: 'the attack could not be judged: server gone' });
    const table = renderTable([{ store: 'sqlite', seconds: 1, findings: [broken] }, { store: 'postgres', seconds: 0, findings: [], skipped: 'no binaries' }]);
    expect(table).toMatch(/sqlite\s+\| x\.z\s+\| API2:2023 Broken Authentication\s+\| tried\s+\| SUCCEEDED \| the attack could not be judged/);
    expect(table).toContain('not run: no binaries');
  });

  it('judges upstream requests against the allow-list of the launch catalog', async () => {
    const allow = await loadAllowList();
    const r = (method: string, rawUrl: string) => ({ method, rawUrl, headers: {}, bodyBytes: 0, body: '' });
    expect(outsideAllowList(r('GET', '/a/hudu/companies/101'), allow)).toBeNull();
    expect(outsideAllowList(r('GET', '/a/hudu/articles?slug=x'), allow)).toBeNull();
    expect(outsideAllowList(r('GET', '/a/hudu/companies/..%2F901'), allow)).toMatch(/encoded slash/);
    expect(outsideAllowList(r('GET', '/a/hudu/admin'), allow)).toMatch(/no operation of hudu/);
    expect(outsideAllowList(r('GET', '/a/hudu/companies?company_id=901'), allow)).toMatch(/company_id are not hudu parameters/);
    expect(outsideAllowList(r('DELETE', '/a/hudu/companies/101'), allow)).toMatch(/no operation/);
  });
});
