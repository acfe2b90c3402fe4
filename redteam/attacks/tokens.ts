/**
 * Authentication: forged and misused bearer credentials. alg=none, HS256 signed with the
 * provider's public key (the RS/HS confusion), a well-formed token signed by another key in the
 * trusted issuer's name, an untrusted issuer, another audience, an expired token, a guessed API
 * key with a real key's prefix. Holds when each is answered 401 and nothing reaches a vendor.
 */
import { createPublicKey } from 'node:crypto';
import { SignJWT, UnsecuredJWT, decodeJwt, generateKeyPair, type JWK } from 'jose';
import { type Deployment, OIDC_RESOURCE, OTHER_RESOURCE, TENANT_A } from '../deployment.ts';
import { OWASP, probe, type Attack, type Finding } from '../types.ts';
import { during, message } from './observe.ts';

export const tokens: Attack = {
  family: 'tokens',
  async run(d: Deployment): Promise<Finding[]> {
    const claims = () => ({ iss: d.oidc.issuer, aud: OIDC_RESOURCE, sub: 'mallory', specgate_tenant: TENANT_A, scope: 'mcp:tools technician security-admin', exp: Math.floor(Date.now() / 1000) + 300, iat: Math.floor(Date.now() / 1000) });
    const jwks = (await (await fetch(`${d.oidc.issuer}/jwks`)).json()) as { keys: JWK[] };
    const publicPem = createPublicKey({ key: jwks.keys[0] as import('node:crypto').JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
    const { privateKey: otherKey } = await generateKeyPair('RS256');
    const cases: Array<{ id: string; tried: string; token: () => Promise<string> }> = [
      { id: 'alg-none', tried: "an unsigned token (alg none) with the trusted issuer's claims", token: async () => new UnsecuredJWT(claims()).encode() },
      {
        id: 'hs256-with-public-key', tried: "HS256 signed with the provider's RSA public key (PEM) as the HMAC secret",
        token: () => new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: jwks.keys[0].kid }).sign(new TextEncoder().encode(publicPem)),
      },
      {
        id: 'forged-signature', tried: "RS256 signed by the attacker's key under the provider's kid",
        token: () => new SignJWT(claims()).setProtectedHeader({ alg: 'RS256', kid: jwks.keys[0].kid }).sign(otherKey),
      },
      {
        id: 'untrusted-issuer', tried: 'a token from an issuer the gateway does not trust, for its audience',
        token: () => new SignJWT({ ...claims(), iss: 'https://evil-idp.redteam.test' }).setProtectedHeader({ alg: 'RS256', kid: 'evil' }).sign(otherKey),
      },
      { id: 'wrong-audience', tried: "a real token of the trusted provider, issued for another API (audience)", token: () => d.oidc.token(d.oidcClients.a, OTHER_RESOURCE) },
      {
        id: 'expired', tried: 'a real token of the trusted provider, used after it expired',
        token: async () => {
          const token = await d.oidc.token(d.oidcClients.short, OIDC_RESOURCE);
          const exp = decodeJwt(token).exp!;
          for (let i = 0; i < 50 && Date.now() / 1000 <= exp + 0.5; i++) await new Promise((r) => setTimeout(r, 100));
          return token;
        },
      },
      { id: 'guessed-api-key', tried: "an API key with a real key's prefix and a guessed secret", token: async () => `${d.keys.aTech.key.split('_').slice(0, 2).join('_')}_${'A'.repeat(43)}` },
      { id: 'api-key-as-other-tenant-prefix', tried: "a real key of tenant B with tenant A's key prefix spliced in", token: async () => `sg_${d.keys.aTech.prefix}_${d.keys.bTech.key.split('_').slice(2).join('_')}` },
    ];
    const findings: Finding[] = [];
    for (const c of cases) {
      findings.push(await probe(`tokens.${c.id}`, OWASP.API2, c.tried, async () => {
        const token = await c.token();
        const { value, upstream } = await during(d, () => d.call(token, 'hudu_get_company', {}, { customer: 'rt-contoso' }));
        const problems: string[] = [];
        if (value.status !== 401) problems.push(`answered ${message(value)}, not 401`);
        if (upstream.length) problems.push(`${upstream.length} upstream request(s) made`);
        if (value.text.includes(token)) problems.push('the answer echoes the token');
        return { problems, held: `401 (${message(value).slice(4, 120)})` };
      }));
    }
    findings.push(await probe('tokens.control', OWASP.API2, "control: a valid token of the trusted provider for tenant A's customer", async () => {
      const token = await d.oidc.token(d.oidcClients.a, OIDC_RESOURCE);
      const answer = await d.call(token, 'hudu_get_company', {}, { customer: 'rt-contoso' });
      return { problems: answer.status === 200 && !answer.json?.result?.isError ? [] : [`the valid token was not served: ${message(answer)}`], held: 'served' };
    }));
    return findings;
  },
};
