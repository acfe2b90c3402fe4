/**
 * The spec side of body-driven pagination: `style: next-url` with a JMESPath to the next page's
 * URL, checked when the connector is built (a missing or broken path is an error at its line).
 */
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { buildConnector } from '../generator/pipeline.ts';
import type { Diagnostic } from '../generator/spec/types.ts';

const root = path.resolve(import.meta.dirname, '..');
const fixture = path.join(root, 'test/fixtures/generator/helpdesk.yaml');
const tmp = fs.mkdtempSync(path.join(root, 'test/.tmp-pagination-spec-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let n = 0;
async function build(body: string) {
  const file = path.join(tmp, `spec${++n}.yaml`);
  const text = `specgate: 1\nconnector: helpdesk\ndocument:\n  source: ${fixture}\n${body}`;
  fs.writeFileSync(file, text);
  return { ...(await buildConnector(file)), text };
}
const errors = (d: Diagnostic[]) => d.filter((x) => x.severity === 'error');
function lineOf(text: string, needle: string): number {
  return text.slice(0, text.indexOf(needle)).split('\n').length;
}

describe('pagination style next-url', () => {
  it('builds the uniform limit and cursor arguments and keeps the JMESPath to the next URL', async () => {
    const r = await build(`tools:\n  - operationId: listTickets\n    pagination: { style: next-url, nextUrl: pageDetails.nextPageUrl, limit: pageSize, defaultLimit: 50 }\n`);
    expect(errors(r.diagnostics)).toEqual([]);
    const t = r.build!.model.tools.find((x) => x.name === 'helpdesk_list_tickets')!;
    expect(t.pagination).toEqual({ style: 'next-url', limitParam: 'pageSize', nextUrlPath: 'pageDetails.nextPageUrl', defaultLimit: 50, maxLimit: 200 });
    const props = (t.inputSchema as { properties: Record<string, { type: string }> }).properties;
    expect(props.cursor!.type).toBe('string');
    expect(props.pageSize).toBeUndefined();
  });

  it('takes a quoted name such as Graph\'s "@odata.nextLink"', async () => {
    const r = await build(`tools:\n  - operationId: listTickets\n    pagination: { style: next-url, nextUrl: '"@odata.nextLink"' }\n`);
    expect(errors(r.diagnostics)).toEqual([]);
    expect(r.build!.model.tools.find((x) => x.name === 'helpdesk_list_tickets')!.pagination!.nextUrlPath).toBe('"@odata.nextLink"');
  });

  it('refuses next-url without nextUrl, and a nextUrl that is not JMESPath, at its line', async () => {
    const missing = await build(`tools:\n  - operationId: listTickets\n    pagination: { style: next-url, limit: pageSize }\n`);
    const [m] = errors(missing.diagnostics);
    expect(m!.code).toBe('pagination/incomplete');
    expect(m!.message).toBe('pagination style "next-url" needs `nextUrl`');
    expect(m!.line).toBe(lineOf(missing.text, 'pagination:'));

    const broken = await build(`tools:\n  - operationId: listTickets\n    pagination: { style: next-url, nextUrl: '@odata.nextLink' }\n`);
    const [b] = errors(broken.diagnostics);
    expect(b!.code).toBe('pagination/jmespath');
    expect(b!.message).toMatch(/^invalid JMESPath "@odata.nextLink": /);
    expect(b!.hint).toContain('"@odata.nextLink"');
    expect(b!.line).toBe(lineOf(broken.text, 'pagination:'));
  });

  it('checks a cursor style nextCursor as JMESPath too', async () => {
    const r = await build(`tools:\n  - operationId: listTickets\n    pagination: { style: cursor, cursor: page, nextCursor: 'meta.[next' }\n`);
    const [e] = errors(r.diagnostics);
    expect(e!.code).toBe('pagination/jmespath');
    expect(e!.message).toMatch(/^invalid JMESPath "meta.\[next": /);
  });

  it('is an unknown style to the schema only if misspelt, with the styles listed', async () => {
    const r = await build(`tools:\n  - operationId: listTickets\n    pagination: { style: next_url, nextUrl: next }\n`);
    const [e] = errors(r.diagnostics);
    expect(e!.message).toContain('next-url');
    expect(e!.line).toBe(lineOf(r.text, 'pagination:'));
  });
});
