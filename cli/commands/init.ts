import type { Command } from 'commander';
// Heavy modules load inside the action, so `--help` answers at once.
import fs from 'node:fs';
import path from 'node:path';
import { defaultSpecsDir } from '../../generator/paths.ts';

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('scaffold a connector spec from an OpenAPI document')
    .argument('<document>', 'OpenAPI document: a path or an http(s) URL')
    .option('--all-reads', 'select every read operation (GET, HEAD) in bulk instead of listing each one')
    .option('--out <spec.yaml>', 'where to write the spec (default: specs/<connector>.yaml)')
    .option('--connector <name>', 'connector name (default: from the document file name)')
    .option('--force', 'overwrite an existing spec file')
    .action(async (document: string, opts: { allReads?: boolean; out?: string; connector?: string; force?: boolean }) => {
      const { loadDocument } = await import('../../generator/openapi/load.ts');
      const { connectorNameFor, scaffoldSpec } = await import('../../generator/scaffold.ts');
      const doc = await loadDocument(document, { baseDir: process.cwd() });
      const connector = opts.connector ?? connectorNameFor(doc, document);
      const out = path.resolve(opts.out ?? path.join(defaultSpecsDir, `${connector}.yaml`));
      if (fs.existsSync(out) && !opts.force) throw new Error(`${out} exists; pass --force to overwrite it`);
      const text = scaffoldSpec(doc, { specFile: out, source: document, allReads: !!opts.allReads, connector });
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(out, text);
      process.stderr.write(`wrote ${path.relative(process.cwd(), out)}: connector "${connector}" from ${doc.operations.length} operations (OpenAPI ${doc.originalVersion})\n`);
      const reads = doc.operations.filter((o) => o.method === 'GET' || o.method === 'HEAD');
      const { isLargeConnector } = await import('../../generator/emit/large.ts');
      if (opts.allReads && isLargeConnector(reads.length)) {
        const byTag = new Map<string, number>();
        for (const o of reads) for (const t of o.tags.length ? o.tags : ['(untagged)']) byTag.set(t, (byTag.get(t) ?? 0) + 1);
        const biggest = [...byTag].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 8).map(([t, n]) => `${t} (${n})`).join(', ');
        process.stderr.write(`${reads.length} reads make a large connector: no typed client, no mock upstream (docs/spec-reference.md, "Large and unusual documents"); `
          + `to select fewer, pick by tag (\`select: [{ tags: [...] }]\`), the biggest: ${biggest}\n`);
      }
      if (reads.length === 0) {
        process.stderr.write('the document reads by POST only: the spec lists the POSTs that look like reads, commented out; uncomment each one that only reads and give it a `reason:` (`effect: read` is the author vouching that it changes nothing)\n');
      }
      process.stderr.write(`next: specgate check ${path.relative(process.cwd(), out)} && specgate generate ${path.relative(process.cwd(), out)}\n`);
    });
}
