/**
 * Argument validation against the tool's input schema. Validators are compiled once per tool
 * (lazily, keyed by the tool object) because compiling is far costlier than validating. Messages
 * name the argument and the rule so a model can correct its call.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { ToolModel } from '../model.ts';

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv2020) => void;

const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
addFormats(ajv);

const compiled = new WeakMap<ToolModel, ValidateFunction | Error>();

export type Validation = { ok: true } | { ok: false; message: string };

export function validateArguments(tool: ToolModel, args: unknown): Validation {
  if (args === null || typeof args !== 'object' || Array.isArray(args)) {
    return { ok: false, message: 'Invalid arguments: expected an object of named arguments' };
  }
  const bound = customerBound(tool, args as Record<string, unknown>);
  if (bound) return { ok: false, message: `Invalid arguments: "${bound}" is bound to the caller's customer and cannot be set` };

  const validate = validatorFor(tool);
  if (validate instanceof Error) {
    return { ok: false, message: `This tool's input schema is broken (${validate.message}); report it to the connector author` };
  }
  if (validate(args)) return { ok: true };
  const messages = [...new Set((validate.errors ?? []).map(describe))];
  return { ok: false, message: `Invalid arguments: ${messages.join('; ')}` };
}

function validatorFor(tool: ToolModel): ValidateFunction | Error {
  let v = compiled.get(tool);
  if (!v) {
    try {
      v = ajv.compile(tool.inputSchema as object);
    } catch (err) {
      v = err instanceof Error ? err : new Error(String(err));
    }
    compiled.set(tool, v);
  }
  return v;
}

/** An argument named like a customer-bound vendor parameter, which only the runtime sets. */
function customerBound(tool: ToolModel, args: Record<string, unknown>): string | undefined {
  const names = new Set(tool.customerParameters);
  for (const b of tool.parameters) if (b.customer) names.add(b.name);
  return Object.keys(args).find((k) => names.has(k));
}

function describe(e: ErrorObject): string {
  const where = argumentPath(e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return where ? `missing required property "${String(p.missingProperty)}" in ${where}` : `missing required argument "${String(p.missingProperty)}"`;
    case 'additionalProperties':
      return where ? `unknown property "${String(p.additionalProperty)}" in ${where}` : `unknown argument "${String(p.additionalProperty)}"`;
    case 'maximum':
    case 'minimum':
    case 'exclusiveMaximum':
    case 'exclusiveMinimum':
      return `${where || 'arguments'} must be ${String(p.comparison)} ${String(p.limit)} (${e.keyword})`;
    case 'maxLength':
    case 'minLength':
    case 'maxItems':
    case 'minItems':
      return `${where || 'arguments'} must have at ${e.keyword.startsWith('max') ? 'most' : 'least'} ${String(p.limit)} ${e.keyword.endsWith('Length') ? 'characters' : 'items'} (${e.keyword})`;
    case 'type':
      return `${where || 'arguments'} must be ${String(p.type)} (type)`;
    case 'enum':
      return `${where || 'arguments'} must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')} (enum)`;
    case 'format':
      return `${where || 'arguments'} must be a valid ${String(p.format)} (format)`;
    case 'pattern':
      return `${where || 'arguments'} must match ${String(p.pattern)} (pattern)`;
    default:
      return `${where || 'arguments'} ${e.message ?? 'is invalid'} (${e.keyword})`;
  }
}

/** `/page_size` -> `"page_size"`, `/filter/0/name` -> `"filter[0].name"`. */
function argumentPath(instancePath: string): string {
  if (!instancePath) return '';
  const parts = instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const [head, ...rest] = parts;
  return `"${head}${rest.map((r) => (/^\d+$/.test(r) ? `[${r}]` : `.${r}`)).join('')}"`;
}
