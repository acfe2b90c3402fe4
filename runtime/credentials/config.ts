/**
 * The upstream configuration file, until the tenant store exists: per connector, where its calls
 * go (a base URL, or the document's server template filled with variables, or a region) and the
 * vendor credential. Secrets are meant to come from the environment (`${HALO_CLIENT_SECRET}`);
 * a literal secret is accepted but warned about, since the file then is a secret itself.
 * The `identity:` section lists the OAuth/OIDC providers whose access tokens the governance chain
 * trusts (runtime/identity/providers.ts); it is checked here so its mistakes get positions too.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { parseYaml, yamlErrorLine } from '../config-load/yaml.ts';
import { settingMessage, settingPath, settingTarget } from '../config-load/ajv-messages.ts';
import type { VendorCredential } from './types.ts';
import { resolveProvider, type IdentityConfig } from '../identity/providers.ts';

export interface UpstreamEntry {
  baseUrl?: string;
  variables?: Record<string, string>;
  region?: string;
  credential?: VendorCredential;
}

export interface LoadOptions {
  /** Hears warnings (literal secrets); default: written to stderr. */
  warn?: (message: string) => void;
}

export const CONFIG_SCHEMA_FILE = fileURLToPath(new URL('./config.schema.json', import.meta.url));

/** Fields whose value is a secret: a literal here is warned about. */
const SECRET_FIELDS = new Set(['key', 'token', 'password', 'privateKey', 'clientSecret']);
const ENV_REF = /\$\{([^}]*)\}/g;
/** The credential kinds config.schema.json knows, as its discriminator error names them. */
const CREDENTIAL_KINDS = ['apiKey', 'bearer', 'basic', 'connectwise', 'oauth2-client-credentials', 'oauth2-password'];

export class UpstreamConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid upstream configuration:\n${problems.join('\n')}`);
    this.name = 'UpstreamConfigError';
    this.problems = problems;
  }
}

let validator: ValidateFunction | undefined;
function validate(): ValidateFunction {
  if (!validator) {
    const ajv = new Ajv2020({ allErrors: true, strict: true, discriminator: true });
    validator = ajv.compile(JSON.parse(fs.readFileSync(CONFIG_SCHEMA_FILE, 'utf8')) as object);
  }
  return validator;
}

/** Reads, validates and expands the file's shared upstreams; connectors in sorted order. Throws UpstreamConfigError with file:line:col. */
export function loadUpstreamConfig(file: string, env: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}): Record<string, UpstreamEntry> {
  return loadRuntimeConfig(file, env, options).upstreams;
}

export function parseUpstreamConfig(file: string, text: string, env: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}): Record<string, UpstreamEntry> {
  return parseRuntimeConfig(file, text, env, options).upstreams;
}

/** The whole file: the shared upstreams, each tenant's own, and the trusted identity providers. */
export interface RuntimeUpstreamConfig {
  upstreams: Record<string, UpstreamEntry>;
  tenants: Record<string, Record<string, UpstreamEntry>>;
  identity?: IdentityConfig;
}

/** Reads, validates and expands the whole file: the shared upstreams and the per-tenant section. */
export function loadRuntimeConfig(file: string, env: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}): RuntimeUpstreamConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'the file does not exist' : (e as Error).message;
    throw new UpstreamConfigError([`${file}: cannot read the upstream configuration: ${reason}`]);
  }
  return parseRuntimeConfig(file, text, env, options);
}

export function parseRuntimeConfig(file: string, text: string, env: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}): RuntimeUpstreamConfig {
  const warn = options.warn ?? ((m: string) => process.stderr.write(`warning: ${m}\n`));
  const yaml = parseYaml(file, text);
  const { doc } = yaml;
  const where = (p: Array<string | number>) => {
    const { line, column } = yaml.positionOf(p);
    return `${file}:${line}:${column}`;
  };
  if (doc.errors.length) {
    throw new UpstreamConfigError(doc.errors.map((e) => {
      const { line, column } = yaml.at(e.pos[0]);
      return `${file}:${line}:${column}: ${yamlErrorLine(e.message)}`;
    }));
  }
  const data: unknown = doc.toJS({ maxAliasCount: 100 }) ?? {};
  const check = validate();
  if (!check(data)) {
    // Errors inside propertyNames repeat what its own error says better.
    const issues = (check.errors ?? []).filter((e) => e.propertyName === undefined).map((e) => {
      const p = pathOf(e);
      const target = settingTarget(e, p);
      const pos = yaml.positionOf(target.path, target.aim);
      return { pos, text: `${file}:${pos.line}:${pos.column}: ${p.join('.') || '(top level)'}: ${explain(e)}` };
    });
    issues.sort((a, b) => a.pos.line - b.pos.line || a.pos.column - b.pos.column || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
    throw new UpstreamConfigError(issues.map((i) => i.text));
  }

  const problems: string[] = [];
  const expand = (value: string, p: Array<string | number>): string => {
    const field = String(p[p.length - 1]);
    if (SECRET_FIELDS.has(field) && !/\$\{[^}]*\}/.test(value)) {
      warn(`${where(p)}: ${p.join('.')} is a literal secret; prefer \${ENV_VAR} so the file holds no secret`);
    }
    return value.replace(ENV_REF, (_, name: string) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        problems.push(`${where(p)}: ${p.join('.')}: \${${name}} is not an environment variable name`);
        return '';
      }
      const v = env[name];
      if (v === undefined || v === '') problems.push(`${where(p)}: ${p.join('.')}: the environment variable ${name} is not set`);
      return v ?? '';
    });
  };
  const section = (entries: Record<string, Record<string, unknown>> | undefined, at: string[]): Record<string, UpstreamEntry> => {
    const out: Record<string, UpstreamEntry> = {};
    for (const name of Object.keys(entries ?? {}).sort()) out[name] = expandDeep(entries![name], [...at, name], expand) as UpstreamEntry;
    return out;
  };
  const parsed = data as { upstreams?: Record<string, Record<string, unknown>>; tenants?: Record<string, { upstreams: Record<string, Record<string, unknown>> }>; identity?: IdentityConfig };
  const result: RuntimeUpstreamConfig = { upstreams: section(parsed.upstreams, ['upstreams']), tenants: {} };
  for (const tenant of Object.keys(parsed.tenants ?? {}).sort()) {
    result.tenants[tenant] = section(parsed.tenants![tenant].upstreams, ['tenants', tenant, 'upstreams']);
  }
  if (parsed.identity) {
    result.identity = expandDeep(parsed.identity, ['identity'], expand) as IdentityConfig;
    // A tenant map's keys are claim values such as an Entra directory id, which operators keep in the environment too.
    result.identity.providers.forEach((entry, i) => {
      const map = entry.tenant.map;
      if (map) entry.tenant.map = Object.fromEntries(Object.entries(map).map(([k, v]) => [expand(k, ['identity', 'providers', i, 'tenant', 'map', k]), v]));
    });
    problems.push(...identityProblems(result.identity, where));
  }
  if (problems.length) throw new UpstreamConfigError(problems);
  return result;
}

/** What the schema cannot say about the providers: presets' needs, one tenant source, no issuer trusted twice. */
function identityProblems(identity: IdentityConfig, where: (p: Array<string | number>) => string): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  const issuers = new Map<string, number>();
  identity.providers.forEach((entry, i) => {
    const at = ['identity', 'providers', i];
    if (names.has(entry.name)) problems.push(`${where([...at, 'name'])}: identity.providers.${i}.name: ${entry.name} is already the name of another provider`);
    names.add(entry.name);
    const { provider, problems: own } = resolveProvider(entry, identity.resource);
    for (const p of own) problems.push(`${where([...at, ...p.path])}: ${[...at, ...p.path].join('.')}: ${p.message}`);
    if (provider && issuers.has(provider.issuer)) {
      problems.push(`${where(at)}: identity.providers.${i}: issuer ${provider.issuer} is already trusted by identity.providers.${issuers.get(provider.issuer)}`);
    }
    if (provider) issuers.set(provider.issuer, i);
  });
  return problems;
}

function expandDeep(value: unknown, p: Array<string | number>, expand: (v: string, p: Array<string | number>) => string): unknown {
  if (typeof value === 'string') return expand(value, p);
  if (Array.isArray(value)) return value.map((v, i) => expandDeep(v, [...p, i], expand));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandDeep(v, [...p, k], expand)]));
  }
  return value;
}

/** The setting an ajv error is about, as a path. */
export function pathOf(e: ErrorObject): string[] {
  return settingPath(e);
}

/** What is wrong with it, in an operator's words. */
export function explain(e: ErrorObject): string {
  return settingMessage(e, CREDENTIAL_KINDS);
}
