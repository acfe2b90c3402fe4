/**
 * The spec's `prompts:` and `resources:` sections -> the model, checked against the connector's
 * own tools: a prompt or resource naming a tool that was not generated, a placeholder that is no
 * argument, or a URI template variable that is no argument of its tool, is an error at its place
 * in the spec.
 */
import type { ConnectorSpec } from './spec/types.ts';
import type { PromptModel, ResourceModel, ToolModel } from '../runtime/model.ts';

type Path = Array<string | number>;
type Report = (severity: 'error' | 'warning', path: Path, code: string, message: string, hint?: string) => void;

const PLACEHOLDER = /\{\{\s*([a-z][a-z0-9_]*)\s*\}\}/g;
/** RFC 6570 expressions: `{id}`, `{+path}`, `{?a,b}`; the variable names, without modifiers. */
const EXPRESSION = /\{([+#./;?&]?)([^}]+)\}/g;

export function templateVariables(template: string): string[] {
  const names: string[] = [];
  for (const m of template.matchAll(EXPRESSION)) for (const v of m[2].split(',')) names.push(v.replace(/[*]|:\d+$/g, '').trim());
  return names;
}

function toolNames(tools: ToolModel[]): string {
  return tools.map((t) => t.name).join(', ');
}

function argumentNames(tool: ToolModel): Set<string> {
  const schema = tool.inputSchema;
  const props = typeof schema === 'object' && schema !== null ? (schema as { properties?: Record<string, unknown> }).properties : undefined;
  return new Set(Object.keys(props ?? {}));
}

export function promptsOf(spec: ConnectorSpec, tools: ToolModel[], report: Report): PromptModel[] {
  const byName = new Map(tools.map((t) => [t.name, t]));
  const out: PromptModel[] = [];
  for (const [i, p] of (spec.prompts ?? []).entries()) {
    let ok = true;
    p.tools.forEach((name, j) => {
      if (!byName.has(name)) {
        ok = false;
        report('error', ['prompts', i, 'tools', j], 'prompt/unknown-tool', `prompt "${p.name}" uses tool "${name}", which this connector does not generate`, `tools: ${toolNames(tools)}`);
      }
    });
    const declared = new Set((p.arguments ?? []).map((a) => a.name));
    for (const m of p.text.matchAll(PLACEHOLDER)) {
      if (!declared.has(m[1])) {
        ok = false;
        report('error', ['prompts', i, 'text'], 'prompt/unknown-argument', `prompt "${p.name}" has placeholder {{${m[1]}}}, which is not one of its arguments`, 'declare it under arguments');
      }
    }
    if (!ok) continue;
    out.push({
      name: p.name,
      ...(p.title !== undefined && { title: p.title }),
      description: p.description,
      arguments: (p.arguments ?? []).map((a) => ({ name: a.name, ...(a.description !== undefined && { description: a.description }), required: a.required ?? false })),
      tools: [...p.tools],
      text: p.text,
    });
  }
  return out;
}

export function resourcesOf(spec: ConnectorSpec, tools: ToolModel[], report: Report): ResourceModel[] {
  const byName = new Map(tools.map((t) => [t.name, t]));
  const out: ResourceModel[] = [];
  for (const [i, r] of (spec.resources ?? []).entries()) {
    const tool = byName.get(r.tool);
    if (!tool) {
      report('error', ['resources', i, 'tool'], 'resource/unknown-tool', `resource "${r.name}" is backed by tool "${r.tool}", which this connector does not generate`, `tools: ${toolNames(tools)}`);
      continue;
    }
    const args = argumentNames(tool);
    let ok = true;
    for (const v of r.uriTemplate ? templateVariables(r.uriTemplate) : []) {
      if (!args.has(v)) {
        ok = false;
        report('error', ['resources', i, 'uriTemplate'], 'resource/unknown-variable', `resource "${r.name}": template variable {${v}} is not an argument of ${tool.name}`, `arguments: ${[...args].join(', ')}`);
      }
    }
    for (const k of Object.keys(r.arguments ?? {})) {
      if (!args.has(k)) {
        ok = false;
        report('error', ['resources', i, 'arguments', k], 'resource/unknown-argument', `resource "${r.name}": "${k}" is not an argument of ${tool.name}`, `arguments: ${[...args].join(', ')}`);
      }
    }
    if (!ok) continue;
    out.push({
      name: r.name,
      ...(r.title !== undefined && { title: r.title }),
      ...(r.description !== undefined && { description: r.description }),
      ...(r.uri !== undefined && { uri: r.uri }),
      ...(r.uriTemplate !== undefined && { uriTemplate: r.uriTemplate }),
      tool: r.tool,
      ...(r.arguments !== undefined && { arguments: r.arguments }),
    });
  }
  return out;
}
