/**
 * Selected operations -> the tool model (runtime/model.ts), plain data that the emitter writes
 * out and the runtime serves. Every decision the runtime must enforce (fixed values, customer
 * binding, pagination roles, the allow-list) is made here, once, at build time.
 */
import { compile as compileJmespath } from '@jmespath-community/jmespath';
import type {
  AllowedRequest, ConnectorModel, JsonSchema, Pagination, ParameterBinding, Sensitivity, Shape, ToolModel,
} from '../runtime/model.ts';
import type { Diagnostic, LoadedSpec, PaginationSpec, ParameterOverride, ResponseShape, ToolSpec } from './spec/types.ts';
import { ALL_PARAMETERS } from './spec/types.ts';
import type { LoadedDocument, OperationInfo, ParameterInfo } from './openapi/types.ts';
import type { SelectResult, Selection } from './select.ts';
import { looksLikeWrite, suggest } from './select.ts';
import { SchemaConverter } from './schema/json-schema.ts';
import { projectSchema } from './schema/project-schema.ts';
import { definitionTokens } from './tokens.ts';
import {
  bodyCustomerFields, checkNamedId, checkOwnerParent, checkTemplate, customerReferenceFields, isTenantScoped, ownerParentOf, ownershipOf, parameterCustomer, scopeOf,
} from './scope.ts';
import { promptsOf, resourcesOf } from './prompts-resources.ts';
import { authModel, checkAuth, credentialHeaders } from './auth.ts';
import { hasCustomerToken } from '../runtime/credentials/customer-token.ts';
import { assignToolNames, MAX_TOOL_NAME, operationIdName, withCounter } from './naming.ts';

export const TOOL_NAME_RE = /^[a-zA-Z0-9_-]{1,64}$/;
export const PROPERTY_KEY_RE = /^[a-zA-Z0-9_.-]{1,64}$/;
export const DEFAULT_MAX_DEFINITION_TOKENS = 1500;
const MAX_DESCRIPTION = 1024;
const OUTPUT_MAX_DEFS = 12;

/** Headers that HTTP or the credential broker owns; OpenAPI itself says to ignore the first three. */
export const RESERVED_HEADERS = new Set(['accept', 'content-type', 'authorization']);

type Path = Array<string | number>;

export interface BuildResult {
  model: ConnectorModel;
  diagnostics: Diagnostic[];
}

/** Carried only when the tool has one, so tools without it keep their model unchanged. */
function sensitivityOf(s: Sensitivity | 'none' | undefined): { sensitivity?: Sensitivity } {
  return s === undefined || s === 'none' ? {} : { sensitivity: s };
}

export function buildModel(loaded: LoadedSpec, doc: LoadedDocument, selection: SelectResult): BuildResult {
  const { spec } = loaded;
  const diagnostics: Diagnostic[] = [];
  const ignored = new Set(spec.lint?.ignore ?? []);
  const report = (severity: Diagnostic['severity'], path: Path, code: string, message: string, hint?: string) => {
    if (severity === 'warning' && ignored.has(code)) return;
    diagnostics.push({ severity, code, message, hint, ...loaded.positionOf(path) });
  };

  const auth = authModel(doc, spec.auth);
  checkAuth(auth, report);
  const credentialParams = credentialHeaders(auth);
  // Every call of such a connector carries one customer's token, so every tool is that customer's.
  const customerToken = hasCustomerToken(auth);

  const usedNames = new Set<string>();
  const explicitNames = new Set((spec.tools ?? []).map((t) => t.name).filter(Boolean) as string[]);
  const defaultNames = assignToolNames(spec.connector, selection.selections.filter((s) => !s.tool?.name).map((s) => s.op), explicitNames);
  const tools: ToolModel[] = [];
  for (const sel of selection.selections) {
    const tool = buildTool(sel);
    if (tool) tools.push(tool);
  }
  tools.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  // A customer binding that binds nothing is a spec mistake the runtime could never catch: a
  // misspelt name would leave the parameter to the model.
  if (spec.customer) {
    for (const [i, p] of (spec.customer.parameters ?? []).entries()) {
      if (!tools.some((t) => t.parameters.some((b) => b.customer && b.name === p))) {
        report('error', ['customer', 'parameters', i], 'customer/unused', `customer parameter "${p}" is on no selected tool`,
          'check the name against `specgate ops`; a tool without it is not scoped to a customer');
      }
    }
  }

  for (const sel of selection.selections) {
    const tool = tools.find((t) => t.operation.operationId === sel.op.operationId && t.operation.path === sel.op.path);
    if (!tool?.ownerParent) continue;
    const problem = checkOwnerParent(tool, tools);
    if (problem) report('error', [...sel.specPath, 'owner', 'parent'], 'owner/parent', problem);
  }

  const allow = new Map<string, AllowedRequest>();
  for (const t of tools) allow.set(`${t.operation.method} ${t.operation.path}`, { method: t.operation.method, path: t.operation.path });
  const allowList = [...allow.keys()].sort().map((k) => allow.get(k)!);

  const prompts = promptsOf(spec, tools, report);
  const resources = resourcesOf(spec, tools, report);
  const info = doc.document.info ?? {};
  const model: ConnectorModel = {
    name: spec.connector,
    title: spec.title ?? String(info.title ?? spec.connector),
    ...(spec.description ? { description: spec.description } : {}),
    document: {
      source: spec.document.source,
      sha256: doc.sha256,
      version: String(info.version ?? ''),
      openapi: doc.originalVersion,
    },
    servers: spec.server ? [spec.server] : (doc.document.servers ?? []).map((s) => s.url).filter(Boolean),
    auth,
    ...(spec.customer ? { customer: { ...(spec.customer.description && { description: spec.customer.description }), ...(spec.customer.ids?.length && { ids: spec.customer.ids }) } } : {}),
    tools,
    allowList,
    ...(prompts.length ? { prompts } : {}),
    ...(resources.length ? { resources } : {}),
  };
  return { model, diagnostics };

  function buildTool(sel: Selection): ToolModel | null {
    const { op, tool: ts } = sel;
    const at = sel.specPath;
    const t: ToolSpec | undefined = ts;
    let failed = false;
    const fail = (path: Path, code: string, message: string, hint?: string) => {
      failed = true;
      report('error', path, code, message, hint);
    };

    const name = uniqueName(t?.name ?? defaultNames.get(`${op.method} ${op.path}`)!);
    if (!TOOL_NAME_RE.test(name)) {
      report('warning', t?.name ? [...at, 'name'] : at, 'lint/tool-name',
        `tool name "${name}" ${name.length > 64 ? `is ${name.length} characters (clients allow 64)` : 'has characters outside ^[a-zA-Z0-9_-]+$'}`,
        'some clients reject such names; set a shorter `name:`');
    }
    const write = looksLikeWrite(op);
    if (write) {
      report('warning', at, 'lint/get-looks-like-write', `${op.method} ${op.path} looks like a write ("${write}")`,
        'check the vendor documentation: if it changes state, exclude it; otherwise add `lint: { ignore: [lint/get-looks-like-write] }`');
    }

    const inConv = new SchemaConverter(doc.document, { mode: 'input' });
    const overrides = t?.parameters ?? {};
    const params = op.parameters.filter((p) => {
      if (p.in === 'header' && RESERVED_HEADERS.has(p.name.toLowerCase())) return false;
      return !credentialParams.has(`${p.in}:${p.name.toLowerCase()}`);
    });
    // `"*"` reaches every optional parameter the spec does not name: hiding all but a few.
    const { [ALL_PARAMETERS]: every, ...named } = overrides;
    if (every) {
      const extra = Object.keys(every).filter((k) => k !== 'hide');
      if (extra.length) {
        fail([...at, 'parameters', ALL_PARAMETERS, extra[0]!], 'tool/wildcard-override', `"${ALL_PARAMETERS}" can only set \`hide\`, not \`${extra[0]}\``,
          'name the parameter to give it a value, a name or a description');
      }
    }
    const overrideOf = (p: ParameterInfo): ParameterOverride =>
      named[p.name] ?? (every?.hide !== undefined && !p.required ? { hide: every.hide } : {});
    for (const key of Object.keys(named)) {
      if (!params.some((p) => p.name === key)) {
        fail([...at, 'parameters', key], 'tool/unknown-parameter', `${op.method} ${op.path} has no parameter "${key}"`,
          suggest(key, params.map((p) => p.name), 'parameter'));
      }
    }

    // Customer binding: forced by the runtime, so never an argument.
    if (t?.customer === false) {
      report('warning', [...at, 'customer'], 'spec/deprecated', '`customer: false` is deprecated', 'declare `scope: { tenant: <why this tool is tenant-wide> }`');
    }
    if (isTenantScoped(t) && t?.customer === true) fail([...at, 'customer'], 'scope/conflict', '`customer: true` and `scope: { tenant }` contradict each other');
    const customerOf = new Map<string, ReturnType<typeof parameterCustomer> & object>();
    for (const p of params) {
      const c = parameterCustomer(spec, t, p.name);
      if (c) customerOf.set(p.name, c);
    }
    const bound = params.filter((p) => customerOf.has(p.name));
    if (t?.customer === true && bound.length === 0) {
      fail([...at, 'customer'], 'customer/missing-parameter',
        `${op.method} ${op.path} has none of the customer parameters (${[...(spec.customer?.parameters ?? [])].join(', ') || 'none declared'})`,
        spec.customer ? 'declare `scope: { tenant: <reason> }` if this tool is not customer data, or bind another parameter under `customer.parameters`' : 'declare `customer: { parameters: [...] }` at the top of the spec');
    }
    for (const p of bound) {
      const { customer: bindsIt, description: _d, ...rest } = overrides[p.name] ?? {};
      if (Object.keys(rest).length) {
        fail([...at, 'parameters', p.name], 'customer/override', `parameter "${p.name}" is bound to the customer and cannot be overridden`,
          'the runtime forces it to the caller\'s customer; remove this override');
      }
      if (bindsIt && isTenantScoped(t)) fail([...at, 'parameters', p.name, 'customer'], 'scope/conflict', 'a tool declared `scope: { tenant }` cannot bind a customer parameter');
      const c = customerOf.get(p.name)!;
      if (c.template !== undefined) {
        checkTemplate(c.template, [...at, 'parameters', p.name, 'customer', 'template'], fail);
        if (p.in === 'path') fail([...at, 'parameters', p.name, 'customer', 'template'], 'customer/template', `a template cannot fill path parameter "${p.name}"`);
      }
      checkNamedId(spec, c.id, [...at, 'parameters', p.name, 'customer', 'id'], fail);
    }

    const pagination = buildPagination(t, op, at, fail, params);
    const pagingRoles = new Map<string, NonNullable<ParameterBinding['pagination']>>();
    if (pagination) {
      for (const [role, pname] of [['page', pagination.pageParam], ['size', pagination.sizeParam], ['offset', pagination.offsetParam], ['limit', pagination.limitParam], ['cursor', pagination.cursorParam]] as const) {
        if (pname) pagingRoles.set(pname, role);
      }
    }

    const properties: Record<string, JsonSchema> = {};
    const required: string[] = [];
    const bindings: ParameterBinding[] = [];
    const args = new Set<string>(pagination ? ['limit', 'cursor'] : []);
    const keyMapping: Record<string, string> = {};

    for (const p of params) {
      const o = overrideOf(p);
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
      const role = pagingRoles.get(p.name);
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
          fail([...at, 'parameters', p.name, 'hide'], 'tool/hide-required', `parameter "${p.name}" is required and cannot be hidden without a value`,
            'add `fixed:` (always sent) or `default:` to hide it');
        }
        continue; // hidden and unset: never sent
      }
      let arg = o.rename ?? argumentName(p.name);
      if (args.has(arg)) arg = argumentName(`${p.in}_${p.name}`);
      for (let n = 2; args.has(arg); n++) arg = `${argumentName(p.name)}_${n}`;
      args.add(arg);
      if (o.rename && !PROPERTY_KEY_RE.test(o.rename)) {
        report('warning', [...at, 'parameters', p.name, 'rename'], 'lint/property-key', `argument name "${o.rename}" is outside ^[a-zA-Z0-9_.-]{1,64}$`, 'some clients reject it');
      } else if (!o.rename && arg !== p.name) {
        keyMapping[arg] = p.name;
        report('warning', at, 'lint/property-key', `parameter "${p.name}" becomes argument "${arg}" (clients reject keys outside ^[a-zA-Z0-9_.-]{1,64}$)`,
          'mapped back to the vendor name on each call; set `rename:` to choose the name');
      }
      const schema: Record<string, unknown> = { ...(asObject(inConv.convert(p.schema))) };
      const description = o.description ?? p.description;
      if (description) schema.description = clean(description, 300);
      if (o.default !== undefined) schema.default = o.default;
      properties[arg] = schema;
      const binding: ParameterBinding = { ...base, argument: arg };
      if (o.default !== undefined) binding.default = o.default;
      bindings.push(binding);
      if (p.required && o.default === undefined) required.push(arg);
    }

    let body: ToolModel['body'];
    if (op.requestBody && op.method === 'POST') {
      let arg = 'body';
      for (let n = 2; args.has(arg); n++) arg = `body_${n}`;
      properties[arg] = { ...asObject(inConv.convert(op.requestBody.schema)), ...(op.requestBody.description ? { description: clean(op.requestBody.description, 300) } : {}) };
      if (op.requestBody.required) required.push(arg);
      body = { argument: arg, contentType: op.requestBody.contentType, required: op.requestBody.required };
    }
    const customerFields = bodyCustomerFields(spec, t, body !== undefined, at, fail);
    if (body && customerFields) body.customerFields = customerFields;
    // The parent check needs the parent's id: without it the call would read every parent's records.
    for (const own of Object.values(ownerParentOf(t)?.arguments ?? {})) {
      if (own in properties && !required.includes(own)) required.push(own);
    }
    if (pagination) {
      properties.limit = { type: 'integer', minimum: 1, maximum: pagination.maxLimit, default: pagination.defaultLimit, description: 'How many items per page.' };
      properties.cursor = { type: 'string', description: 'Opaque cursor from a previous result\'s nextCursor, for the next page. Omit for the first page.' };
    }
    const inDefs = inConv.defs();
    const inputSchema: Record<string, unknown> = {
      type: 'object',
      properties,
      ...(required.length ? { required } : {}),
      additionalProperties: false,
      ...(Object.keys(inDefs).length ? { $defs: inDefs } : {}),
    };
    if (inputSchema.oneOf || inputSchema.anyOf) {
      report('warning', at, 'lint/top-level-union', `the input schema of "${name}" has a top-level oneOf/anyOf`, 'some clients reject it');
    }

    const shape = buildShape(t, at, fail);
    // Output schemas describe, they are not enforced upstream: a bounded expansion keeps a tool
    // whose response reaches half the vendor's schemas (GitHub's repository object) affordable
    // in a client's context. Deeper definitions become `{}` (any value).
    const outConv = new SchemaConverter(doc.document, { mode: 'output', maxDefs: OUTPUT_MAX_DEFS });
    const raw = op.method === 'HEAD' || !op.responseSchema ? {} : asObject(outConv.convert(op.responseSchema));
    const allOutDefs = outConv.defs();
    let result: Record<string, unknown> = raw;
    if (shape.project) {
      try {
        result = projectSchema(shape.project, raw, allOutDefs);
      } catch {
        result = {};
      }
    }
    // A projection usually inlines what it keeps: carry only the definitions still referenced.
    const outDefs = reachableDefs(result, allOutDefs);
    const outputSchema: Record<string, unknown> = {
      type: 'object',
      properties: {
        result: result,
        truncated: {
          type: 'object',
          description: 'Present when items were left out to fit the size limits.',
          properties: { reason: { type: 'string' }, returned: { type: 'integer' }, available: { type: 'integer' }, withheld: { type: 'integer' } },
        },
        ...(pagination ? { nextCursor: { type: 'string', description: 'Pass as `cursor` to get the next page.' } } : {}),
      },
      required: ['result'],
      ...(Object.keys(outDefs).length ? { $defs: outDefs } : {}),
    };

    const title = t?.title ?? (op.summary ? clean(op.summary, 80) : undefined);
    const description = t?.description
      ? t.description.trim()
      : clean([op.summary, op.description].filter(Boolean).join('. ') || `${op.method} ${op.path}`, MAX_DESCRIPTION);
    const tokens = definitionTokens({ name, title, description, inputSchema, outputSchema });
    const maxTokens = spec.lint?.maxDefinitionTokens ?? DEFAULT_MAX_DEFINITION_TOKENS;
    if (tokens > maxTokens) {
      report('warning', at, 'lint/token-cost', `tool "${name}" costs ${tokens} tokens of a client's context (limit ${maxTokens})`,
        'hide parameters the model does not need, or project the response to fewer fields');
    }
    const ownership = ownershipOf(spec, t, at, fail);
    const ownerParent = ownerParentOf(t);
    const boundNames = [...bound.map((p) => p.name), ...(customerFields ?? []).map((f) => `body.${f.path.join('.')}`)];
    if (customerToken && isTenantScoped(t)) {
      fail([...at, t?.scope ? 'scope' : 'customer'], 'scope/conflict', `tool "${name}" cannot be tenant-wide: every call of this connector uses the customer's own token (auth.oauth2.tokenUrl has {customer})`);
    }
    let scope = scopeOf(t, boundNames, ownership, ownerParent, customerToken);
    if (!scope) {
      if (spec.customer) {
        report('warning', at, 'scope/undeclared', `tool "${name}" is neither bound to the customer, nor response-verified, nor declared tenant-wide`,
          'bind a customer parameter, declare `owner: { field: ... }`, or `scope: { tenant: <reason> }`; until then policies treat it as returning customer records');
      }
      scope = spec.customer
        ? { kind: 'tenant', reason: 'undeclared', customerRecords: true }
        : { kind: 'tenant', reason: 'the connector declares no customer binding' };
    }
    if (scope.kind === 'tenant' && !scope.customerRecords && t?.scope) {
      const refs = customerReferenceFields(outputSchema);
      if (refs.length) {
        report('warning', [...at, 'scope'], 'scope/tenant-customer-reference',
          `tenant-wide tool "${name}" returns fields that look like customer references (${refs.join(', ')})`,
          'bind or verify it (`owner: { field: ... }`), or declare `customerRecords: true` so policies keep it from callers acting for one customer');
      }
    }
    if (failed) return null;

    const model: ToolModel = {
      name,
      ...(title ? { title } : {}),
      description,
      connector: spec.connector,
      operation: {
        method: op.method as ToolModel['operation']['method'],
        path: op.path,
        operationId: op.operationId,
        ...(op.derivedOperationId ? { derivedOperationId: true } : {}),
      },
      effect: 'read',
      ...(t?.reason ? { effectReason: t.reason } : {}),
      riskTier: t?.riskTier ?? spec.defaults?.riskTier ?? 'low',
      ...sensitivityOf(t?.sensitivity ?? spec.defaults?.sensitivity),
      tags: t?.tags ?? op.tags,
      annotations: { ...(title ? { title } : {}), readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
      inputSchema,
      outputSchema,
      parameters: bindings,
      ...(body ? { body } : {}),
      ...(Object.keys(keyMapping).length ? { keyMapping } : {}),
      ...(pagination ? { pagination } : {}),
      customerParameters: bound.map((p) => p.name),
      scope,
      ...(ownership && { ownership }),
      ...(ownerParent && { ownerParent }),
      shape,
      definitionTokens: tokens,
    };
    return model;
  }

  function uniqueName(wanted: string): string {
    let name = wanted;
    // A bulk pick never takes a name that an individually listed tool claims.
    for (let n = 2; usedNames.has(name) || (explicitNames.has(name) && usedNames.has(`explicit:${name}`)); n++) name = withCounter((max) => wanted.slice(0, max), n);
    usedNames.add(name);
    if (explicitNames.has(name)) usedNames.add(`explicit:${name}`);
    return name;
  }

  function buildShape(t: ToolSpec | undefined, at: Path, fail: (p: Path, c: string, m: string, h?: string) => void): Shape {
    const d: ResponseShape = spec.defaults?.response ?? {};
    const r: ResponseShape = t?.response ?? {};
    const pick = <K extends keyof ResponseShape>(k: K) => (r[k] !== undefined ? r[k] : d[k]);
    const shape: Shape = {};
    for (const [k, target] of [['project', 'project'], ['items', 'itemsPath']] as const) {
      const expr = pick(k) as string | undefined;
      if (expr === undefined) continue;
      try {
        compileJmespath(expr);
        (shape as Record<string, unknown>)[target] = expr;
      } catch (e) {
        const where: Path = r[k] !== undefined ? [...at, 'response', k] : ['defaults', 'response', k];
        fail(where, 'shape/jmespath', `invalid JMESPath "${expr}": ${(e as Error).message}`, 'see https://jmespath.org/specification.html');
      }
    }
    const maxItems = pick('maxItems');
    if (maxItems !== undefined) shape.maxItems = maxItems;
    const tokenBudget = pick('tokenBudget');
    if (tokenBudget !== undefined) shape.tokenBudget = tokenBudget;
    const cacheMs = pick('cacheMs');
    // 0 turns a connector default off for one tool.
    if (cacheMs !== undefined && cacheMs > 0) shape.cacheMs = cacheMs;
    const redact = [...new Set([...(d.redact ?? []), ...(r.redact ?? [])])].sort();
    if (redact.length) shape.redact = redact;
    return shape;
  }

  function buildPagination(t: ToolSpec | undefined, op: OperationInfo, at: Path, fail: (p: Path, c: string, m: string, h?: string) => void, params: ParameterInfo[]): Pagination | undefined {
    if (t?.pagination === false) return undefined;
    const explicit = t?.pagination;
    const ps: PaginationSpec | undefined = explicit ?? spec.defaults?.pagination;
    if (!ps) return undefined;
    const has = (n?: string) => n === undefined || params.some((p) => p.name === n && p.in !== 'path');
    const roles = (['page', 'size', 'offset', 'limit', 'cursor'] as const).filter((r) => ps[r] !== undefined);
    const missing = roles.filter((r) => !has(ps[r]));
    if (missing.length) {
      // Defaults apply only where they fit; an explicit declaration that does not fit is a mistake.
      if (explicit) {
        for (const r of missing) {
          fail([...at, 'pagination', r], 'pagination/unknown-parameter', `${op.method} ${op.path} has no query parameter "${ps[r]}" for pagination ${r}`,
            suggest(ps[r]!, params.map((p) => p.name), 'parameter'));
        }
      }
      return undefined;
    }
    const needs: Record<PaginationSpec['style'], Array<keyof PaginationSpec>> = {
      page: ['page'], offset: ['offset'], cursor: ['cursor', 'nextCursor'], link: [], 'next-url': ['nextUrl'],
    };
    for (const r of needs[ps.style]) {
      if (ps[r] === undefined) {
        if (explicit) fail([...at, 'pagination'], 'pagination/incomplete', `pagination style "${ps.style}" needs \`${r}\``);
        return undefined;
      }
    }
    for (const r of ['nextCursor', 'nextUrl'] as const) {
      const expr = ps[r];
      if (expr === undefined) continue;
      try {
        compileJmespath(expr);
      } catch (e) {
        fail(explicit ? [...at, 'pagination', r] : ['defaults', 'pagination', r], 'pagination/jmespath', `invalid JMESPath "${expr}": ${(e as Error).message}`,
          r === 'nextUrl' ? 'quote a name with characters such as @ or -: \'"@odata.nextLink"\'' : 'see https://jmespath.org/specification.html');
        return undefined;
      }
    }
    const sizeName = ps.size ?? ps.limit;
    const sizeParam = sizeName ? params.find((p) => p.name === sizeName) : undefined;
    const schemaMax = typeof sizeParam?.schema?.maximum === 'number' ? sizeParam.schema.maximum : undefined;
    const maxLimit = ps.maxLimit ?? schemaMax ?? 100;
    const p: Pagination = { style: ps.style, defaultLimit: Math.min(ps.defaultLimit ?? 25, maxLimit), maxLimit };
    if (ps.page) p.pageParam = ps.page;
    if (ps.size) p.sizeParam = ps.size;
    if (ps.offset) p.offsetParam = ps.offset;
    if (ps.limit) p.limitParam = ps.limit;
    if (ps.cursor) p.cursorParam = ps.cursor;
    if (ps.nextCursor) p.nextCursorPath = ps.nextCursor;
    if (ps.nextUrl) p.nextUrlPath = ps.nextUrl;
    if (ps.style === 'page') p.firstPage = ps.firstPage ?? 1;
    return p;
  }
}

/** `<connector>_<operation id in snake case>`, without repeating the connector's name, cut to 64 characters. */
export function defaultToolName(connector: string, op: Pick<OperationInfo, 'operationId'>): string {
  return operationIdName(connector, op).slice(0, MAX_TOOL_NAME).replace(/_+$/, '');
}

/** A client-safe argument name for a vendor parameter name: `filter[name]` -> `filter.name`. */
export function argumentName(name: string): string {
  if (PROPERTY_KEY_RE.test(name)) return name;
  const mapped = name
    .replace(/\[([^\]]*)\]/g, '.$1')
    .replace(/[^a-zA-Z0-9_.-]+/g, '_')
    .replace(/^[._]+/, '')
    .slice(0, 64);
  return mapped || 'param';
}

/** The $defs entries that a schema reaches through #/$defs/ references, transitively. */
export function reachableDefs(schema: unknown, defs: Record<string, unknown>): Record<string, unknown> {
  const keep = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith('#/$defs/')) {
        const name = decodeURIComponent(v.slice(8));
        if (!keep.has(name) && name in defs) {
          keep.add(name);
          visit(defs[name]);
        }
      } else visit(v);
    }
  };
  visit(schema);
  return Object.fromEntries(Object.keys(defs).filter((n) => keep.has(n)).sort().map((n) => [n, defs[n]]));
}

function clean(text: string, max: number): string {
  const plain = text.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
  return plain.length > max ? `${plain.slice(0, max - 1).trimEnd()}…` : plain;
}

function asObject(s: unknown): Record<string, unknown> {
  return s && typeof s === 'object' ? (s as Record<string, unknown>) : {};
}
