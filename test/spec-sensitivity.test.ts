/**
 * `sensitivity` in a connector spec: validated where it is written, inherited from `defaults`,
 * undone per tool with `none`, and carried in the tool model for policies to match on.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { buildConnector } from '../generator/pipeline.ts';

const root = path.resolve(import.meta.dirname, '..');
const fixture = path.join(root, 'test/fixtures/generator/helpdesk.yaml');
const tmp = fs.mkdtempSync(path.join(root, 'test/.tmp-sensitivity-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let n = 0;
async function build(body: string) {
  const file = path.join(tmp, `spec${++n}.yaml`);
  fs.writeFileSync(file, `specgate: 1\nconnector: helpdesk\ndocument:\n  source: ${fixture}\n${body}`);
  const { build: built, diagnostics } = await buildConnector(file);
  return { model: built?.model, diagnostics, file };
}

describe('spec sensitivity', () => {
  it('is inherited from defaults, set per tool, undone with none, and absent when not declared', async () => {
    const { model, diagnostics } = await build([
      'defaults:',
      '  sensitivity: personal',
      'tools:',
      '  - operationId: listTickets',
      '    name: helpdesk_list_tickets',
      '    customer: false',
      '  - operationId: getTicket',
      '    name: helpdesk_get_ticket',
      '    sensitivity: credentials',
      '  - operationId: getArticle',
      '    name: helpdesk_get_article',
      '    sensitivity: none',
      '',
    ].join('\n'));
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const by = Object.fromEntries(model!.tools.map((t) => [t.name, t]));
    expect(by.helpdesk_list_tickets!.sensitivity).toBe('personal');
    expect(by.helpdesk_get_ticket!.sensitivity).toBe('credentials');
    expect(by.helpdesk_get_article).not.toHaveProperty('sensitivity');
    const plain = await build('tools:\n  - operationId: getArticle\n    name: helpdesk_get_article\n');
    expect(plain.model!.tools[0]).not.toHaveProperty('sensitivity');
  });

  it('an unknown sensitivity is an error at its line and column, naming the allowed values', async () => {
    const { model, diagnostics, file } = await build('tools:\n  - operationId: getArticle\n    sensitivity: secret\n');
    expect(model).toBeUndefined();
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({ file, line: 7, column: 18, severity: 'error', code: 'spec/schema' });
    expect(diagnostics[0]!.message).toContain('tools[0].sensitivity is "secret", which is not one of none, credentials, personal, financial');
  });
});
