/**
 * Argument validation against the tool's input schema. Validators are compiled once per tool
 * (lazily, keyed by the tool object) because compiling is far costlier than validating. Messages
 * name the argument and the rule so a model can correct its call.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { ToolModel } from '../model.ts';
import { ARGUMENTS, valueMessages } from '../config-load/ajv-messages.ts';

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
  return { ok: false, message: `Invalid arguments: ${valueMessages(validate.errors ?? [], ARGUMENTS)}` };
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
