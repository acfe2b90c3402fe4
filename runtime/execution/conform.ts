/**
 * The promise an outputSchema makes: clients validate structuredContent against it and reject
 * the whole result when it does not fit. Vendors' responses stray from their own documents, so
 * the runtime checks first; a result that does not fit becomes an isError result that still
 * carries the data as text, instead of a protocol failure the model cannot read.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import type { ToolModel } from '../model.ts';
import type { CallToolResult } from '../tool-call.ts';
import { RESULT, valueMessages } from '../config-load/ajv-messages.ts';

const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: false });
const compiled = new WeakMap<ToolModel, ValidateFunction | null>();

function validatorFor(tool: ToolModel): ValidateFunction | null {
  let v = compiled.get(tool);
  if (v === undefined) {
    try {
      v = ajv.compile(tool.outputSchema as object);
    } catch {
      v = null; // a schema ajv cannot compile is not enforced here; the generator's tests compile them all
    }
    compiled.set(tool, v);
  }
  return v;
}

export function conformResult(tool: ToolModel, result: CallToolResult): CallToolResult {
  if (result.isError || result.structuredContent === undefined) return result;
  const validate = validatorFor(tool);
  if (!validate || validate(result.structuredContent)) return result;
  const why = valueMessages(validate.errors ?? [], RESULT);
  return {
    content: [
      { type: 'text', text: `The vendor's response does not match the shape its documentation declares (${why}). The data as received follows; treat field meanings with care.` },
      ...result.content,
    ],
    isError: true,
  };
}
