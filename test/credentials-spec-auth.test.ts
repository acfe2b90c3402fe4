/**
 * The spec's `auth:` block at generation: what it carries into the model (header and prefix, grant,
 * token URL, public client id), what a `{customer}` token URL does to the tools' scope and the
 * catalog page, and each mistake reported where it is written (file:line:column).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generate } from '../generator/generate.ts';
import { renderCatalogPage } from '../generator/catalog-page.ts';
import type { ConnectorModel } from '../runtime/model.ts';
import { toolScope } from '../runtime/scope.ts';
import { tempDir } from './helpers/e2e.ts';
import { DIRECTORY_DOCUMENT } from './fixtures/credentials/directory.ts';

const dir = tempDir('spec-auth');
fs.writeFileSync(path.join(dir, 'directory.json'), JSON.stringify(DIRECTORY_DOCUMENT));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function build(name: string, spec: string) {
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, spec);
  const result = await generate([file], { outDir: path.join(dir, `${name}-out`), check: true });
  return {
    file,
    model: result.builds[0]?.model as ConnectorModel | undefined,
    errors: result.diagnostics.filter((d) => d.severity === 'error').map((d) => `${path.basename(d.file)}:${d.line}:${d.column} ${d.code} ${d.message}`),
    warnings: result.diagnostics.filter((d) => d.severity === 'warning').map((d) => `${d.code} ${d.message}`),
  };
}

const head = (connector: string) => `specgate: 1
connector: ${connector}
document:
  source: ./directory.json
`;

describe('spec auth: a per-customer token endpoint', () => {
  it('carries the grant into the model and makes every tool customer-scoped by credential', async () => {
    const { model, errors, warnings } = await build('graphish', `${head('graphish')}auth:
  oauth2:
    grant: client_credentials
    tokenUrl: https://login.example.com/{customer}/oauth2/v2.0/token
    scope: https://graph.example.com/.default
customer:
  description: the customer's directory id
tools:
  - operationId: listUsers
    name: graphish_list_users
  - operationId: getOrganization
    name: graphish_get_organization
`);
    expect(errors).toEqual([]);
    expect(model!.auth.oauth2).toEqual({ grant: 'client_credentials', tokenUrl: 'https://login.example.com/{customer}/oauth2/v2.0/token', scope: 'https://graph.example.com/.default' });
    for (const t of model!.tools) expect(toolScope(t)).toEqual({ kind: 'customer', credential: true });
    // Customer-scoped by credential: no tool is left "undeclared".
    expect(warnings.filter((w) => w.startsWith('scope/undeclared'))).toEqual([]);
    const page = renderCatalogPage([model!]);
    expect(page).toContain('- Authentication: OAuth2 client credentials, token URL `https://login.example.com/{customer}/oauth2/v2.0/token`, scope `https://graph.example.com/.default`, credential (per-customer token)');
    expect(page).toMatch(/\| `graphish_list_users` \|[^\n]*\| credential \(per-customer token\) \|/);
  });

  it('refuses a tenant-wide tool on such a connector, where it is declared', async () => {
    const { errors } = await build('graphish-tenant', `${head('graphish_tenant')}auth:
  oauth2:
    grant: client_credentials
    tokenUrl: https://login.example.com/{customer}/oauth2/v2.0/token
tools:
  - operationId: getOrganization
    name: graphish_get_organization
    scope: { tenant: "service health of the MSP" }
`);
    expect(errors).toEqual([
      'graphish-tenant.yaml:12:5 scope/conflict tool "graphish_get_organization" cannot be tenant-wide: every call of this connector uses the customer\'s own token (auth.oauth2.tokenUrl has {customer})',
    ]);
  });
});

describe('spec auth: password grant and header prefix', () => {
  it('carries a password grant with its public client id and templated host', async () => {
    const { model, errors } = await build('rmmish', `${head('rmmish')}server: https://{platform}-api.example.com/api
auth:
  oauth2: { grant: password, tokenUrl: "https://{platform}-api.example.com/auth/oauth/token", clientId: public-client }
tools:
  - operationId: getOrganization
    name: rmmish_get_account
    scope: { tenant: "the MSP's own account" }
`);
    expect(errors).toEqual([]);
    expect(model!.auth.oauth2).toEqual({ grant: 'password', tokenUrl: 'https://{platform}-api.example.com/auth/oauth/token', clientId: 'public-client' });
    expect(toolScope(model!.tools[0]!)).toEqual({ kind: 'tenant', reason: "the MSP's own account" });
    expect(renderCatalogPage([model!])).toContain('- Authentication: OAuth2 password grant, token URL `https://{platform}-api.example.com/auth/oauth/token`, public client id `public-client`\n');
  });

  it('carries the header and prefix, and takes the header away from the tools', async () => {
    const { model, errors } = await build('s1ish', `${head('s1ish')}auth:
  apiKey: { header: X-Api-Token, prefix: "ApiToken " }
tools:
  - operationId: listUsers
    name: s1ish_list_users
    scope: { tenant: "the console's users" }
`);
    expect(errors).toEqual([]);
    expect(model!.auth.apiKey).toEqual({ header: 'X-Api-Token', prefix: 'ApiToken ' });
    const tool = model!.tools[0]!;
    expect(Object.keys((tool.inputSchema as { properties: object }).properties)).toEqual(['top']);
    expect(tool.parameters.map((p) => p.name)).toEqual(['top']);
    expect(renderCatalogPage([model!])).toContain('- Authentication: API key in header `X-Api-Token`, written after the prefix `ApiToken `\n');
  });
});

describe('spec auth: mistakes, where they are written', () => {
  const cases: Array<[string, string, string[]]> = [
    ['customer in the host', `auth:
  oauth2:
    grant: client_credentials
    tokenUrl: https://{customer}.example.com/token
`, ['8:15 auth/customer-placeholder {customer} must be in the token URL\'s path, not its host']],
    ['customer twice', `auth:
  oauth2:
    grant: client_credentials
    tokenUrl: https://login.example.com/{customer}/{customer}/token
`, ['8:15 auth/customer-placeholder {customer} may appear once in the token URL']],
    ['customer in the query', `auth:
  oauth2:
    grant: client_credentials
    tokenUrl: https://login.example.com/token?tenant={customer}
`, ['8:15 auth/customer-placeholder {customer} must be in the token URL\'s path, not its query']],
    ['plain http', `auth:
  oauth2:
    grant: password
    tokenUrl: http://login.example.com/token
`, ['8:15 auth/token-url token URL http://login.example.com/token must use https: the credential travels with the request']],
    ['no token URL anywhere', `auth:
  oauth2: { grant: password }
`, ['6:3 auth/token-url auth.oauth2 needs a tokenUrl: the vendor document declares no OAuth2 token URL']],
    ['both ways', `auth:
  apiKey: { header: Authorization }
  oauth2: { grant: password, tokenUrl: /auth/token }
`, ['5:1 auth/conflict auth declares both apiKey and oauth2; a connector authenticates one way']],
  ];
  it.each(cases)('%s', async (name, auth, expected) => {
    const { errors } = await build(`bad-${name.replace(/\W+/g, '-')}`, `${head('bad')}${auth}tools:
  - operationId: getOrganization
    name: bad_get_organization
`);
    expect(errors.map((e) => e.replace(/^[^:]+:/, ''))).toEqual(expected);
  });

  it('checks the schema: an unknown grant, a prefix with a line break, a header with a space, an unknown key', async () => {
    const { errors } = await build('bad-schema', `${head('bad_schema')}auth:
  apiKey: { header: "X Api", prefix: "ApiToken\\r\\nX-Injected: 1" }
  oauth2: { grant: implicit, tokenUrl: /t, clientSecret: s }
tools:
  - operationId: getOrganization
    name: bad_schema_get_organization
`);
    const text = errors.join('\n');
    expect(text).toMatch(/bad-schema\.yaml:6:21 [^\n]*header/);
    expect(text).toMatch(/bad-schema\.yaml:6:38 [^\n]*prefix/);
    expect(text).toMatch(/bad-schema\.yaml:7:20 [^\n]*(client_credentials|password)/);
    expect(text).toMatch(/bad-schema\.yaml:7:\d+ [^\n]*clientSecret/);
  });
});
