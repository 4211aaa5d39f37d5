/**
 * A Check server that answers every request with one pre-built allow, served by the transport
 * named on the command line (`grpc-js` or `connect`). Used by `bench/transport.sh` to compare
 * the two gRPC libraries on the Check path with everything else held equal.
 */
import { create } from '@bufbuild/protobuf';
import { CheckResponseSchema } from '../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import { HealthState, ServingStatus } from '../src/wire/health.js';
import { startGrpcServer as startGrpcJs } from './transports/grpc-js-server.js';
import { startGrpcServer as startHttp2 } from '../src/wire/http2/server.js';
import { startGrpcServer as startNodeHttp2 } from './transports/node-http2/server.js';
import { startGrpcServer as startConnect } from './transports/connect-server.js';

const transport = process.argv[2];
const port = Number(process.argv[3] ?? 0);
const start = {
  'grpc-js': startGrpcJs,
  connect: startConnect,
  http2: startHttp2,
  'node-http2': startNodeHttp2,
}[transport ?? ''];
if (start === undefined)
  throw new Error('usage: transport-server.js http2|node-http2|grpc-js|connect PORT');

const allow = create(CheckResponseSchema, {
  status: { code: 0 },
  httpResponse: { case: 'okResponse', value: {} },
});
const health = new HealthState();
health.set(ServingStatus.SERVING);
const server = await start({
  address: '127.0.0.1',
  port,
  maxReceiveMessageBytes: 4 << 20,
  maxSendMessageBytes: 4 << 20,
  check: async () => allow,
  health,
});
process.stdout.write(`listening ${server.port}\n`);
process.on('SIGTERM', () => void server.shutdown(1000).then(() => process.exit(0)));
