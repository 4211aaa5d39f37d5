/**
 * Run the demo identity provider on its own:
 *   node dist/demo/idp/main.js --port 9000 [--host 127.0.0.1] [--client-id gatehouse]
 *     [--client-secret …] [--redirect-uri https://app.localhost:8080/.gatehouse/callback]…
 *     [--post-logout-uri …]…
 * Prints the issuer; Ctrl-C stops it.
 */
import { parseArgs } from 'node:util';
import { startIdp } from './start.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '9000' },
    host: { type: 'string', default: '127.0.0.1' },
    'client-id': { type: 'string', default: 'gatehouse' },
    'client-secret': { type: 'string', default: 'gatehouse-demo-secret' },
    'redirect-uri': { type: 'string', multiple: true },
    'post-logout-uri': { type: 'string', multiple: true },
  },
  strict: true,
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  process.stderr.write(`--port: expected 0-65535, got ${JSON.stringify(values.port)}\n`);
  process.exit(2);
}

const idp = await startIdp({
  port,
  issuerHost: values.host,
  clients: [
    {
      client_id: values['client-id'],
      client_secret: values['client-secret'],
      redirect_uris: values['redirect-uri'] ?? ['http://localhost:8080/.gatehouse/callback'],
      post_logout_redirect_uris: values['post-logout-uri'] ?? [
        'http://localhost:8080/.gatehouse/signed_out',
      ],
    },
  ],
});
process.stdout.write(`${idp.issuer}\n`);
process.stderr.write(
  `demo IdP: issuer ${idp.issuer}, client ${values['client-id']}, users ${idp.users.map((u) => u.username).join(', ')}\n`,
);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void idp.stop().then(() => process.exit(0));
  });
}
