/**
 * `specgate policy test`: like `opa test`, each case is an input and the decision expected for it,
 * run against the real engine over the real policy folder (policies, data documents and all).
 *
 * With the generated catalog, a case names a real tool (`tool: hudu_list_passwords`) and its input
 * is built from the tool's model exactly as a call's would be; a tool object with a `name` takes the
 * catalog tool as its base (its other fields override, to ask "what if"). A rule or case naming a
 * tool, tag or sensitivity that no catalog tool has is an error at its file:line:column.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Diagnostic } from '../config-load/diagnostics.ts';
import { decide, type DecideOptions } from './decide.ts';
import { loadPolicies, type PolicySet } from './engine.ts';
import { readYamlSource } from '../config-load/yaml-source.ts';
import type { Decision, Effect, PolicyInput } from './types.ts';
import type { ToolModel } from '../model.ts';
import { policyTool } from '../governance/policy.ts';
import { catalogVocabulary, checkPoliciesAgainstCatalog, unknownInCatalog, type CatalogVocabulary } from './catalog-check.ts';
import testSchema from './policy-test.schema.json' with { type: 'json' };

interface TestFile {
  base?: Record<string, unknown>;
  tests: Array<{
    name: string;
    input: Record<string, unknown>;
    expect: { effect: Effect; reasons?: string[]; obligations?: { redact?: string[]; maxItems?: number | null } };
  }>;
}

export interface PolicyTestResult {
  file: string;
  line: number;
  name: string;
  passed: boolean;
  /** What differed from the expectation, one line each; empty when passed. */
  failures: string[];
  decision?: Decision;
}

export interface PolicyTestRun {
  results: PolicyTestResult[];
  passed: number;
  failed: number;
  /** Test files that could not be read (their cases did not run): these fail the run too. */
  diagnostics: Diagnostic[];
}

/** Test files of a policy folder: `*_test.yaml` beside the policies and everything in `tests/`. */
export function policyTestFiles(dir: string): string[] {
  const beside = fs.readdirSync(dir).filter((n) => /_test\.ya?ml$/.test(n)).map((n) => path.join(dir, n));
  const testsDir = path.join(dir, 'tests');
  const inTests = fs.existsSync(testsDir) ? fs.readdirSync(testsDir).filter((n) => /\.ya?ml$/.test(n)).map((n) => path.join(testsDir, n)) : [];
  return [...beside, ...inTests].sort();
}

export interface PolicyTestOptions extends Pick<DecideOptions, 'onDecision'> {
  policies?: PolicySet;
  files?: string[];
  /** The generated catalog's tools: rules and cases are checked against it, and cases may name its tools. */
  catalog?: ToolModel[];
}

export function runPolicyTests(dir: string, options: PolicyTestOptions = {}): PolicyTestRun {
  const policies = options.policies ?? loadPolicies(dir);
  const results: PolicyTestResult[] = [];
  const diagnostics: Diagnostic[] = [];
  const catalog = options.catalog && { byName: new Map(options.catalog.map((t) => [t.name, t])), vocabulary: catalogVocabulary(options.catalog) };
  if (catalog) diagnostics.push(...checkPoliciesAgainstCatalog(policies, catalog.vocabulary));
  for (const file of options.files ?? policyTestFiles(dir)) {
    const src = readYamlSource<TestFile>(file, fs.readFileSync(file, 'utf8'), testSchema, 'policy-test');
    diagnostics.push(...src.diagnostics);
    if (!src.data) continue;
    src.data.tests.forEach((t, i) => {
      const line = src.positionOf(['tests', i]).line;
      const merged = deepMerge(src.data!.base ?? {}, t.input) as Record<string, unknown>;
      // The tool came from the case, or else from the base: that is where an error points.
      const toolAt = src.positionOf(isPlainObject(t.input) && 'tool' in t.input ? ['tests', i, 'input', 'tool'] : ['base', 'tool']);
      const resolved = resolveTool(merged, catalog);
      if ('error' in resolved) {
        diagnostics.push({ ...toolAt, severity: 'error', code: 'policy-test/catalog', message: `test "${t.name}": ${resolved.error}` });
        return;
      }
      const input = resolved.input;
      let decision: Decision;
      try {
        decision = decide(policies, input, { onDecision: options.onDecision });
      } catch (e) {
        results.push({ file, line, name: t.name, passed: false, failures: [`input rejected: ${(e as Error).message}`] });
        return;
      }
      const failures = compare(decision, t.expect);
      results.push({ file, line, name: t.name, passed: failures.length === 0, failures, decision });
    });
  }
  const failed = results.filter((r) => !r.passed).length;
  return { results, passed: results.length - failed, failed, diagnostics };
}

/** The case's input with its tool taken from the catalog; an error when it names what the catalog lacks. */
function resolveTool(
  input: Record<string, unknown>, catalog: { byName: Map<string, ToolModel>; vocabulary: CatalogVocabulary } | undefined,
): { input: PolicyInput } | { error: string } {
  const tool = input.tool;
  const name = typeof tool === 'string' ? tool : isPlainObject(tool) && typeof tool.name === 'string' ? tool.name : undefined;
  if (!catalog) {
    if (typeof tool === 'string') return { error: `tool "${tool}" names a catalog tool, but no catalog was given (run \`specgate generate\` first)` };
    return { input: input as unknown as PolicyInput };
  }
  const explicit = isPlainObject(tool) ? tool : {};
  for (const [field, values] of [['tags', explicit.tags], ['sensitivity', explicit.sensitivity]] as const) {
    for (const v of Array.isArray(values) ? values : values === undefined ? [] : [values]) {
      const why = unknownInCatalog(catalog.vocabulary, field, String(v));
      if (why) return { error: `tool.${field}: ${why}` };
    }
  }
  if (name === undefined) return { input: input as unknown as PolicyInput };
  const model = catalog.byName.get(name);
  if (!model) return { error: `tool: ${unknownInCatalog(catalog.vocabulary, 'name', name)}` };
  return { input: { ...input, connector: model.connector, tool: { ...policyTool(model), ...explicit } } as unknown as PolicyInput };
}

function compare(d: Decision, expect: TestFile['tests'][number]['expect']): string[] {
  const out: string[] = [];
  if (d.effect !== expect.effect) out.push(`effect: expected ${expect.effect}, got ${d.effect}`);
  for (const want of expect.reasons ?? []) {
    const found = d.reasons.some((r) => r.rule === want || r.rule.endsWith(`/${want}`));
    if (!found) out.push(`reasons: expected ${want} among [${d.reasons.map((r) => r.rule).join(', ')}]`);
  }
  const ob = expect.obligations;
  if (ob?.redact) {
    const want = [...new Set(ob.redact)].sort().join(', ');
    const got = d.obligations.redact.join(', ');
    if (want !== got) out.push(`obligations.redact: expected [${want}], got [${got}]`);
  }
  if (ob && 'maxItems' in ob) {
    const want = ob.maxItems ?? undefined;
    if (want !== d.obligations.maxItems) out.push(`obligations.maxItems: expected ${want ?? 'none'}, got ${d.obligations.maxItems ?? 'none'}`);
  }
  for (const e of d.errors) out.push(`condition error in ${e.rule}: ${e.message}`);
  return out;
}

/** Objects merge key by key; anything else (arrays included) in `over` replaces `base`. */
function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `opa test -v` style: one line per case, then what went wrong, then a summary. */
export function formatPolicyTestRun(run: PolicyTestRun, cwd = process.cwd()): string {
  const lines: string[] = [];
  for (const d of run.diagnostics) lines.push(`ERROR ${path.relative(cwd, d.file)}:${d.line}:${d.column}: ${d.message}`);
  for (const r of run.results) {
    const where = `${path.relative(cwd, r.file)}:${r.line}`;
    const decided = r.decision ? ` -> ${r.decision.effect} (${r.decision.reasons.map((x) => x.rule).join(', ')})` : '';
    lines.push(`${r.passed ? 'PASS' : 'FAIL'} ${where} ${r.name}${decided}`);
    for (const f of r.failures) lines.push(`     ${f}`);
  }
  const errs = run.diagnostics.length ? `, ${run.diagnostics.length} unreadable test file error(s)` : '';
  lines.push('-'.repeat(40), `PASS: ${run.passed}/${run.results.length}${run.failed ? `  FAIL: ${run.failed}/${run.results.length}` : ''}${errs}`);
  return `${lines.join('\n')}\n`;
}
