import type { Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { defaultDocsDir } from '../../generator/paths.ts';
import { resolveSpecFiles } from '../specs.ts';
import { printDiagnostics } from '../report.ts';

export function registerDocs(program: Command): void {
  program
    .command('docs')
    .description('write the catalog page (docs/catalog.md): tools, what they return, token costs, document versions')
    .argument('[specs...]', 'spec files or folders (default: specs/)')
    .option('--out <file>', 'where to write it', path.join(defaultDocsDir, 'catalog.md'))
    .option('--check', 'write nothing; fail when the page is stale')
    .action(async (args: string[], opts: { out: string; check?: boolean }) => {
      // Heavy modules load inside the action, so `--help` answers at once.
      const { buildConnector } = await import('../../generator/pipeline.ts');
      const { renderCatalogPage } = await import('../../generator/catalog-page.ts');
      const models = [];
      for (const file of resolveSpecFiles(args)) {
        const { build, diagnostics } = await buildConnector(file);
        if (!build) {
          printDiagnostics(diagnostics);
          throw new Error(`${path.relative(process.cwd(), file)} does not build`);
        }
        models.push(build.model);
      }
      const outDir = path.dirname(path.resolve(opts.out));
      const links: Record<string, string> = {};
      for (const m of models) {
        const note = path.join(defaultDocsDir, 'connectors', `${m.name}.md`);
        if (fs.existsSync(note)) links[m.name] = path.relative(outDir, note).split(path.sep).join('/');
      }
      const page = renderCatalogPage(models, links);
      const current = fs.existsSync(opts.out) ? fs.readFileSync(opts.out, 'utf8') : undefined;
      if (opts.check) {
        if (current !== page) {
          process.stderr.write(`${path.relative(process.cwd(), opts.out)} is stale: run \`specgate docs\`\n`);
          process.exitCode = 1;
        }
        return;
      }
      if (current !== page) fs.writeFileSync(opts.out, page);
      process.stderr.write(`${path.relative(process.cwd(), opts.out)}: ${models.length} connector(s), ${models.reduce((n, m) => n + m.tools.length, 0)} tools\n`);
    });
}
