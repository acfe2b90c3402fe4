/**
 * The `identity:` section of the runtime configuration file: presets filled in, ${VAR} expanded,
 * and every mistake reported with file:line:column and what to write instead.
 */
import { describe, expect, it } from 'vitest';
import { parseRuntimeConfig, UpstreamConfigError } from '../runtime/credentials/config.ts';
import { resolveProvider, trustedIssuers } from '../runtime/identity/providers.ts';

const TID = '3f2a1b6c-0d4e-4f5a-9b8c-7d6e5f4a3b2c';

function problems(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseRuntimeConfig('runtime.yaml', text, env);
  } catch (e) {
    expect(e).toBeInstanceOf(UpstreamConfigError);
    return (e as UpstreamConfigError).problems;
  }
  throw new Error('expected an UpstreamConfigError');
}

describe('identity configuration', () => {
  it('reads providers, expands ${VAR}, and fills in the Entra preset', () => {
    const config = parseRuntimeConfig('runtime.yaml', `upstreams: {}
identity:
  resource: https://mcp.example.com/mcp
  providers:
    - name: okta
      issuer: https://example.okta.com/oauth2/default
      tenant: { fixed: msp-a }
      rolesClaim: scp
    - name: entra
      preset: entra
      directory: \${ENTRA_TENANT_ID}
      audiences: [api://specgate]
      tenant:
        claim: tid
        map: { "\${ENTRA_TENANT_ID}": msp-b }
`, { ENTRA_TENANT_ID: TID });
    expect(config.identity).toEqual({
      resource: 'https://mcp.example.com/mcp',
      providers: [
        { name: 'okta', issuer: 'https://example.okta.com/oauth2/default', tenant: { fixed: 'msp-a' }, rolesClaim: 'scp' },
        { name: 'entra', preset: 'entra', directory: TID, audiences: ['api://specgate'], tenant: { claim: 'tid', map: { [TID]: 'msp-b' } } },
      ],
    });
    const [okta, entra] = config.identity!.providers.map((p) => resolveProvider(p, config.identity!.resource).provider!);
    expect(okta).toMatchObject({ audiences: ['https://mcp.example.com/mcp'], subjectClaim: 'sub', rolesClaim: 'scp', clockTolerance: 60 });
    expect(okta.algorithms).not.toContain('HS256');
    expect(entra).toMatchObject({
      issuer: `https://login.microsoftonline.com/${TID}/v2.0`, audiences: ['api://specgate'], algorithms: ['RS256'], subjectClaim: 'oid', rolesClaim: 'roles',
    });
    expect(trustedIssuers(config.identity!)).toEqual(['https://example.okta.com/oauth2/default', `https://login.microsoftonline.com/${TID}/v2.0`]);
    expect(resolveProvider({ name: 'v1', preset: 'entra', directory: TID, tokenVersion: 1, audiences: ['x'], tenant: { fixed: 't' } }, undefined).provider?.issuer)
      .toBe(`https://sts.windows.net/${TID}/`);
  });

  it('reports schema mistakes with positions: unknown settings, HS algorithms, a bad preset', () => {
    expect(problems(`upstreams: {}
identity:
  providers:
    - name: a
      issuer: https://idp.example.com
      audience: x
      tenant: { claim: t }
      algorithms: [RS256, HS256]
    - name: b
      preset: auth0
      issuer: https://b.example.com
      tenant: { claim: t, fixd: x }
`)).toEqual([
      'runtime.yaml:6:7: identity.providers.0.audience: is not a known setting',
      'runtime.yaml:8:27: identity.providers.0.algorithms.1: must be one of "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"',
      'runtime.yaml:10:15: identity.providers.1.preset: must be one of "oidc", "entra"',
      'runtime.yaml:12:27: identity.providers.1.tenant.fixd: is not a known setting',
    ]);
  });

  it('reports what the schema cannot: issuer, audiences, tenant source, https, duplicates', () => {
    expect(problems(`upstreams: {}
identity:
  providers:
    - name: no-issuer
      tenant: { claim: t }
      audiences: [x]
    - name: entra
      preset: entra
      directory: ${TID}
      tenant: { claim: tid, fixed: msp-a }
    - name: plain
      issuer: http://idp.example.com
      jwksUri: not a url
      audiences: [x]
      directory: abc
      tenant: { fixed: msp-a, map: { a: b } }
    - name: plain
      issuer: https://login.microsoftonline.com/${TID}/v2.0
      audiences: [x]
      tenant: { claim: tid }
    - name: entra-again
      preset: entra
      directory: ${TID}
      audiences: [y]
      tenant: { fixed: msp-a }
`)).toEqual([
      'runtime.yaml:4:7: identity.providers.0: needs issuer',
      'runtime.yaml:7:7: identity.providers.1: needs audiences: Entra ID puts the app\'s client id or its api://... URI in aud, not this gateway\'s URL',
      'runtime.yaml:10:7: identity.providers.1.tenant: needs exactly one of claim or fixed',
      'runtime.yaml:15:18: identity.providers.2.directory: is an Entra ID setting: it needs preset: entra',
      'runtime.yaml:12:15: identity.providers.2.issuer: must be an https URL (http only for localhost/127.0.0.1)',
      'runtime.yaml:13:16: identity.providers.2.jwksUri: "not a url" is not a URL',
      'runtime.yaml:16:31: identity.providers.2.tenant.map: applies to a tenant claim, not to a fixed tenant',
      'runtime.yaml:17:13: identity.providers.3.name: plain is already the name of another provider',
      `runtime.yaml:21:7: identity.providers.4: issuer https://login.microsoftonline.com/${TID}/v2.0 is already trusted by identity.providers.3`,
    ]);
  });

  it('names an unset environment variable where it is used', () => {
    expect(problems(`upstreams: {}
identity:
  providers:
    - name: entra
      preset: entra
      directory: \${ENTRA_TENANT_ID}
      audiences: [api://specgate]
      tenant: { fixed: msp-a }
`)).toEqual([
      'runtime.yaml:6:18: identity.providers.0.directory: the environment variable ENTRA_TENANT_ID is not set',
      'runtime.yaml:4:7: identity.providers.0: needs issuer or directory (the Entra tenant id)',
    ]);
  });
});
