/**
 * An operationId the document declares on several operations: one warning per id with the count
 * and the operations, and an error (naming the candidates) when a spec selects by it, instead of
 * silently taking the first.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { buildConnector } from '../generator/pipeline.ts';
import { loadDocument } from '../generator/openapi/load.ts';
import type { Diagnostic } from '../generator/spec/types.ts';

const root = path.resolve(import.meta.dirname, '..');
const tmp = fs.mkdtempSync(path.join(root, 'test/.tmp-opids-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const doc = {
  openapi: '3.0.3',
  info: { title: 'Shared ids', version: '1' },
  paths: {
    '/accounts/{id}/policy': { get: { operationId: 'Get_Policy', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: { description: 'ok' } } } },
    '/groups/{id}/policy': { get: { operationId: 'Get_Policy', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: { description: 'ok' } } } },
    '/sites/{id}/policy': { get: { operationId: 'Get_Policy', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: { description: 'ok' } } } },
    '/threats': { get: { operationId: 'Get_Threats', responses: { 200: { description: 'ok' } } } },
  },
};
const docFile = path.join(tmp, 'shared.json');
fs.writeFileSync(docFile, JSON.stringify(doc, null, 2));

let n = 0;
async function build(body: string) {
  const file = path.join(tmp, `spec${++n}.yaml`);
  const text = `specgate: 1\nconnector: shared\ndocument:\n  source: ${docFile}\n${body}`;
  fs.writeFileSync(file, text);
  return { ...(await buildConnector(file)), text };
}
const errors = (d: Diagnostic[]) => d.filter((x) => x.severity === 'error');

describe('ambiguous operationIds', () => {
  it('warns once per shared id, with the count, the operations and the ids they get', async () => {
    const { notes, operations } = await loadDocument(docFile);
    const dup = notes.filter((x) => x.code === 'operation/duplicate-id');
    expect(dup).toHaveLength(1);
    expect(dup[0]!.message).toBe('operationId "Get_Policy" is used by 3 operations: GET /accounts/{id}/policy, GET /groups/{id}/policy (as getGroupsByIdPolicy), GET /sites/{id}/policy (as getSitesByIdPolicy); the first keeps it, the others get derived ids');
    expect(dup[0]!.pointer).toBe('/paths/~1groups~1{id}~1policy/get/operationId');
    expect(operations.filter((o) => o.sharedOperationId === 'Get_Policy').map((o) => o.operationId)).toEqual(['Get_Policy', 'getGroupsByIdPolicy', 'getSitesByIdPolicy']);
    expect(operations.find((o) => o.operationId === 'Get_Threats')!.sharedOperationId).toBeUndefined();
  });

  it('refuses to select by it (tools or select), naming the candidates, at the line of the id', async () => {
    for (const body of ['tools:\n  - operationId: Get_Policy\n', 'select:\n  - operationId: Get_Policy\n']) {
      const r = await build(body);
      const [e] = errors(r.diagnostics);
      expect(e!.code).toBe('select/ambiguous-operation-id');
      expect(e!.message).toBe('operationId "Get_Policy" is ambiguous: the document declares it on 3 operations (GET /accounts/{id}/policy, GET /groups/{id}/policy, GET /sites/{id}/policy)');
      expect(e!.hint).toBe('select one by method and path instead, e.g. `operation: GET /accounts/{id}/policy`');
      expect(e!.line).toBe(r.text.split('\n').findIndex((l) => l.includes('Get_Policy')) + 1);
    }
  });

  it('selecting by method and path, or by a unique id, works; excluding by a shared id leaves out all of them', async () => {
    const ok = await build('tools:\n  - operation: GET /groups/{id}/policy\n    name: shared_group_policy\n  - operationId: Get_Threats\n');
    expect(errors(ok.diagnostics)).toEqual([]);
    expect(ok.build!.model.tools.map((t) => t.name).sort()).toEqual(['shared_get_threats', 'shared_group_policy']);
    const bulk = await build('select:\n  - paths: ["/**"]\n    exclude: [Get_Policy]\n');
    expect(errors(bulk.diagnostics)).toEqual([]);
    expect(bulk.build!.model.tools.map((t) => t.operation.path)).toEqual(['/threats']);
  });

  it('SentinelOne\'s document: 32 shared ids, one warning each', async () => {
    const { notes } = await loadDocument(path.join(root, '../shared/openapi/sentinelone.yaml'));
    const dup = notes.filter((x) => x.code === 'operation/duplicate-id');
    expect(dup).toHaveLength(32);
    expect(dup.every((x) => /^operationId "[^"]+" is used by \d+ operations: /.test(x.message))).toBe(true);
  });
});
