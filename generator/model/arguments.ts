/**
 * The model's arguments for the vendor parameters: each parameter is bound to the customer, to a
 * paging role, to a fixed value, hidden, or becomes an argument under a client-safe name (mapped
 * back to the vendor name on each call).
 */
import type { JsonSchema, ParameterBinding } from '../../runtime/model.ts';
import type { ParameterInfo } from '../openapi/types.ts';
import type { ParameterOverride } from '../spec/types.ts';
import type { SchemaConverter } from '../schema/json-schema.ts';
import type { ParameterCustomer } from '../scope.ts';
import type { PagingRole } from './pagination.ts';
import { argumentName, PROPERTY_KEY_RE } from './naming.ts';
import { asObject, clean } from './text.ts';
import { issueList, type Issue, type Path } from './issues.ts';

export interface ToolArguments {
  /** Argument name -> its input schema, in the operation's parameter order. */
  properties: Record<string, JsonSchema>;
  required: string[];
  bindings: ParameterBinding[];
  /** Argument name -> vendor name, where a derived name differs. */
  keyMapping: Record<string, string>;
  /** Every argument name taken so far, including the paging arguments. */
  taken: Set<string>;
}

export interface ArgumentInputs {
  params: readonly ParameterInfo[];
  /** The spec's override of each parameter that has one. */
  overrides: ReadonlyMap<string, ParameterOverride>;
  customerOf: ReadonlyMap<string, ParameterCustomer>;
  roles: ReadonlyMap<string, PagingRole>;
  paginated: boolean;
  /** Converts vendor schemas for input; collects the $defs that parameters and body share. */
  converter: SchemaConverter;
  at: Path;
}

export function toolArguments({ params, overrides, customerOf, roles, paginated, converter, at }: ArgumentInputs): ToolArguments & { issues: Issue[] } {
  const { issues, error, warning } = issueList();
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  const bindings: ParameterBinding[] = [];
  const taken = new Set<string>(paginated ? ['limit', 'cursor'] : []);
  const keyMapping: Record<string, string> = {};

  for (const p of params) {
    const o = overrides.get(p.name) ?? {};
    const base: ParameterBinding = { name: p.name, in: p.in, argument: null, required: p.required };
    if (p.style) base.style = p.style;
    if (p.explode !== undefined) base.explode = p.explode;
    const c = customerOf.get(p.name);
    if (c) {
      bindings.push({
        ...base, customer: true,
        ...(c.template !== undefined && { customerTemplate: c.template }),
        ...(c.id !== undefined && { customerId: c.id }),
      });
      continue;
    }
    const role = roles.get(p.name);
    if (role) {
      bindings.push({ ...base, pagination: role });
      continue;
    }
    if (o.fixed !== undefined || (o.hide && o.default !== undefined)) {
      bindings.push({ ...base, fixed: o.fixed !== undefined ? o.fixed : o.default });
      continue;
    }
    if (o.hide) {
      if (p.required) {
        error([...at, 'parameters', p.name, 'hide'], 'tool/hide-required', `parameter "${p.name}" is required and cannot be hidden without a value`,
          'add `fixed:` (always sent) or `default:` to hide it');
      }
      continue; // hidden and unset: never sent
    }
    let arg = o.rename ?? argumentName(p.name);
    if (taken.has(arg)) arg = argumentName(`${p.in}_${p.name}`);
    for (let n = 2; taken.has(arg); n++) arg = `${argumentName(p.name)}_${n}`;
    taken.add(arg);
    if (o.rename && !PROPERTY_KEY_RE.test(o.rename)) {
      warning([...at, 'parameters', p.name, 'rename'], 'lint/property-key', `argument name "${o.rename}" is outside ^[a-zA-Z0-9_.-]{1,64}$`, 'some clients reject it');
    } else if (!o.rename && arg !== p.name) {
      keyMapping[arg] = p.name;
      warning(at, 'lint/property-key', `parameter "${p.name}" becomes argument "${arg}" (clients reject keys outside ^[a-zA-Z0-9_.-]{1,64}$)`,
        'mapped back to the vendor name on each call; set `rename:` to choose the name');
    }
    const schema: Record<string, unknown> = { ...(asObject(converter.convert(p.schema))) };
    const description = o.description ?? p.description;
    if (description) schema.description = clean(description, 300);
    if (o.default !== undefined) schema.default = o.default;
    properties[arg] = schema;
    const binding: ParameterBinding = { ...base, argument: arg };
    if (o.default !== undefined) binding.default = o.default;
    bindings.push(binding);
    if (p.required && o.default === undefined) required.push(arg);
  }
  return { properties, required, bindings, keyMapping, taken, issues };
}
