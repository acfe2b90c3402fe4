/**
 * The tool model: the one contract between the build half and the serving half.
 *
 * The generator produces it (generator/build-model.ts), the generated code carries it as plain
 * data (generated/<connector>/model.ts), and the runtime consumes it. It holds no functions and
 * no class instances so that it serialises byte-for-byte the same on every run.
 */

/** A JSON Schema (draft 2020-12) as plain data. */
export type JsonSchema = { [key: string]: unknown } | boolean;

/**
 * Any OpenAPI 3.x document, as plain data. Kept loose: real documents break every stricter type.
 * The generator emits the pruned vendor document in this form; the mock upstream serves it.
 */
export type OpenApiDocument = {
  openapi: string;
  info: { title?: string; version?: string; [k: string]: unknown };
  servers?: Array<{ url: string; [k: string]: unknown }>;
  paths: Record<string, Record<string, unknown>>;
  components?: Record<string, Record<string, unknown>>;
  [k: string]: unknown;
};

export type HttpMethod = 'GET' | 'HEAD' | 'POST';
export type RiskTier = 'low' | 'medium' | 'high';
/** What sensitive data a tool returns, as the spec declares it; policies match on it. */
export type Sensitivity = 'credentials' | 'personal' | 'financial';
export type ParameterLocation = 'path' | 'query' | 'header' | 'cookie';

/** Where one upstream parameter gets its value from. */
export interface ParameterBinding {
  /** Name on the wire (the vendor's parameter name). */
  name: string;
  in: ParameterLocation;
  /**
   * The tool argument that supplies it, or null when the model never supplies it: a fixed
   * value, a customer binding, or a pagination parameter that the runtime fills.
   */
  argument: string | null;
  required: boolean;
  /** A constant the runtime always sends; the model cannot see or change it. */
  fixed?: unknown;
  /** Sent when the model gives no value (also shown as the schema default). */
  default?: unknown;
  /** The runtime forces this parameter to the caller's customer id in this vendor. */
  customer?: boolean;
  /**
   * With `customer`: the value is this template with `{id}` replaced by the customer's vendor id
   * (a filter expression such as `org = {id}`); without it the value is the id itself.
   */
  customerTemplate?: string;
  /** With `customer`: which of the customer's named vendor ids (default: the unnamed one). */
  customerId?: string;
  /** Filled by the runtime from the uniform pagination arguments. */
  pagination?: 'page' | 'size' | 'offset' | 'limit' | 'cursor';
  /** OpenAPI serialisation, for arrays and objects. */
  style?: string;
  explode?: boolean;
}

/** A request body argument (only for POST operations declared `effect: read`). */
export interface BodyBinding {
  argument: string;
  contentType: string;
  required: boolean;
  /** Body fields the runtime forces to the caller's customer id, after the model's body is taken. */
  customerFields?: BodyCustomerField[];
}

/** One body field bound to the customer: its path of property names, and which named id. */
export interface BodyCustomerField {
  path: string[];
  customerId?: string;
}

/**
 * Where a vendor's raw response says which customer a record belongs to. The runtime checks it
 * before projection: a single record of another customer is refused, list items of another
 * customer are withheld (runtime/execution/ownership.ts).
 */
export interface Ownership {
  /** JMESPath into one record (the response itself, or each item) to the owner's vendor id. */
  field: string;
  /** JMESPath into the raw response to the item list; absent: an array response is the list, anything else one record. */
  items?: string;
  /** Which of the customer's named vendor ids the owner is compared with (default: the unnamed one). */
  customerId?: string;
  /** Why a record without an owner may pass; absent: a missing or null owner is another customer's (fail closed). */
  optionalReason?: string;
}

/**
 * For records that do not name their owner (a ticket's notes): the parent record is fetched
 * first with another tool of the connector and its ownership checked; only then is the call made.
 */
export interface OwnerParent {
  /** A response-verified tool of the same connector that reads the parent record. */
  tool: string;
  /** The parent tool's argument -> this tool's argument that carries the same id. */
  arguments: Record<string, string>;
}

/**
 * How a tool is kept to the caller's customer: bound (the request names the customer), verified
 * (each returned record's owner is checked), both, or tenant-wide on purpose with a reason.
 */
export type ToolScope =
  /** `credential`: every call uses the customer's own token (the connector's token URL has `{customer}`). */
  | { kind: 'customer'; bound?: string[]; verified?: string; parent?: string; credential?: true }
  | { kind: 'tenant'; reason: string; customerRecords?: boolean };

/**
 * Pagination, normalised: every paged tool exposes the same two arguments (`limit` and
 * `cursor`), whatever the vendor's style, and its result carries `nextCursor`. The cursor is
 * opaque to the model; the runtime encodes the vendor's page number, offset, cursor token or
 * Link URL in it.
 */
export interface Pagination {
  style: 'page' | 'offset' | 'cursor' | 'link' | 'next-url';
  /** Vendor parameter names, by role. */
  pageParam?: string;
  sizeParam?: string;
  offsetParam?: string;
  limitParam?: string;
  cursorParam?: string;
  /** JMESPath into the raw response for the next cursor token (style cursor). */
  nextCursorPath?: string;
  /**
   * JMESPath into the raw response for the next page's URL (style next-url). The runtime follows
   * only its query, on the tool's own origin and path, and refuses one that leaves them.
   */
  nextUrlPath?: string;
  /** First page number for style page (0 or 1). */
  firstPage?: number;
  defaultLimit: number;
  maxLimit: number;
}

/** How a response is cut down for a model's context. */
export interface Shape {
  /** JMESPath expression applied to the raw response body. */
  project?: string;
  /** JMESPath to the array whose items are capped (after projection); '@' for the root. */
  itemsPath?: string;
  maxItems?: number;
  /** Token budget for the text rendering; beyond it items are dropped and a marker added. */
  tokenBudget?: number;
  /** Field names removed wherever they occur (secrets such as password values). */
  redact?: string[];
  /** How long a successful result may be reused for the same tenant, customer and arguments, ms. */
  cacheMs?: number;
}

/** Reversible mapping of property keys that clients reject, per input schema. */
export type KeyMapping = Record<string, string>;

export interface ToolAnnotations {
  title?: string;
  readOnlyHint: true;
  destructiveHint: false;
  idempotentHint: boolean;
  openWorldHint: true;
}

export interface ToolModel {
  /** MCP tool name, unique in the catalog (prefixed with the connector name). */
  name: string;
  title?: string;
  description: string;
  connector: string;
  operation: {
    method: HttpMethod;
    /** Path template exactly as in the vendor document, e.g. /tickets/{id}. */
    path: string;
    /** The vendor's operationId, or the one specgate derived when the document has none. */
    operationId: string;
    /** True when the document had no operationId and specgate derived one. */
    derivedOperationId?: boolean;
  };
  /** Read-only is the contract; POST appears only with an explicit `effect: read` and reason. */
  effect: 'read';
  effectReason?: string;
  riskTier: RiskTier;
  /** Absent when the spec declares none. */
  sensitivity?: Sensitivity;
  tags: string[];
  annotations: ToolAnnotations;
  inputSchema: JsonSchema;
  outputSchema: JsonSchema;
  parameters: ParameterBinding[];
  body?: BodyBinding;
  /** Tool argument names mapped back to the vendor's property keys where they had to change. */
  keyMapping?: KeyMapping;
  pagination?: Pagination;
  /** Vendor parameters carrying the MSP customer's id; empty when the tool is not customer data. */
  customerParameters: string[];
  /** How the tool is kept to the caller's customer (see ToolScope); the generator always sets it (runtime/scope.ts fills it for older models). */
  scope?: ToolScope;
  /** Response ownership, checked before shaping. */
  ownership?: Ownership;
  /** The parent record whose ownership is checked before the call. */
  ownerParent?: OwnerParent;
  shape: Shape;
  /** Tokens that the tool's definition (name, description, schemas) costs in a client's context. */
  definitionTokens: number;
}

/** One permitted upstream request: anything the runtime sends must match an entry. */
export interface AllowedRequest {
  method: HttpMethod;
  path: string;
}

export interface AuthModel {
  /** The scheme names and types the vendor document declares (never any secret). */
  schemes: Array<{
    name: string;
    type: 'apiKey' | 'http' | 'oauth2' | 'openIdConnect' | 'mutualTLS';
    in?: 'header' | 'query' | 'cookie';
    paramName?: string;
    scheme?: string;
    tokenUrl?: string;
  }>;
  /** The API key header the spec declares; wins over the document's apiKey schemes. */
  apiKey?: {
    header: string;
    /** Written before the secret on the wire (`ApiToken `); never part of the stored secret. */
    prefix?: string;
  };
  /** The OAuth2 grant the spec declares; wins over the document's oauth2 scheme. */
  oauth2?: {
    grant: 'client_credentials' | 'password';
    /** May hold `{customer}` (the call's customer's vendor id: one token per customer) and the upstream's `{variables}`. */
    tokenUrl?: string;
    scope?: string;
    /** A public client id the vendor publishes; the credential's own wins. */
    clientId?: string;
  };
}

/** An MCP prompt declared in the spec; listed to a caller who may call every tool it names. */
export interface PromptModel {
  name: string;
  title?: string;
  description: string;
  arguments: Array<{ name: string; description?: string; required: boolean }>;
  tools: string[];
  /** The user message, with {{argument}} placeholders. */
  text: string;
}

/** An MCP resource or resource template declared in the spec; reading it is a call of `tool`. */
export interface ResourceModel {
  name: string;
  title?: string;
  description?: string;
  uri?: string;
  uriTemplate?: string;
  tool: string;
  arguments?: Record<string, unknown>;
}

export interface ConnectorModel {
  /** Connector id: lower-case, used as tool name prefix and folder name. */
  name: string;
  title: string;
  description?: string;
  document: {
    /** As written in the spec (path relative to the spec, or URL). */
    source: string;
    sha256: string;
    /** The document's own version (info.version) and OpenAPI version. */
    version: string;
    openapi: string;
  };
  /** Base URLs the document or the spec declares; the runtime may override per tenant. */
  servers: string[];
  auth: AuthModel;
  /** The customer binding declared by the spec, if any. */
  customer?: { description?: string; ids?: string[] };
  tools: ToolModel[];
  allowList: AllowedRequest[];
  prompts?: PromptModel[];
  resources?: ResourceModel[];
}

/** One upstream request as the runtime hands it to the generated typed client. */
export interface UpstreamRequest {
  path: Record<string, unknown>;
  query: Record<string, unknown>;
  header: Record<string, string>;
  cookie: Record<string, string>;
  body?: unknown;
  signal?: AbortSignal;
  /**
   * The fetch of the call this request belongs to (its scope bound in: the tool's expected
   * operation, what it received, the secrets to scrub). Without it the client's own fetch is used.
   */
  fetch?: (input: Request) => Promise<Response>;
}

/** What a generated operation returns: openapi-fetch's result, body read as text. */
export interface UpstreamResult {
  /** Raw body text on success (the runtime parses it, so it can cap the size first). */
  data?: string;
  /** Raw body text on an HTTP error status. */
  error?: string;
  response: Response;
}

export type OperationCall = (request: UpstreamRequest) => Promise<UpstreamResult>;

export interface ClientOptions {
  baseUrl: string;
  /**
   * The fetch for requests that carry none of their own; the runtime's refuses them, since each
   * call passes its own scoped fetch with the request (UpstreamRequest.fetch).
   */
  fetch: (input: Request) => Promise<Response>;
}

/** What a generated connector module (generated/<connector>/index.ts) exports. */
export interface GeneratedConnector {
  model: ConnectorModel;
  /** Typed openapi-fetch calls for exactly the selected operations, keyed by operationId. */
  createClient(options: ClientOptions): Record<string, OperationCall>;
}
