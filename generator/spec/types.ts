/**
 * The connector spec format, as TypeScript types. spec.schema.json is the same format as a JSON
 * Schema (validated with ajv and offered to editors); the two must agree.
 */
import type { ResourceModel, RiskTier, Sensitivity } from '../../runtime/model.ts';

/** Picks operations in bulk. Every present criterion must match. */
export interface BulkSelector {
  /** Operation tags (any of them). */
  tags?: string[];
  /** HTTP methods (default: GET and HEAD). */
  methods?: string[];
  /** Path globs (picomatch), e.g. "/tickets/**". */
  paths?: string[];
  /** Operations to leave out: operationIds, "METHOD /path" strings, or path globs. */
  exclude?: string[];
}

/** Picks exactly one operation. */
export type OperationRef =
  | { operationId: string; operation?: never }
  | { operation: string; operationId?: never };

export interface ParameterOverride {
  /** Remove from the tool's arguments (the parameter is then not sent, unless fixed). */
  hide?: boolean;
  /** The argument name the model sees. */
  rename?: string;
  /** Always send this value; the argument disappears. */
  fixed?: unknown;
  /** Sent when the model gives none. */
  default?: unknown;
  description?: string;
  /** Bind to the caller's customer: the id itself, or a template / named id. */
  customer?: true | { template?: string; id?: string };
}

/** Where a raw response names each record's owner (see runtime/model.ts Ownership). */
export interface OwnerSpec {
  /** Required unless `parent` is given. */
  field?: string;
  /** Check the parent record with another tool before the call (for records that name no owner). */
  parent?: { tool: string; arguments: Record<string, string> };
  items?: string;
  id?: string;
  /** Why a record without an owner may pass. */
  optional?: string;
}

/** A tenant-wide tool, declared with its reason. */
export interface ScopeSpec {
  tenant: string;
  customerRecords?: boolean;
}

export interface ResponseShape {
  /** JMESPath projection of the response body. */
  project?: string;
  /** JMESPath to the list that maxItems caps (after projection). */
  items?: string;
  maxItems?: number;
  tokenBudget?: number;
  /** Field names removed wherever they occur. */
  redact?: string[];
  /** Reuse a successful result this many ms (per tenant, customer and arguments); 0: never. */
  cacheMs?: number;
}

export interface PaginationSpec {
  style: 'page' | 'offset' | 'cursor' | 'link' | 'next-url';
  page?: string;
  size?: string;
  offset?: string;
  limit?: string;
  cursor?: string;
  /** JMESPath to the next cursor in the response (style cursor). */
  nextCursor?: string;
  /** JMESPath to the next page's URL in the response (style next-url). */
  nextUrl?: string;
  firstPage?: number;
  defaultLimit?: number;
  maxLimit?: number;
}

/** The `parameters` key that reaches every optional parameter a tool entry does not name (only `hide`). */
export const ALL_PARAMETERS = '*';

export type ToolSpec = OperationRef & {
  name?: string;
  title?: string;
  description?: string;
  /** Required to pick a POST: the author asserts it only reads. */
  effect?: 'read';
  reason?: string;
  riskTier?: RiskTier;
  /** What sensitive data the tool returns; `none` undoes the connector default. */
  sensitivity?: Sensitivity | 'none';
  tags?: string[];
  /** Deprecated: `customer: false` is `scope: { tenant }`. */
  customer?: boolean;
  scope?: ScopeSpec;
  owner?: OwnerSpec | false;
  body?: { customer?: { field: string; id?: string } };
  parameters?: Record<string, ParameterOverride>;
  response?: ResponseShape;
  pagination?: PaginationSpec | false;
};

export interface SelectSpec extends BulkSelector {
  /** Alternatively one operation, as in a tool entry. */
  operationId?: string;
  operation?: string;
}

/** An MCP prompt: a repeated workflow, with arguments, naming the tools it uses. */
export interface PromptSpec {
  name: string;
  title?: string;
  description: string;
  arguments?: Array<{ name: string; description?: string; required?: boolean }>;
  tools: string[];
  /** The user message, with {{argument}} placeholders. */
  text: string;
}

/** An MCP resource (fixed `uri`) or template (`uriTemplate`), backed by one tool: as the model carries it. */
export type ResourceSpec = ResourceModel;

export interface AuthSpec {
  apiKey?: { header: string; prefix?: string };
  oauth2?: { grant: 'client_credentials' | 'password'; tokenUrl?: string; scope?: string; clientId?: string };
}

export interface ConnectorSpec {
  specgate: 1;
  prompts?: PromptSpec[];
  resources?: ResourceSpec[];
  connector: string;
  title?: string;
  description?: string;
  document: {
    /** Path (relative to the spec file, `${VAR}` expanded) or http(s) URL. */
    source: string;
    sha256?: string;
    /** OpenAPI Overlay documents applied in order, relative to the spec file. */
    overlays?: string[];
    /** Extra OpenAPI documents of our own whose paths are merged in. */
    merge?: string[];
  };
  /** Override the document's servers (a base URL; the runtime may override per tenant). */
  server?: string;
  customer?: {
    /** Vendor parameter names that carry the MSP customer's id. */
    parameters?: string[];
    /** Names of the customer's several ids in this vendor. */
    ids?: string[];
    description?: string;
  };
  /** How the vendor authenticates, beyond (or instead of) its document's security schemes. */
  auth?: AuthSpec;
  defaults?: {
    riskTier?: RiskTier;
    sensitivity?: Sensitivity | 'none';
    response?: ResponseShape;
    pagination?: PaginationSpec;
    owner?: OwnerSpec;
  };
  /** Bulk picks; tools named automatically unless a `tools` entry names the same operation. */
  select?: SelectSpec[];
  /** Individually configured tools. */
  tools?: ToolSpec[];
  lint?: {
    /** Warn when a tool's definition costs more tokens than this (default 1500). */
    maxDefinitionTokens?: number;
    /** Warning codes not to report. */
    ignore?: string[];
  };
}

export type { Diagnostic, SourcePosition } from '../../runtime/config-load/diagnostics.ts';
import type { SourcePosition } from '../../runtime/config-load/diagnostics.ts';

/** A loaded spec: the data plus a way to find where any part of it was written. */
export interface LoadedSpec {
  file: string;
  spec: ConnectorSpec;
  /** Position of the node at a JSON path like ['tools', 3, 'operation']; nearest parent if absent. */
  positionOf(path: ReadonlyArray<string | number>): SourcePosition;
}
