/**
 * Each tenant's base URL for a connector. Vendors such as HaloPSA and Hudu give every customer
 * its own host, so their documents declare a server template (`https://{tenant}.halopsa.com/api`);
 * others (IT Glue, ConnectWise) run one cloud per region. The values that fill a template come
 * from configuration, and are checked so that they can only name a host, never redirect the
 * request elsewhere (`evil.com/x`, `a@b`).
 */
import type { ConnectorModel } from '../model.ts';
import { CredentialError, isSafeUrl } from './types.ts';

export interface BaseUrlInput {
  /** An explicit base URL (on-premises installs, test upstreams); wins over the document's servers. */
  baseUrl?: string;
  /** Values for the server template's `{variables}`. */
  variables?: Record<string, string>;
  /** Picks one of several regional servers by a label in its host (`eu`, `au`, `za`, `na`). */
  region?: string;
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;
const PLACEHOLDER = /\{([^{}/]+)\}/g;

export function resolveBaseUrl(model: ConnectorModel, input: BaseUrlInput): string {
  if (input.baseUrl !== undefined) {
    if (input.variables || input.region) throw new CredentialError(`${model.name}: give either a baseUrl or variables/region, not both`);
    return explicitBaseUrl(model.name, input.baseUrl);
  }
  const template = pickServer(model, input.region);
  const variables = input.variables ?? {};
  const used = new Set<string>();
  const url = template.replace(PLACEHOLDER, (whole, name: string, at: number) => {
    used.add(name);
    const value = variables[name];
    if (value === undefined) {
      throw new CredentialError(`${model.name}: the server ${template} needs the variable "${name}"; set upstreams.${model.name}.variables.${name} (or give a baseUrl)`);
    }
    const wholeHost = template.slice(at - 2, at) === '//' && /^(?:[/:]|$)/.test(template.slice(at + whole.length));
    checkValue(model.name, name, value, wholeHost);
    return value.toLowerCase();
  });
  for (const name of Object.keys(variables).sort()) {
    if (!used.has(name)) throw new CredentialError(`${model.name}: the variable "${name}" is not used by the server ${template}`);
  }
  return explicitBaseUrl(model.name, url);
}

/** A value fills one host label (`{tenant}.halopsa.com`) or, alone between `//` and `/`, a whole host name. */
function checkValue(connector: string, name: string, value: string, wholeHost: boolean): void {
  const labels = value.split('.');
  const ok = wholeHost ? labels.length >= 1 && labels.every((l) => LABEL.test(l)) : LABEL.test(value);
  if (!ok) {
    const what = wholeHost ? 'a host name (letters, digits, hyphens and dots; no scheme, port, path or "@")' : 'one host label (letters, digits and hyphens; no dots, slashes or "@")';
    throw new CredentialError(`${connector}: the variable "${name}" must be ${what}, got ${JSON.stringify(value.slice(0, 80))}`);
  }
}

function explicitBaseUrl(connector: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CredentialError(`${connector}: the base URL ${JSON.stringify(raw.slice(0, 200))} is not an absolute URL`);
  }
  if (/[{}]/.test(raw) || /%7b|%7d/i.test(url.href)) throw new CredentialError(`${connector}: the base URL ${url.origin} still has a {template variable}; use variables instead`);
  if (!isSafeUrl(url)) throw new CredentialError(`${connector}: the base URL must use https (http only for 127.0.0.1 or localhost), got ${url.protocol}//${url.host}`);
  if (url.username || url.password) throw new CredentialError(`${connector}: the base URL must not carry user info; give credentials in upstreams.${connector}.credential`);
  if (url.search || url.hash) throw new CredentialError(`${connector}: the base URL must not have a query or fragment`);
  return url.href.replace(/\/+$/, '');
}

/** Region labels of a server: two-letter parts of its host other than the top-level domain. */
function regionsOf(server: string): string[] {
  const host = /^[a-z]+:\/\/([^/:]+)/i.exec(server)?.[1] ?? '';
  const labels = host.split('.').slice(0, -1).flatMap((l) => l.split('-'));
  return labels.filter((p) => /^[a-z]{2}$/i.test(p)).map((p) => p.toLowerCase());
}

function pickServer(model: ConnectorModel, region: string | undefined): string {
  const servers = model.servers;
  if (servers.length === 0) throw new CredentialError(`${model.name}: the document declares no server; give upstreams.${model.name}.baseUrl`);
  if (region === undefined) return servers[0];
  const wanted = region.toLowerCase();
  const matches = servers.filter((s) => regionsOf(s).includes(wanted) || (wanted === 'default' && regionsOf(s).length === 0));
  if (matches.length === 1) return matches[0];
  const known = servers.map((s) => `${regionsOf(s)[0] ?? 'default'} (${s})`).join(', ');
  throw new CredentialError(`${model.name}: no single server for region "${region}"; the document's servers are: ${known}`);
}
