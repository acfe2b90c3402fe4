/**
 * The runtime's logger: pino, with secrets removed before anything is written. Known header
 * locations are redacted by path; any other key that looks like a secret (password, secret, token,
 * API key, cookie, authorization) is censored wherever it sits in a logged object; a request's
 * query string is never logged (a credential sent there would otherwise be written to disk).
 */
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export const CENSOR = '[REDACTED]';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
  'headers["proxy-authorization"]',
];

const SECRET_KEY = /password|passwd|secret|token|api[-_]?key|authori[sz]ation|cookie|credential/i;
const MAX_DEPTH = 8;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Copy of `value` with secret-looking keys censored. Only plain objects and arrays are walked:
 * class instances (requests, errors) go through pino's serializers and path redaction instead.
 */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item, depth + 1));
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = SECRET_KEY.test(key) && item !== undefined && item !== null ? CENSOR : redactSecrets(item, depth + 1);
  }
  return out;
}

export interface CreateLoggerOptions {
  level?: LoggerOptions['level'];
  /** Where lines go; default stdout. stdio serving passes stderr (fd 2). */
  destination?: DestinationStream;
  name?: string;
}

/** The URL with its query string replaced by a marker. */
export function redactQuery(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : `${url.slice(0, q)}?${CENSOR}`;
}

interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

/**
 * Fastify's request serializer with the query string redacted (Fastify takes a logger instance's
 * own serializers over its defaults). Fields as Fastify logs them.
 */
function requestSerializer(req: LoggedRequest) {
  return {
    method: req.method,
    url: typeof req.url === 'string' ? redactQuery(req.url) : req.url,
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

export function loggerOptions(options: CreateLoggerOptions = {}): LoggerOptions {
  return {
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    ...(options.name !== undefined && { name: options.name }),
    serializers: { req: requestSerializer },
    redact: { paths: REDACT_PATHS, censor: CENSOR },
    formatters: { log: (object) => redactSecrets(object) as Record<string, unknown> },
  };
}

export function createLogger(options: CreateLoggerOptions = {}): Logger {
  return pino(loggerOptions(options), options.destination ?? pino.destination(1));
}
