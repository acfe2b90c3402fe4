import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadUpstreamConfig, parseRuntimeConfig, parseUpstreamConfig, UpstreamConfigError } from '../runtime/credentials/config.ts';
import { configureUpstreams } from '../runtime/credentials/upstreams.ts';
import { connectwise, halopsa, hudu, itglue, pax8 } from './fixtures/credentials/models.ts';

const dir = path.resolve(import.meta.dirname, 'fixtures/credentials');
const SECRET = 'planted-SECRET-cfg-91b2';
const env = {
  HALO_CLIENT_ID: 'halo-id', HALO_CLIENT_SECRET: SECRET, PAX8_CLIENT_ID: 'pax-id', PAX8_CLIENT_SECRET: SECRET,
  HUDU_API_KEY: SECRET, ITGLUE_API_KEY: SECRET, CW_PUBLIC_KEY: 'pub', CW_PRIVATE_KEY: SECRET, CW_CLIENT_ID: 'cw-client',
};

function configError(fn: () => unknown): UpstreamConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UpstreamConfigError);
    return e as UpstreamConfigError;
  }
  throw new Error('expected an UpstreamConfigError');
}

describe('upstream configuration file', () => {
  it('expands ${VAR} from the environment, in sorted connector order, without warnings', () => {
    const warnings: string[] = [];
    const config = loadUpstreamConfig(path.join(dir, 'upstreams.yaml'), env, { warn: (m) => warnings.push(m) });
    expect(Object.keys(config)).toEqual(['connectwise', 'halopsa', 'hudu', 'itglue', 'pax8']);
    expect(config.halopsa).toEqual({
      variables: { tenant: 'acme' },
      credential: { kind: 'oauth2-client-credentials', clientId: 'halo-id', clientSecret: SECRET, scope: 'all' },
    });
    expect(config.connectwise.credential).toEqual({ kind: 'connectwise', companyId: 'acme', publicKey: 'pub', privateKey: SECRET, clientId: 'cw-client' });
    expect(warnings).toEqual([]);
  });

  it('gives each tenant its own upstreams, with positions for their errors', () => {
    const text = `upstreams: {}
tenants:
  msp-a:
    upstreams:
      halopsa:
        variables: { tenant: acme }
        credential: { kind: oauth2-client-credentials, clientId: "\${HALO_CLIENT_ID}", clientSecret: "\${HALO_CLIENT_SECRET}" }
  msp-b:
    upstreams:
      hudu:
        variables: { hudu_host: b.huducloud.com }
        credential: { kind: apiKey, key: "\${HUDU_API_KEY}" }
`;
    const config = parseRuntimeConfig('t.yaml', text, env);
    expect(config.upstreams).toEqual({});
    expect(Object.keys(config.tenants)).toEqual(['msp-a', 'msp-b']);
    expect(config.tenants['msp-a'].halopsa.credential).toEqual({ kind: 'oauth2-client-credentials', clientId: 'halo-id', clientSecret: SECRET });
    expect(configureUpstreams([hudu], config.tenants['msp-b']).hudu.baseUrl).toBe('https://b.huducloud.com/api/v1');
    const broken = configError(() => parseRuntimeConfig('t.yaml', text.replace('kind: apiKey, key:', 'kind: apiKey, token:'), env));
    expect(broken.problems.join('\n')).toMatch(/^t\.yaml:12:\d+: tenants\.msp-b\.upstreams\.hudu\.credential/m);
  });

  it('turns into each vendor\'s base URL and authenticator', async () => {
    const config = loadUpstreamConfig(path.join(dir, 'upstreams.yaml'), env);
    const upstreams = configureUpstreams([halopsa, pax8, hudu, itglue, connectwise], config);
    expect(Object.fromEntries(Object.entries(upstreams).map(([k, v]) => [k, v.baseUrl]))).toEqual({
      connectwise: 'https://api-au.myconnectwise.net/v4_6_release/apis/3.0',
      halopsa: 'https://acme.halopsa.com/api',
      hudu: 'https://acme.huducloud.com/api/v1',
      itglue: 'https://api.eu.itglue.com',
      pax8: 'https://api.pax8.com/v1',
    });
    const req = new Request('https://acme.huducloud.com/api/v1/companies');
    await upstreams.hudu.authenticate!(req);
    expect(req.headers.get('x-api-key')).toBe(SECRET);
  });

  it('names an unset environment variable with file:line:col, never its neighbours\' values', () => {
    const { HALO_CLIENT_SECRET: _, ...partial } = env;
    const e = configError(() => loadUpstreamConfig(path.join(dir, 'upstreams.yaml'), partial));
    expect(e.problems).toEqual([
      `${path.join(dir, 'upstreams.yaml')}:5:97: upstreams.halopsa.credential.clientSecret: the environment variable HALO_CLIENT_SECRET is not set`,
    ]);
    expect(e.message).not.toContain(SECRET);
  });

  it('reports schema problems at their line and column', () => {
    const file = path.join(dir, 'bad-schema.yaml');
    const e = configError(() => loadUpstreamConfig(file, env));
    expect(e.problems).toEqual([
      `${file}:4:5: upstreams.halopsa.credential: needs clientSecret`,
      `${file}:8:25: upstreams.hudu.credential: kind "password" is not one of apiKey, bearer, basic, connectwise, oauth2-client-credentials, oauth2-password`,
      `${file}:10:5: upstreams.itglue.regoin: is not a known setting`,
    ]);
  });

  it('accepts a literal secret but warns about it, with its position', () => {
    const warnings: string[] = [];
    const config = parseUpstreamConfig('inline.yaml', 'upstreams:\n  hudu:\n    baseUrl: https://hudu.acme.example/api/v1\n    credential: { kind: apiKey, key: literal-key }\n', {}, { warn: (m) => warnings.push(m) });
    expect(config.hudu.credential).toEqual({ kind: 'apiKey', key: 'literal-key' });
    expect(warnings).toEqual(['inline.yaml:4:38: upstreams.hudu.credential.key is a literal secret; prefer ${ENV_VAR} so the file holds no secret']);
    expect(warnings.join()).not.toContain('literal-key');
  });

  it('reports malformed YAML, bad variable names, bad connector names and a missing file', () => {
    expect(configError(() => parseUpstreamConfig('x.yaml', 'upstreams:\n  hudu: {\n', {})).problems[0]).toMatch(/^x\.yaml:\d+:\d+: /);
    expect(configError(() => parseUpstreamConfig('x.yaml', 'upstreams:\n  hudu:\n    baseUrl: "${1BAD}"\n', {})).problems)
      .toEqual(['x.yaml:3:14: upstreams.hudu.baseUrl: ${1BAD} is not an environment variable name']);
    expect(configError(() => parseUpstreamConfig('x.yaml', 'upstreams:\n  Hudu-Cloud: {}\n', {})).problems)
      .toEqual(['x.yaml:2:3: upstreams.Hudu-Cloud: a connector name is lower-case letters, digits and underscores']);
    expect(configError(() => parseUpstreamConfig('x.yaml', 'upstream: {}\n', {})).problems)
      .toEqual(['x.yaml:1:1: (top level): needs upstreams', 'x.yaml:1:1: upstream: is not a known setting']);
    expect(configError(() => loadUpstreamConfig(path.join(dir, 'nope.yaml'))).message).toMatch(/nope\.yaml: cannot read the upstream configuration: the file does not exist/);
  });
});
