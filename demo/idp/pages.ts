/**
 * The demo identity provider's HTML: self-contained pages (no external assets, no scripts except
 * the one-line logout auto-submit), every interpolated value escaped.
 */

const STYLE = `
  :root { color-scheme: light dark; font-family: system-ui, sans-serif; }
  body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: Canvas; color: CanvasText; }
  main { width: min(22rem, 90vw); padding: 2rem; border: 1px solid color-mix(in srgb, CanvasText 20%, transparent); border-radius: 0.75rem; }
  h1 { font-size: 1.25rem; margin: 0 0 0.25rem; }
  p.hint { margin: 0 0 1.5rem; opacity: 0.7; font-size: 0.9rem; }
  label { display: block; font-size: 0.9rem; margin: 0.75rem 0 0.25rem; }
  input { box-sizing: border-box; width: 100%; padding: 0.5rem; font: inherit; border-radius: 0.375rem; border: 1px solid color-mix(in srgb, CanvasText 35%, transparent); }
  button { margin-top: 1.25rem; width: 100%; padding: 0.6rem; font: inherit; font-weight: 600; border: 0; border-radius: 0.375rem; background: #2f5bd3; color: #fff; cursor: pointer; }
  .error { margin: 0 0 1rem; padding: 0.5rem 0.75rem; border-radius: 0.375rem; background: #fde8e8; color: #8a1c1c; font-size: 0.9rem; }
  a { color: inherit; font-size: 0.85rem; }
`;

/** Escape text for HTML element content and double-quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

/** The sign-in form for interaction `uid`. */
export function loginPage(options: {
  uid: string;
  clientId: string;
  username?: string;
  error?: string;
}): string {
  const uid = encodeURIComponent(options.uid);
  const error =
    options.error === undefined
      ? ''
      : `<p class="error" role="alert">${escapeHtml(options.error)}</p>`;
  return page(
    'Sign in — Demo IdP',
    `<h1>Sign in</h1>
<p class="hint">to continue to ${escapeHtml(options.clientId)} (demo users: alice / alice, bob / bob)</p>
${error}<form method="post" action="/interaction/${uid}/login" autocomplete="off">
<label for="username">Username</label>
<input id="username" name="username" type="text" required autofocus value="${escapeHtml(options.username ?? '')}">
<label for="password">Password</label>
<input id="password" name="password" type="password" required>
<button type="submit">Sign in</button>
</form>
<p><a href="/interaction/${uid}/abort">Cancel</a></p>`,
  );
}

/**
 * oidc-provider's RP-initiated logout confirmation, auto-confirmed: `form` is the provider's own
 * form (with its xsrf token); we add `logout=yes` and submit it at once.
 */
export function logoutPage(form: string): string {
  const confirmed = form.replace(
    '</form>',
    '<input type="hidden" name="logout" value="yes"></form>',
  );
  return page(
    'Signing out — Demo IdP',
    `<h1>Signing out…</h1>
${confirmed}
<button type="submit" form="op.logoutForm">Sign out</button>
<script>document.getElementById('op.logoutForm').submit()</script>`,
  );
}

/** Shown when sign-out finished without a post-logout redirect. */
export function signedOutPage(): string {
  return page(
    'Signed out — Demo IdP',
    '<h1>Signed out</h1><p class="hint">You have been signed out of the demo IdP.</p>',
  );
}

/** oidc-provider's error page. */
export function errorPage(fields: Readonly<Record<string, unknown>>): string {
  const rows = Object.entries(fields)
    .map(
      ([key, value]) => `<p><strong>${escapeHtml(key)}</strong>: ${escapeHtml(String(value))}</p>`,
    )
    .join('\n');
  return page('Error — Demo IdP', `<h1>Something went wrong</h1>\n${rows}`);
}
