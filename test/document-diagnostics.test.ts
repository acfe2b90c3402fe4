/**
 * What `check`, `generate` and `init` tell an author about a difficult document: a dangling $ref
 * named where it is used, warnings summarised by rule, and a document that reads only by POST.
 * Real CLI processes on fixture documents.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { root, tempDir } from './helpers/e2e.ts';
import { summarizeDiagnostics, SUMMARY_THRESHOLD } from '../cli/report.ts';
import type { Diagnostic } from '../generator/spec/types.ts';

const bin = path.join(root, 'bin', 'specgate.js');
const fixtures = path.join(root, 'test/fixtures/openapi');

function run(args: string[], cwd = root): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

const dir = tempDir('document-diagnostics');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function spec(name: string, body: string): string {
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, `specgate: 1\nconnector: ${name}\n${body}`);
  return file;
}

describe('a dangling $ref', () => {
  it('is an error of check, named by the JSON pointer that uses it and its line and column in the YAML document', async () => {
    const file = spec('dangling', `document:\n  source: ${path.join(fixtures, 'dangling.yaml')}\ntools:\n  - operation: GET /things\n`);
    const r = await run(['check', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${path.relative(root, path.join(fixtures, 'dangling.yaml'))}:31:24: error [document/dangling-ref] $ref "#/components/schemas/Owner" at /components/schemas/Thing/properties/owner points at nothing in the document (reached from GET /things)`);
    // Only what the tools reach: /unused points at a missing schema too, but is not selected.
    expect(r.stderr).not.toContain('Gone');
    expect(r.stdout).toContain('dangling.yaml: failed');
  });

  it('is found in a JSON document too, an escaped name included, and generate stops on it before writing', async () => {
    const file = spec('danglingjson', `document:\n  source: ${path.join(fixtures, 'dangling.json')}\ntools:\n  - operation: GET /things\n`);
    const check = await run(['check', file]);
    expect(check.code).toBe(1);
    const json = path.relative(root, path.join(fixtures, 'dangling.json'));
    expect(check.stderr).toContain(`${json}:31:21: error [document/dangling-ref] $ref "#/components/responses/Not%20Found" at /paths/~1things/get/responses/404 points at nothing`);
    expect(check.stderr).toContain(`${json}:63:21: error [document/dangling-ref] $ref "#/components/schemas/Owner"`);
    const out = path.join(dir, 'generated');
    const gen = await run(['generate', file, '--out', out]);
    expect(gen.code).toBe(1);
    expect(gen.stderr).toContain('[document/dangling-ref]');
    expect(gen.stderr).not.toContain('openapi-typescript');
    expect(fs.existsSync(path.join(out, 'danglingjson'))).toBe(false);
  });

  it('is placed on the spec entry when an overlay changed the document (its file no longer holds the $ref)', async () => {
    const overlay = path.join(dir, 'dangle.overlay.yaml');
    fs.writeFileSync(overlay, [
      'overlay: 1.0.0',
      'info: { title: adds a dangling reference, version: "1" }',
      'actions:',
      "  - target: $.components.schemas.Thing.properties",
      '    update: { site: { $ref: "#/components/schemas/Site" } }',
      '',
    ].join('\n'));
    const fixed = path.join(dir, 'fixed.yaml');
    fs.writeFileSync(fixed, fs.readFileSync(path.join(fixtures, 'dangling.yaml'), 'utf8').replace('owner: { $ref: "#/components/schemas/Owner" }', 'owner: { type: string }'));
    const file = spec('overlaid', `document:\n  source: ${fixed}\n  overlays: [ ${overlay} ]\ntools:\n  - operation: GET /things\n`);
    const r = await run(['check', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${path.relative(root, file)}:7:5: error [document/dangling-ref] $ref "#/components/schemas/Site" at /components/schemas/Thing/properties/site`);
  });
});

describe('warnings summarised by rule', () => {
  const warning = (code: string, line: number): Diagnostic => ({ severity: 'warning', code, message: `m${line}`, file: 'specs/x.yaml', line, column: 1 });

  it('lists a rule with few warnings one by one and summarises a rule with many; errors are never summarised', () => {
    const many = Array.from({ length: SUMMARY_THRESHOLD + 1 }, (_, i) => warning('lint/property-key', 100 - i));
    const error: Diagnostic = { severity: 'error', code: 'lint/property-key', message: 'e', file: 'specs/x.yaml', line: 1, column: 1 };
    const { listed, summaries } = summarizeDiagnostics([...many, warning('lint/tool-name', 3), error]);
    expect(listed.map((d) => d.code)).toEqual(['lint/property-key', 'lint/tool-name']);
    expect(listed[0].severity).toBe('error');
    expect(summaries).toEqual([{ code: 'lint/property-key', count: SUMMARY_THRESHOLD + 1, first: many.at(-1) }]);
    expect(summarizeDiagnostics(many, true).listed).toHaveLength(many.length);
  });

  it('prints one line per rule with its count, each one with --verbose, all of them to --diagnostics-file', async () => {
    // Eight `$`-prefixed parameters: eight lint/property-key warnings on one tool.
    const doc = path.join(dir, 'odata-document.yaml');
    const params = Array.from({ length: 8 }, (_, i) => `        - { name: "$p${i}", in: query, schema: { type: string } }`).join('\n');
    fs.writeFileSync(doc, `openapi: 3.0.3\ninfo: { title: OData-ish, version: "1" }\nservers: [{ url: https://api.example.com }]\npaths:\n  /items:\n    get:\n      operationId: listItems\n      parameters:\n${params}\n      responses:\n        "200": { description: ok, content: { application/json: { schema: { type: array, items: { type: object } } } } }\n`);
    const file = spec('odata', `document:\n  source: ${doc}\ntools:\n  - operation: GET /items\n`);
    const brief = await run(['check', file]);
    expect(brief.code, brief.stderr).toBe(0);
    expect(brief.stderr).toMatch(/^warning \[lint\/property-key\] 8 times, first at .*odata\.yaml:6:5: parameter "\$p0" becomes argument "p0"/m);
    expect(brief.stderr).not.toContain('"$p7"');
    expect(brief.stderr).toContain('8 warning(s) summarised by rule: run with --verbose to list each one');
    // A rule under the threshold still prints in full.
    expect(brief.stderr).toContain('warning [document/unpinned]');

    const verbose = await run(['check', file, '--verbose']);
    expect(verbose.stderr.match(/warning \[lint\/property-key\]/g)).toHaveLength(8);
    expect(verbose.stderr).not.toContain('summarised');

    const details = path.join(dir, 'diagnostics.txt');
    const written = await run(['check', file, '--diagnostics-file', details]);
    expect(written.stderr).toContain(`summarised by rule: each one is in ${details}`);
    expect(fs.readFileSync(details, 'utf8').match(/warning \[lint\/property-key\]/g)).toHaveLength(8);
  });
});

describe('init on a document that reads only by POST', () => {
  it('writes a spec listing the read-looking POSTs commented out with effect: read, and says why', async () => {
    const out = path.join(dir, 'ssm.yaml');
    const r = await run(['init', path.join(fixtures, 'all-post.json'), '--connector', 'ssm', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('the document reads by POST only');
    const text = fs.readFileSync(out, 'utf8');
    expect(text).toContain('# This document has no GET or HEAD operation: its reads are POSTs (5 in all).');
    expect(text).toContain('#   - operation: "POST /#X-Amz-Target=ParameterStore.DescribeParameters"');
    expect(text).toContain('#     name: ssm_describe_parameters');
    expect(text).toContain('#     effect: read');
    // Writes are never suggested.
    expect(text).not.toContain('PutParameter');
    expect(text).not.toContain('DeleteParameter');
    expect(text.match(/^#\s+- operation:/gm)).toHaveLength(3);

    // As written it selects nothing, and check says so.
    const empty = await run(['check', out]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('[select/no-tools]');
    // Uncommented without a reason: refused, naming the rule.
    const uncommented = text.replace(/^# (tools:)$/m, '$1').replace(/^# ( {2,}.*)$/gm, '$1');
    fs.writeFileSync(out, uncommented);
    const noReason = await run(['check', out]);
    expect(noReason.code).toBe(1);
    expect(noReason.stderr).toContain('[select/read-post-reason]');
    // With reasons, the author's vouching makes them tools.
    fs.writeFileSync(out, uncommented.replace(/reason: ""/g, 'reason: describes, changes nothing'));
    const ok = await run(['check', out]);
    expect(ok.stderr).not.toContain('error [');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('ssm, 3 tools');
  });

  it('still refuses a document with no GET, HEAD or POST at all', async () => {
    const doc = path.join(dir, 'deletes.yaml');
    fs.writeFileSync(doc, 'openapi: 3.0.3\ninfo: { title: Deletes, version: "1" }\npaths:\n  /x:\n    delete:\n      operationId: removeX\n      responses: { "204": { description: gone } }\n');
    const r = await run(['init', doc, '--out', path.join(dir, 'deletes-spec.yaml')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('has no read operation (GET or HEAD, or a POST that may read)');
  });
});
