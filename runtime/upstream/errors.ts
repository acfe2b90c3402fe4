/**
 * Every way an upstream call can fail, turned into text a model can act on. No stack traces, no
 * URLs with query strings, and never a credential: the values the credential broker added to a
 * request are scrubbed from anything that goes back (see scrubSecrets).
 */

/** A failure whose message is already written for the model. */
export class ToolCallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The request did not match the connector's allow-list; nothing was sent. */
export class UpstreamRefused extends ToolCallError {
  constructor(detail: string) {
    super(`Request refused by the allow-list: ${detail}`);
  }
}

/** Arguments that fail the tool's input schema or the runtime's own rules. */
export class InvalidArguments extends ToolCallError {}

/** The tool is customer data and the caller has no customer id in this vendor. */
export class CustomerRequired extends ToolCallError {}

export class UpstreamTimeout extends ToolCallError {
  constructor(connector: string, timeoutMs: number) {
    super(`No answer from ${connector} within ${timeoutMs} ms`);
  }
}

export class ResponseTooLarge extends ToolCallError {
  constructor(connector: string, maxBytes: number) {
    super(`The ${connector} response is larger than ${maxBytes} bytes; narrow the request (filters, a smaller limit)`);
  }
}

export class RedirectRefused extends ToolCallError {
  constructor(connector: string, status: number) {
    super(`The ${connector} upstream answered with a redirect (HTTP ${status}); redirects are not followed`);
  }
}

export class CallCancelled extends ToolCallError {
  constructor() {
    super('The call was cancelled by the client');
  }
}

export class UpstreamUnreachable extends ToolCallError {
  constructor(connector: string, code: string) {
    super(`Could not reach the ${connector} upstream (${code})`);
  }
}

export class UndecodableBody extends ToolCallError {
  constructor(connector: string, encoding: string) {
    super(`The ${connector} response claims ${encoding} encoding but does not decode`);
  }
}

export class InvalidJson extends ToolCallError {
  constructor() {
    super('The vendor returned a response that is not valid JSON');
  }
}

const EXCERPT_MAX = 300;

/**
 * Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or undefined when
 * absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** The model-readable text for an HTTP error status. */
export function describeHttpError(
  connector: string,
  operation: { method: string; path: string },
  response: Response,
  body: unknown,
): string {
  const status = response.status;
  let message: string;
  if (status === 401 || status === 403) {
    message = `The vendor rejected the credentials (HTTP ${status}); ${
      status === 401 ? `check the ${connector} credentials configured for this tenant` : 'the account may lack permission for this operation'
    }`;
  } else if (status === 404) {
    message = `Not found: ${connector} has nothing at ${operation.method} ${operation.path} for these arguments (HTTP 404)`;
  } else if (status === 429) {
    const seconds = parseRetryAfter(response.headers.get('retry-after'));
    message = `Rate limited by the vendor; ${seconds === undefined ? 'retry later' : `retry after ${seconds} seconds`} (HTTP 429)`;
  } else if (status >= 500) {
    message = `The vendor's service failed (HTTP ${status})`;
  } else {
    message = `The vendor refused the request (HTTP ${status})`;
  }
  const excerpt = bodyExcerpt(response.headers.get('content-type'), body);
  return excerpt ? `${message}. Vendor said: ${excerpt}` : message;
}

/** A short, single-line excerpt of a JSON or text error body; nothing for anything else. */
function bodyExcerpt(contentType: string | null, body: unknown): string | undefined {
  if (body === undefined || body === null || body === '') return undefined;
  const ct = (contentType ?? '').toLowerCase();
  if (ct && !ct.includes('json') && !ct.startsWith('text/')) return undefined;
  if (ct.includes('html')) return undefined; // error pages are noise, often huge
  // openapi-fetch hands error bodies back parsed when they are JSON.
  const text = (typeof body === 'string' ? body : JSON.stringify(body)).replace(/\s+/g, ' ').trim();
  if (!text) return undefined;
  return text.length > EXCERPT_MAX ? `${text.slice(0, EXCERPT_MAX - 1)}…` : text;
}

/** Anything that looks like a bearer token or a long opaque key is cut out of vendor text. */
const TOKENISH = [/\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}/gi, /[A-Za-z0-9_-]{32,}(\.[A-Za-z0-9_-]{8,}){0,2}/g];

/** Removes known secret values (what the credential broker added) and token-like strings. */
export function scrubSecrets(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted]');
  for (const re of TOKENISH) out = out.replace(re, '[redacted]');
  return out;
}

/** Text for any thrown value; unknown errors never leak their message or stack. */
export function describeFailure(err: unknown, connector: string): string {
  if (err instanceof ToolCallError) return err.message;
  return `The call to ${connector} failed unexpectedly`;
}
