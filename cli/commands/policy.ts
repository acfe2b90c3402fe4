import type { Command } from 'commander';
// Heavy modules load inside the action, so `--help` answers at once.
import fs from 'node:fs';
import path from 'node:path';
import { defaultGeneratedDir, defaultPoliciesDir } from '../../generator/paths.ts';
import { printDiagnostics } from '../report.ts';

const defaultDir = defaultPoliciesDir();

export function registerPolicy(program: Command): void {
  const policy = program.command('policy').description('policy files: run their tests, evaluate an input');

  policy
    .command('test')
    .description('run policy test cases (policies/tests/*.yaml, policies/*_test.yaml), like `opa test -v`, against the generated catalog: cases may name its tools, and a rule or case naming a tool, tag or sensitivity it lacks is an error')
    .argument('[dir]', 'policy folder', defaultDir)
    .option('--generated <dir>', 'folder of generated connectors (the catalog the policies are checked against)', defaultGeneratedDir)
    .action(async (dir: string, opts: { generated: string }) => {
      const { runPolicyTests, formatPolicyTestRun } = await import('../../runtime/policy/test-runner.ts');
      const { loadCatalog } = await import('../../runtime/catalog.ts');
      const policies = await loadOrReport(dir);
      if (!policies) return;
      const generated = path.resolve(opts.generated);
      if (!fs.existsSync(path.join(generated, 'index.ts'))) {
        throw new Error(`no generated catalog in ${generated}: run \`specgate generate\` first (policy tests run against the real catalog)`);
      }
      const catalog = await loadCatalog(generated);
      const run = runPolicyTests(dir, { policies, catalog: catalog.tools });
      process.stdout.write(formatPolicyTestRun(run));
      if (run.results.length === 0 && run.diagnostics.length === 0) process.stderr.write(`no policy tests found in ${dir}\n`);
      if (run.failed || run.diagnostics.length || run.results.length === 0) process.exitCode = 1;
    });

  policy
    .command('eval')
    .description('decide one input document and print the decision as JSON')
    .requiredOption('--input <file>', 'JSON (or YAML) file holding the input document')
    .option('--dir <dir>', 'policy folder', defaultDir)
    .option('--opa <url>', 'ask this OPA server instead of the local engine')
    .option('--opa-path <path>', 'document to query on the OPA server', 'specgate/msp/decision')
    .action(async (opts: { input: string; dir: string; opa?: string; opaPath: string }) => {
      const { parse } = await import('yaml');
      let input: unknown;
      try {
        input = parse(fs.readFileSync(opts.input, 'utf8'));
      } catch (e) {
        throw new Error(`cannot read input ${opts.input}: ${(e as Error).message.split('\n')[0]}`);
      }
      if (!input || typeof input !== 'object' || Array.isArray(input)) throw new Error(`input ${opts.input} must hold an object`);
      let decision;
      if (opts.opa) {
        const { createOpaHttpDecider } = await import('../../runtime/policy/opa-http.ts');
        decision = await createOpaHttpDecider({ url: opts.opa, path: opts.opaPath })(input as never);
      } else {
        const { decide } = await import('../../runtime/policy/decide.ts');
        const policies = await loadOrReport(opts.dir);
        if (!policies) return;
        decision = decide(policies, input as never);
      }
      process.stdout.write(`${JSON.stringify(decision, null, 2)}\n`);
    });
}

/** Policies loaded, or their diagnostics printed (file:line:col) and the exit code set. */
async function loadOrReport(dir: string) {
  const { loadPolicies, PolicyLoadError } = await import('../../runtime/policy/engine.ts');
  try {
    return loadPolicies(dir);
  } catch (e) {
    if (!(e instanceof PolicyLoadError)) throw e;
    printDiagnostics(e.diagnostics);
    process.exitCode = 1;
    return undefined;
  }
}
