import type * as grpc from '@grpc/grpc-js';
import { fromBinary, toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import {
  CheckRequestSchema,
  CheckResponseSchema,
} from '../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import {
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
  HealthListRequestSchema,
  HealthListResponseSchema,
} from '../../src/gen/grpc/health/v1/health_pb.js';

/**
 * grpc-js service definitions for the two services Gatehouse serves, (de)serialised with
 * protobuf-es directly: one binary decode per request, no JSON or intermediate objects.
 */
function method<I extends DescMessage, O extends DescMessage>(
  path: string,
  input: I,
  output: O,
  responseStream = false,
): grpc.MethodDefinition<MessageShape<I>, MessageShape<O>> {
  return {
    path,
    requestStream: false,
    responseStream,
    requestSerialize: (m) => Buffer.from(toBinary(input, m)),
    requestDeserialize: (b) => fromBinary(input, b),
    responseSerialize: (m) => {
      const bytes = toBinary(output, m);
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
    responseDeserialize: (b) => fromBinary(output, b),
  };
}

export const AUTHORIZATION = {
  Check: method(
    '/envoy.service.auth.v3.Authorization/Check',
    CheckRequestSchema,
    CheckResponseSchema,
  ),
};

export const HEALTH = {
  Check: method(
    '/grpc.health.v1.Health/Check',
    HealthCheckRequestSchema,
    HealthCheckResponseSchema,
  ),
  List: method('/grpc.health.v1.Health/List', HealthListRequestSchema, HealthListResponseSchema),
  Watch: method(
    '/grpc.health.v1.Health/Watch',
    HealthCheckRequestSchema,
    HealthCheckResponseSchema,
    true,
  ),
};
