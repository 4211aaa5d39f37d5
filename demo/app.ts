import * as http from 'node:http';

/** Headers the demo page highlights: what Gatehouse and the policy add for the upstream. */
const HIGHLIGHT = /^x-(gatehouse|policy)-/;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Render the demo upstream's page: every request header it received, with the identity and
 * policy headers first. `extra` is HTML the caller adds (the verified assertion, once identity
 * is configured).
 */
export function renderPage(req: http.IncomingMessage, extra = ''): string {
  const rows = Object.entries(req.headers)
    .sort(([a], [b]) => Number(HIGHLIGHT.test(b)) - Number(HIGHLIGHT.test(a)) || a.localeCompare(b))
    .map(([name, value]) => {
      const v = Array.isArray(value) ? value.join(', ') : (value ?? '');
      const mark = HIGHLIGHT.test(name) ? ' class="hl"' : '';
      return `<tr${mark}><th scope="row">${escapeHtml(name)}</th><td>${escapeHtml(v.length > 400 ? `${v.slice(0, 400)}…` : v)}</td></tr>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo app behind Gatehouse</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1b1f24}
main{max-width:60rem;margin:2rem auto;padding:0 1rem}
h1{font-size:1.5rem}table{border-collapse:collapse;width:100%;background:#fff;font-size:.9rem}
pre{background:#fff;border:1px solid #e3e6ea;padding:.75rem;overflow:auto;font-size:.85rem}
th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #e3e6ea;vertical-align:top;word-break:break-all}
nav{font-size:.9rem}th{width:16rem;font-weight:600}tr.hl{background:#eef6ee}code{background:#eef0f3;padding:.1rem .3rem;border-radius:3px}
</style></head>
<body><main>
<nav><a href="/.gatehouse/">Who am I</a> · <a href="/.gatehouse/sign_out">Sign out</a> · <a href="/api/items">/api/items</a> · <a href="/public/">/public/</a></nav>
<h1>Demo app</h1>
<p>This upstream is only reachable through Envoy, which asked Gatehouse before forwarding
<code>${escapeHtml(req.method ?? 'GET')} ${escapeHtml(req.url ?? '/')}</code>.</p>
${extra}
<h2>Request headers received</h2>
<table><tbody>
${rows}
</tbody></table>
</main></body></html>
`;
}

/** Start the demo upstream on `port` (loopback). */
export function startDemoApp(
  port: number,
  extra?: (req: http.IncomingMessage) => Promise<string>,
): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    void (async () => {
      const html = renderPage(req, extra ? await extra(req) : '');
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
      });
      res.end(html);
    })().catch(() => {
      res.writeHead(500);
      res.end();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
