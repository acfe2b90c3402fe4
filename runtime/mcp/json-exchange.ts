/**
 * One 2025-era stateless POST, answered with one JSON body, through the SDK's own protocol layer:
 * a Server connected to this Transport parses, validates and dispatches the message and encodes the
 * answer exactly as it would for any transport. What this replaces is only the SDK's Web-standard
 * HTTP transport, which built a Web Request for the message and a Response for the answer whose
 * bytes the host then read back out: on a tools/call, that round trip cost more than the call.
 * The HTTP checks that transport made on a stateless JSON POST are made here, with its answers:
 * Accept (406), Content-Type (415), a JSON-RPC message (400, -32700) and the protocol version
 * header (400).
 */
import {
  isJsonContentType, parseJSONRPCMessage, SUPPORTED_PROTOCOL_VERSIONS,
  type AuthInfo, type JSONRPCMessage, type Transport,
} from '@modelcontextprotocol/server';

/** What the endpoint sends: a status and a JSON body (none for 202). */
export interface ExchangeAnswer {
  status: number;
  body?: unknown;
}

const refused = (status: number, message: string): ExchangeAnswer => ({ status, body: { jsonrpc: '2.0', error: { code: -32000, message }, id: null } });

/**
 * The HTTP-level refusal of a 2025-era POST, or the message to dispatch. Header names are lower
 * case (Node's); the body is already parsed.
 */
export function checkLegacyPost(headers: Record<string, string | undefined>, body: unknown): { refusal: ExchangeAnswer } | { message: JSONRPCMessage } {
  const accept = headers.accept;
  if (!accept?.includes('application/json') || !accept.includes('text/event-stream')) {
    return { refusal: refused(406, 'Not Acceptable: Client must accept both application/json and text/event-stream') };
  }
  if (!isJsonContentType(headers['content-type'])) {
    return { refusal: refused(415, 'Unsupported Media Type: Content-Type must be application/json') };
  }
  let message: JSONRPCMessage;
  try {
    message = parseJSONRPCMessage(body);
  } catch {
    return { refusal: { status: 400, body: { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error: Invalid JSON-RPC message' }, id: null } } };
  }
  const version = headers['mcp-protocol-version'];
  const initialize = 'method' in message && message.method === 'initialize';
  if (!initialize && version !== undefined && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
    return { refusal: refused(400, `Bad Request: Unsupported protocol version: ${version} (supported versions: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')})`) };
  }
  return { message };
}

/** Whether a message expects an answer (a request: it has an id and a method). */
export const expectsAnswer = (message: JSONRPCMessage): boolean => 'method' in message && 'id' in message;

/**
 * The Transport of one exchange. The Server answers through `send`; anything else it sends
 * (progress, log messages) has no stream to go on in a JSON answer and is dropped, as the SDK's
 * JSON response mode does. Closing it (the client hung up) aborts the handler and settles the
 * answer as null, so no exchange waits forever.
 */
export class JsonExchange implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: Transport['onmessage'];
  readonly sessionId = undefined;
  readonly answered: Promise<JSONRPCMessage | null>;
  #settle!: (message: JSONRPCMessage | null) => void;
  #closed = false;

  constructor() {
    this.answered = new Promise((resolve) => {
      this.#settle = resolve;
    });
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  /** Hands the message to the connected Server, with the edge's verified auth. */
  deliver(message: JSONRPCMessage, authInfo: AuthInfo | undefined): void {
    this.onmessage?.(message, authInfo ? { authInfo } : undefined);
  }

  send(message: JSONRPCMessage): Promise<void> {
    if ('id' in message && ('result' in message || 'error' in message)) this.#settle(message);
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#settle(null);
    this.onclose?.();
    return Promise.resolve();
  }
}
