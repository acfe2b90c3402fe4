/**
 * Policy files -> a compiled policy set. Every CEL condition is parsed and type-checked once, at
 * load time, so a typo fails the load with file:line:col instead of surfacing on some later call.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Environment } from '@marcbachmann/cel-js';
import type { Diagnostic, SourcePosition } from '../config-load/diagnostics.ts';
import { readYamlSource } from '../config-load/yaml-source.ts';
import { parseYaml, yamlErrorLine } from '../config-load/yaml.ts';
import type { Effect, Obligations } from './types.ts';
import policySchema from './policy.schema.json' with { type: 'json' };

/** A condition compiled once; called with the evaluation context (`input`, `data`, `now`). */
export type Condition = (context: { input: unknown; data: unknown; now: Date }) => unknown;

export interface CompiledRule {
  /** `<package>/<id>`: what decisions cite as a reason. */
  ref: string;
  effect: Effect;
  when: string;
  condition: Condition;
  message?: string;
  obligations?: Partial<Obligations>;
  /** Where the rule is written, for messages: file:line:col. */
  source: string;
  /** Where character `offset` of the condition is written. */
  positionOf?: (offset: number) => SourcePosition;
}

export interface CompiledPackage {
  name: string;
  file: string;
  default: Effect;
  obligations?: Partial<Obligations>;
  rules: CompiledRule[];
}

export interface PolicySet {
  packages: CompiledPackage[];
  /** `data.<name>`: one entry per data document. */
  data: Record<string, unknown>;
}

interface PolicyFile {
  package: string;
  description?: string;
  default?: Effect;
  obligations?: Partial<Obligations>;
  rules: Array<{ id: string; effect: Effect; when: string; message?: string; obligations?: Partial<Obligations> }>;
}

export class PolicyLoadError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}`).join('\n'));
    this.name = 'PolicyLoadError';
  }
}

/** The variables a condition may use; anything else is an "Unknown variable" compile error. */
export function celEnvironment(): Environment {
  return new Environment()
    .registerVariable('input', 'map')
    .registerVariable('data', 'map')
    .registerVariable('now', 'google.protobuf.Timestamp');
}

const POLICY_FILE = /\.ya?ml$/;
const isTestFile = (name: string) => /_test\.ya?ml$/.test(name);

/** Policy files of a folder: `*.yaml` except `*_test.yaml`; data in `data/`, tests elsewhere. */
export function policyFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => POLICY_FILE.test(n) && !isTestFile(n)).sort().map((n) => path.join(dir, n));
}

/** Data documents of a folder's `data/` subfolder, each as `data.<file name without extension>`. */
export function loadDataDocuments(dir: string): Record<string, unknown> {
  const dataDir = path.join(dir, 'data');
  const data: Record<string, unknown> = {};
  if (!fs.existsSync(dataDir)) return data;
  const diagnostics: Diagnostic[] = [];
  for (const name of fs.readdirSync(dataDir).filter((n) => /\.(ya?ml|json)$/.test(n)).sort()) {
    const file = path.join(dataDir, name);
    const key = name.replace(/\.(ya?ml|json)$/, '');
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      diagnostics.push({ file, line: 1, column: 1, severity: 'error', code: 'policy/data', message: `data document name "${key}" is not a CEL identifier (use letters, digits, _)` });
      continue;
    }
    const yaml = parseYaml(file, fs.readFileSync(file, 'utf8'));
    const error = yaml.doc.errors[0];
    if (error) {
      diagnostics.push({ ...yaml.at(error.pos[0]), severity: 'error', code: 'policy/data', message: yamlErrorLine(error.message) });
      continue;
    }
    try {
      data[key] = yaml.doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      diagnostics.push({ ...yaml.at(0), severity: 'error', code: 'policy/data', message: (e as Error).message });
    }
  }
  if (diagnostics.length) throw new PolicyLoadError(diagnostics);
  return data;
}

/** Compile one policy file's text; diagnostics instead of a package when anything is wrong. */
export function compilePolicy(file: string, text: string, env = celEnvironment()): { pkg?: CompiledPackage; diagnostics: Diagnostic[] } {
  const src = readYamlSource<PolicyFile>(file, text, policySchema, 'policy');
  if (!src.data) return { diagnostics: src.diagnostics };
  const doc = src.data;
  const diagnostics: Diagnostic[] = [];
  const rules: CompiledRule[] = [];
  const seen = new Set<string>();
  doc.rules.forEach((rule, i) => {
    const pos = src.positionOf(['rules', i]);
    if (seen.has(rule.id)) {
      diagnostics.push({ ...src.positionOf(['rules', i, 'id']), severity: 'error', code: 'policy/duplicate-rule', message: `rule id "${rule.id}" is used twice in package ${doc.package}` });
    }
    seen.add(rule.id);
    const fail = (message: string, offset: number) =>
      diagnostics.push({ ...src.positionOf(['rules', i, 'when'], offset), severity: 'error', code: 'policy/cel', message: `rule "${rule.id}": ${message}` });
    let condition: Condition;
    try {
      condition = env.parse(rule.when) as unknown as Condition;
    } catch (e) {
      fail(celMessage(e), celOffset(e));
      return;
    }
    const check = env.check(rule.when);
    if (!check.valid) {
      fail(celMessage(check.error), celOffset(check.error));
      return;
    }
    if (check.type !== 'bool' && check.type !== 'dyn') {
      fail(`condition must be a bool, this one is ${String(check.type)}`, 0);
      return;
    }
    rules.push({
      ref: `${doc.package}/${rule.id}`, effect: rule.effect, when: rule.when, condition,
      message: rule.message, obligations: rule.obligations,
      source: `${path.relative(process.cwd(), file) || file}:${pos.line}:${pos.column}`,
      positionOf: (offset) => src.positionOf(['rules', i, 'when'], offset),
    });
  });
  if (diagnostics.length) return { diagnostics };
  return { pkg: { name: doc.package, file, default: doc.default ?? 'deny', obligations: doc.obligations, rules }, diagnostics };
}

/** Load a policy folder: every policy file compiled, every data document read; throws PolicyLoadError. */
export function loadPolicies(dir: string): PolicySet {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`policy folder not found: ${dir}`);
  const env = celEnvironment();
  const diagnostics: Diagnostic[] = [];
  const packages: CompiledPackage[] = [];
  for (const file of policyFiles(dir)) {
    const { pkg, diagnostics: d } = compilePolicy(file, fs.readFileSync(file, 'utf8'), env);
    diagnostics.push(...d);
    if (pkg) packages.push(pkg);
  }
  const names = new Map<string, string>();
  for (const p of packages) {
    const other = names.get(p.name);
    if (other) diagnostics.push({ file: p.file, line: 1, column: 1, severity: 'error', code: 'policy/duplicate-package', message: `package ${p.name} is also declared in ${other}` });
    names.set(p.name, p.file);
  }
  if (diagnostics.length) throw new PolicyLoadError(diagnostics);
  if (packages.length === 0) throw new Error(`no policy files in ${dir}`);
  return { packages, data: loadDataDocuments(dir) };
}

function celMessage(e: unknown): string {
  // cel-js appends a source excerpt with a caret; our position replaces it.
  return ((e as Error | undefined)?.message ?? 'invalid expression').split('\n')[0];
}

function celOffset(e: unknown): number {
  const pos = (e as { node?: { pos?: number } } | undefined)?.node?.pos;
  return typeof pos === 'number' ? pos : 0;
}
