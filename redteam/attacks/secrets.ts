/**
 * Secret exposure: every planted secret (vendor keys and client secrets from the runtime config,
 * stored vendor credentials, OIDC client secrets, the API keys, the master and audit keys)
 * searched in the server's logs, the audit and usage tables, the metrics, every answer the
 * attacks received, and the database's bytes (stored credentials are encrypted at rest).
 */
import fs from 'node:fs';
import { sql } from 'kysely';
import { type Deployment, secretsIn } from '../deployment.ts';
import { OWASP, probe, type Attack, type Finding } from '../types.ts';
import { message } from './observe.ts';

/** The database as bytes an attacker with a copy would read: the SQLite files, or every PostgreSQL row as text. */
async function databaseText(d: Deployment): Promise<string> {
  if (d.kind === 'sqlite') {
    const file = d.storeUrl.slice('sqlite:'.length);
    return ['', '-wal', '-shm'].filter((s) => fs.existsSync(file + s)).map((s) => fs.readFileSync(file + s).toString('latin1')).join('\n');
  }
  const store = await d.store();
  const tables = await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = 'public'`.execute(store.db);
  const parts: string[] = [];
  for (const { table_name } of tables.rows) {
    const rows = await sql<{ row: unknown }>`select row_to_json(t)::text as row from ${sql.table(table_name)} t`.execute(store.db);
    parts.push(...rows.rows.map((r) => String(r.row)));
  }
  return parts.join('\n');
}

export const secrets: Attack = {
  family: 'secrets',
  async run(d: Deployment): Promise<Finding[]> {
    // Every credential in use at least once, so the search looks for values the server held and sent.
    await d.call('aTech', 'hudu_get_company', {}, { customer: 'rt-contoso' });
    await d.call('aAdmin', 'itglue_list_passwords', {}, { customer: 'rt-contoso' });
    await d.call('bTech', 'hudu_get_company', {}, { customer: 'rt-globex' });
    await new Promise((r) => setTimeout(r, 1100));
    await d.call('cTech', 'hudu_get_company', {}, { customer: 'rt-initech' });
    const pax8 = await d.call('aTech', 'pax8_list_subscriptions', {}, { customer: 'rt-contoso' });
    const places: Array<{ id: string; tried: string; text: () => Promise<string> }> = [
      { id: 'logs', tried: "planted secrets in the server's stdout and stderr (all runs)", text: async () => d.logs() },
      { id: 'audit', tried: 'planted secrets in the audit records (every chain)', text: async () => JSON.stringify(await d.audit()) },
      { id: 'usage', tried: 'planted secrets in the usage rows', text: async () => JSON.stringify(await d.usage()) },
      { id: 'metrics', tried: 'planted secrets in /metrics', text: async () => (await Promise.all([d.metricsUrl, `${d.origin}/metrics`].map((u) => fetch(u).then((r) => r.text(), () => '')))).join('\n') },
      { id: 'responses', tried: `planted secrets in every tool result and error the attacks received`, text: async () => d.transcript.join('\n') },
      { id: 'database-bytes', tried: 'plaintext of the stored vendor credentials and keys in the database bytes', text: () => databaseText(d) },
    ];
    const findings: Finding[] = [];
    for (const p of places) {
      findings.push(await probe(`secrets.${p.id}`, OWASP.API3, p.tried, async () => {
        const text = await p.text();
        const found = secretsIn(text, d.secrets);
        return { problems: found.length ? [`found: ${found.join(', ')}`] : [], held: `${Object.keys(d.secrets).length} secrets absent from ${text.length} characters` };
      }));
    }
    // Control: the vendors did receive their credentials, so the search looked for values that were in use.
    findings.push(await probe('secrets.control', OWASP.API3, 'control: the recording upstream received the planted vendor credentials', async () => {
      const seen = secretsIn(JSON.stringify(d.recorder.requests.map((r) => [r.headers, r.body])), d.secrets);
      const missing = ['huduKeyShared', 'itglueKeyStoredA', 'huduKeyTenantB', 'huduKeyStoredC', 'pax8ClientSecret'].filter((s) => !seen.includes(s));
      return { problems: missing.length ? [`never used upstream: ${missing.join(', ')} (pax8 answered ${message(pax8)})`] : [], held: `in use upstream: ${seen.join(', ')}` };
    }));
    return findings;
  },
};
