import type { Command } from 'commander';
// Heavy modules load inside the action, so `--help` answers at once.
import path from 'node:path';

export function registerOps(program: Command): void {
  program
    .command('ops')
    .description("list a document's operations to pick from (method, path, operationId, tags, summary)")
    .argument('<document>', 'OpenAPI document: a path or an http(s) URL (Swagger 2.0, OpenAPI 3.0 or 3.1; YAML or JSON)')
    .option('--json', 'print JSON instead of a table')
    .option('--reads', 'only read operations (GET, HEAD)')
    .option('--tag <tag>', 'only operations with this tag')
    .action(async (document: string, opts: { json?: boolean; reads?: boolean; tag?: string }) => {
      const { loadDocument } = await import('../../generator/openapi/load.ts');
      const doc = await loadDocument(document, { baseDir: process.cwd() });
      let ops = doc.operations;
      if (opts.reads) ops = ops.filter((o) => o.method === 'GET' || o.method === 'HEAD');
      if (opts.tag) ops = ops.filter((o) => o.tags.includes(opts.tag!));
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(ops.map((o) => ({ method: o.method, path: o.path, operationId: o.operationId, derivedOperationId: o.derivedOperationId, tags: o.tags, summary: o.summary ?? null })), null, 2)}\n`);
        return;
      }
      const rows = ops.map((o) => [o.method, o.path, o.derivedOperationId ? `(${o.operationId})` : o.operationId, o.tags.join(','), (o.summary ?? '').replace(/\s+/g, ' ').slice(0, 80)]);
      const widths = [0, 1, 2, 3].map((i) => Math.min(60, Math.max(...rows.map((r) => r[i].length), 4)));
      const line = (r: string[]) => r.map((c, i) => (i < 4 ? c.padEnd(widths[i]) : c)).join('  ').trimEnd();
      process.stdout.write(`${line(['METHOD', 'PATH', 'OPERATION ID', 'TAGS', 'SUMMARY'])}\n`);
      for (const r of rows) process.stdout.write(`${line(r)}\n`);
      process.stderr.write(`${ops.length} operations in ${path.basename(document)} (OpenAPI ${doc.originalVersion}); operation ids in parentheses are derived: the document has none\n`);
      for (const n of doc.notes) process.stderr.write(`note [${n.code}]: ${n.message}\n`);
    });
}
