/**
 * Selected operations -> the tool model (runtime/model.ts), plain data that the emitter writes
 * out and the runtime serves. Every decision the runtime must enforce (fixed values, customer
 * binding, pagination roles, the allow-list) is made here, once, at build time.
 *
 * This file is the composition: each step is a pure function in generator/model/ that returns
 * its part and its issues, called here in order. Issues become diagnostics (positioned in the
 * spec, ignored lint codes dropped) only here.
 */
import type { AllowedRequest, ConnectorModel, Sensitivity, ToolModel } from '../runtime/model.ts';
import type { Diagnostic, LoadedSpec } from './spec/types.ts';
import type { LoadedDocument } from './openapi/types.ts';
import type { SelectResult, Selection } from './select.ts';
import { SchemaConverter } from './schema/json-schema.ts';
import { ownerParentOf, ownershipOf } from './scope.ts';
import { promptsOf, resourcesOf } from './prompts-resources.ts';
import { hasError, issueList, type Issue, type Report } from './model/issues.ts';
import { toolNames } from './model/naming.ts';
import { authModel, checkAuth, credentialHeaders } from './auth.ts';
import { hasCustomerToken } from '../runtime/credentials/customer-token.ts';
import { toolParameters } from './model/parameters.ts';
import { customerBinding } from './model/customer.ts';
import { paginationOf, pagingRoles } from './model/pagination.ts';
import { toolArguments } from './model/arguments.ts';
import { requestBody } from './model/body.ts';
import { inputSchema } from './model/input-schema.ts';
import { responseShape } from './model/shape.ts';
import { outputSchema } from './model/output-schema.ts';
import { toolText } from './model/text.ts';
import { inputSchemaLint, operationLint } from './model/lint.ts';
import { tokenCost } from './model/token-cost.ts';
import { toolScope } from './model/tool-scope.ts';
import { connectorChecks } from './model/checks.ts';

export interface BuildResult {
  model: ConnectorModel;
  diagnostics: Diagnostic[];
}

export function buildModel(loaded: LoadedSpec, doc: LoadedDocument, selection: SelectResult): BuildResult {
  const { spec } = loaded;
  const issues: Issue[] = [];
  // The steps written before this split report through a callback; their issues join the list here.
  const reported = issueList();
  const report = (severity: Issue['severity'], ...rest: Parameters<Report>) => (severity === 'error' ? reported.error : reported.warning)(...rest);
  const take = () => issues.push(...reported.issues.splice(0));

  const auth = authModel(doc, spec.auth);
  checkAuth(auth, report);
  take();
  const connector: ConnectorContext = { loaded, doc, credentialKeys: credentialHeaders(auth), customerToken: hasCustomerToken(auth) };
  const names = toolNames(spec, selection.selections);
  const tools: ToolModel[] = [];
  for (const [i, sel] of selection.selections.entries()) {
    const built = buildTool(connector, sel, names[i]);
    issues.push(...built.issues);
    if (built.tool) tools.push(built.tool);
  }
  tools.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  issues.push(...connectorChecks(spec, selection.selections, tools));
  const prompts = promptsOf(spec, tools, report);
  const resources = resourcesOf(spec, tools, report);
  take();

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
    allowList: allowList(tools),
    ...(prompts.length ? { prompts } : {}),
    ...(resources.length ? { resources } : {}),
  };
  const ignored = new Set(spec.lint?.ignore ?? []);
  const diagnostics = issues
    .filter((i) => !(i.severity === 'warning' && ignored.has(i.code)))
    .map(({ path, ...rest }): Diagnostic => ({ ...rest, ...loaded.positionOf(path) }));
  return { model, diagnostics };
}

/** What every tool of the connector is built with. */
interface ConnectorContext {
  loaded: LoadedSpec;
  doc: LoadedDocument;
  /** `in:name` of the parameters the credential broker sets. */
  credentialKeys: ReadonlySet<string>;
  /** Every call carries one customer's own token, so every tool is that customer's. */
  customerToken: boolean;
}

/** One selected operation -> its tool, or null when any step found an error. */
function buildTool({ loaded, doc, credentialKeys, customerToken }: ConnectorContext, sel: Selection, name: string): { tool: ToolModel | null; issues: Issue[] } {
  const { spec } = loaded;
  const { op, tool: t, specPath: at } = sel;
  const converter = new SchemaConverter(doc.document, { mode: 'input' });

  const lint = operationLint(name, t, op, at);
  const params = toolParameters(op, t, credentialKeys, at);
  const customer = customerBinding(spec, t, op, params.params, at);
  const paging = paginationOf(spec, t, op, params.params, at);
  const { pagination } = paging;
  const args = toolArguments({
    params: params.params, overrides: params.overrides, customerOf: customer.customerOf, roles: pagingRoles(pagination), paginated: !!pagination, converter, at,
  });
  const body = requestBody(spec, t, op, converter, args.taken, at);
  const ownerParent = ownerParentOf(t);
  const input = inputSchema(args, body.argument, ownerParent, pagination, converter.defs());
  const inputLint = inputSchemaLint(name, input, at);
  const shape = responseShape(spec, t, at);
  const output = outputSchema(doc, op, shape.shape, !!pagination);
  const { title, description } = toolText(t, op);
  const cost = tokenCost(spec, { name, title, description, inputSchema: input, outputSchema: output }, at);
  const owner = issueList();
  const ownership = ownershipOf(spec, t, at, owner.error);
  const customerFields = body.argument?.body.customerFields;
  const boundNames = [...customer.bound.map((p) => p.name), ...(customerFields ?? []).map((f) => `body.${f.path.join('.')}`)];
  const scope = toolScope({ spec, t, name, boundNames, ownership, ownerParent, customerToken, output, at });

  const issues = [
    ...lint, ...params.issues, ...customer.issues, ...paging.issues, ...args.issues, ...body.issues, ...inputLint,
    ...shape.issues, ...cost.issues, ...owner.issues, ...scope.issues,
  ];
  if (hasError(issues)) return { tool: null, issues };

  const tool: ToolModel = {
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
    inputSchema: input,
    outputSchema: output,
    parameters: args.bindings,
    ...(body.argument ? { body: body.argument.body } : {}),
    ...(Object.keys(args.keyMapping).length ? { keyMapping: args.keyMapping } : {}),
    ...(pagination ? { pagination } : {}),
    customerParameters: customer.bound.map((p) => p.name),
    scope: scope.scope,
    ...(ownership && { ownership }),
    ...(ownerParent && { ownerParent }),
    shape: shape.shape,
    definitionTokens: cost.tokens,
  };
  return { tool, issues };
}

/** Every (method, path) the tools may call, sorted: the runtime refuses any other request. */
function allowList(tools: readonly ToolModel[]): AllowedRequest[] {
  const allow = new Map<string, AllowedRequest>();
  for (const t of tools) allow.set(`${t.operation.method} ${t.operation.path}`, { method: t.operation.method, path: t.operation.path });
  return [...allow.keys()].sort().map((k) => allow.get(k)!);
}

/** Carried only when the tool has one, so tools without it keep their model unchanged. */
function sensitivityOf(s: Sensitivity | 'none' | undefined): { sensitivity?: Sensitivity } {
  return s === undefined || s === 'none' ? {} : { sensitivity: s };
}
