/**
 * The HTML toolkit every Gatehouse page uses: an escaping template tag and the page shell
 * (inline CSS, no scripts, no external assets; light and dark schemes; readable on a phone).
 */

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Markup that is already safe: {@link html} inserts it as is instead of escaping it. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** Nothing, for a conditional part of a template. */
export const EMPTY: Html = new Html('');

/**
 * A tagged template that escapes every interpolated value unless it is already {@link Html};
 * an array interpolates each item the same way. `null` and `undefined` become empty.
 *
 * @example html`<li>${reason}</li>` // reason `<script>` renders as text
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += fragment(v) + (strings[i + 1] ?? '');
  });
  return new Html(out);
}

function fragment(value: unknown): string {
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(fragment).join('');
  return escapeHtml(String(value ?? ''));
}

/**
 * The one stylesheet, inline. Its SHA-256 is in every page's Content-Security-Policy
 * (`src/pages/reply.ts`), so no other style — injected or not — ever applies.
 *
 * Colours meet WCAG AA (4.5:1 for text) against their backgrounds in both schemes; the
 * browser test measures every text element to keep it that way.
 */
export const STYLE = `
:root{color-scheme:light dark;--bg:#f3f4f6;--fg:#14171b;--muted:#4a5460;--card:#fff;--soft:#f1f3f6;--line:#d4d9e0;--accent:#1a56b8;--on-accent:#fff;--bad:#a11d1d;--warn:#8a4600;--ok:#1c6a34}
@media (prefers-color-scheme:dark){:root{--bg:#0e1115;--fg:#e8ecf1;--muted:#a8b2bd;--card:#171b21;--soft:#1e242c;--line:#2d343e;--accent:#8ab6ff;--on-accent:#0b1322;--bad:#ff9f9f;--warn:#f2c27c;--ok:#8fd5a3}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;min-height:100vh;display:flex;flex-direction:column;background:var(--bg);color:var(--fg);font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.bar,main,footer{width:100%;max-width:42rem;margin:0 auto;padding-left:1rem;padding-right:1rem}
header{background:var(--card);border-bottom:1px solid var(--line)}
.bar{display:flex;align-items:center;gap:.5rem;min-height:3.25rem;font-weight:650;letter-spacing:.01em}
.bar svg{width:1.35rem;height:1.35rem;flex:none;color:var(--accent)}
main{padding-top:2.5rem;padding-bottom:1.25rem}
.card{--tone:var(--accent);background:var(--card);border:1px solid var(--line);border-top:4px solid var(--tone);border-radius:12px;padding:1.5rem 1.75rem}
.card.bad{--tone:var(--bad)}.card.warn{--tone:var(--warn)}.card.ok{--tone:var(--ok)}
.card>:last-child{margin-bottom:0}
.eyebrow{margin:0;color:var(--tone);font-size:.8125rem;font-weight:700;letter-spacing:.06em;text-transform:uppercase}
h1{margin:.35rem 0 .75rem;font-size:clamp(1.375rem,1.1rem + 1.2vw,1.75rem);line-height:1.25;overflow-wrap:anywhere}
h2{margin:1.5rem 0 .5rem;font-size:1.0625rem;line-height:1.3}
p{margin:.6rem 0}
.lead{font-size:1.0625rem}
.hint{color:var(--muted)}
.nowrap{white-space:nowrap}
dl{display:grid;grid-template-columns:minmax(6.5rem,max-content) minmax(0,1fr);gap:.45rem 1.25rem;margin:1rem 0;padding:1rem 1.125rem;background:var(--soft);border-radius:8px}
dt{color:var(--muted)}
dd{margin:0;min-width:0;overflow-wrap:anywhere}
ul{margin:.5rem 0;padding-left:1.25rem}
li{margin:.25rem 0}
code{font:.875em/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
a{color:var(--accent);text-underline-offset:.18em}
.actions{display:flex;flex-wrap:wrap;align-items:center;gap:.75rem;margin-top:1.5rem}
.actions form{display:contents}
.button{display:inline-flex;align-items:center;justify-content:center;min-height:2.75rem;padding:.5rem 1.125rem;border:2px solid var(--accent);border-radius:8px;background:var(--accent);color:var(--on-accent);font:inherit;font-weight:600;line-height:1.2;text-decoration:none;cursor:pointer}
.button.secondary{background:transparent;color:var(--accent)}
.button:hover{text-decoration:underline}
a:focus-visible,button:focus-visible{outline:3px solid var(--fg);outline-offset:3px}
footer{padding-bottom:1.5rem;color:var(--muted);font-size:.875rem}
footer p{margin:.25rem 0}
@media (max-width:32rem){main{padding-top:1rem}.card{padding:1.25rem 1.125rem}dl{grid-template-columns:minmax(0,1fr);gap:0}dd{margin-bottom:.625rem}dd:last-child{margin-bottom:0}.actions .button{flex:1 1 100%}}
`;

/** Gatehouse's mark: a shield outline, decorative (the word next to it carries the meaning). */
const MARK =
  '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path fill="currentColor" d="M12 1.8 3.5 5.3v6.2c0 5.2 3.6 9.6 8.5 10.7 4.9-1.1 8.5-5.5 8.5-10.7V5.3L12 1.8Zm0 2.2 6.5 2.7v4.8c0 4.1-2.7 7.6-6.5 8.6-3.8-1-6.5-4.5-6.5-8.6V6.7L12 4Z"/><path fill="currentColor" d="M9 11.2h6V17H9z"/></svg>';

/**
 * The page shell every Gatehouse page shares: `lang`, viewport, a banner, one `main`, a footer.
 * `body` is the content of `main`; `footer` adds a line under the standard one.
 *
 * @example htmlReply(404, page('Not found', html`<h1>Not found</h1>`))
 */
export function page(title: string, body: Html, footer?: Html): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)} · Gatehouse</title>
<style>${STYLE}</style>
</head>
<body>
<header><div class="bar">${MARK}<span>Gatehouse</span></div></header>
<main id="main">
${body.value}
</main>
<footer><p>Gatehouse checks who you are before you reach this site.</p>${footer ? `<p>${footer.value}</p>` : ''}</footer>
</body>
</html>
`;
}
