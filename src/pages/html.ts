/** Escape text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A tagged template that escapes every interpolated value unless it is already {@link Html}. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    const part = v instanceof Html ? v.value : Array.isArray(v) ? v.map((x) => (x instanceof Html ? x.value : escapeHtml(String(x)))).join('') : escapeHtml(String(v ?? ''));
    out += part + (strings[i + 1] ?? '');
  });
  return new Html(out);
}

const STYLE = `
:root{color-scheme:light dark;--bg:#f5f6f8;--fg:#16191d;--muted:#4b5560;--card:#fff;--line:#d9dde3;--accent:#1f5fbf;--bad:#a32020}
@media (prefers-color-scheme:dark){:root{--bg:#111418;--fg:#eceff3;--muted:#aab3bd;--card:#1b2026;--line:#2e353d;--accent:#7fb0ff;--bad:#ff9a9a}}
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--fg)}
header{padding:.75rem 1rem;border-bottom:1px solid var(--line);font-weight:600;letter-spacing:.02em}
main{max-width:40rem;margin:2rem auto;padding:0 1rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:1.25rem 1.5rem}
h1{font-size:1.4rem;margin:.2rem 0 .8rem}.status{color:var(--muted);font-size:.9rem;margin:0}
.bad{color:var(--bad)}dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:1rem 0}
dt{color:var(--muted)}dd{margin:0;word-break:break-word}ul{padding-left:1.2rem}
a,button.link{color:var(--accent)}.actions{display:flex;gap:1rem;flex-wrap:wrap;margin-top:1.25rem;align-items:center}
.button{display:inline-block;background:var(--accent);color:var(--card);padding:.5rem 1rem;border-radius:6px;text-decoration:none;border:0;font:inherit;cursor:pointer}
code{font-size:.9em}footer{max-width:40rem;margin:1rem auto;padding:0 1rem;color:var(--muted);font-size:.8rem}
`;

/** The page shell every Gatehouse page shares: inline CSS, no scripts, no external assets. */
export function page(title: string, body: Html, footer?: Html): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)} · Gatehouse</title>
<style>${STYLE}</style>
</head>
<body>
<header role="banner">Gatehouse</header>
<main id="main">
${body.value}
</main>
${footer ? `<footer role="contentinfo">${footer.value}</footer>` : ''}
</body>
</html>
`;
}
