import type * as http from 'node:http';
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

let keys: { url: string; set: JWTVerifyGetKey } | undefined;

/**
 * What an upstream should do with `x-gatehouse-jwt-assertion`: verify it against Gatehouse's
 * JWKS, with this host as the audience. Rendered as a panel on the demo app's page.
 */
export async function assertionPanel(req: http.IncomingMessage, jwksUrl: string): Promise<string> {
  const token = req.headers['x-gatehouse-jwt-assertion'];
  if (typeof token !== 'string') {
    return '<section><h2>Identity</h2><p>No identity assertion on this request (an anonymous, public path).</p></section>';
  }
  if (keys?.url !== jwksUrl) keys = { url: jwksUrl, set: createRemoteJWKSet(new URL(jwksUrl)) };
  try {
    const { payload, protectedHeader } = await jwtVerify(token, keys.set, {
      audience: req.headers.host ?? '',
      issuer: 'gatehouse',
    });
    return `<section><h2>Verified identity assertion</h2>
<p>The <code>x-gatehouse-jwt-assertion</code> header verified against Gatehouse's JWKS
(<code>${escapeHtml(protectedHeader.alg)}</code>, key <code>${escapeHtml(protectedHeader.kid ?? '')}</code>), audience <code>${escapeHtml(req.headers.host ?? '')}</code>:</p>
<pre>${escapeHtml(JSON.stringify(payload, null, 2))}</pre></section>`;
  } catch (err) {
    return `<section><h2>Identity assertion</h2><p><strong>Did not verify:</strong> ${escapeHtml((err as Error).message)}</p></section>`;
  }
}
