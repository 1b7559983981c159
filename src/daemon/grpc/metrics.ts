/**
 * gRPC server metrics under the names Go's grpc-prometheus made standard
 * (`grpc_server_started_total`, `grpc_server_handled_total`, …), so the
 * original system's dashboards and alerts keep working. One connect
 * interceptor counts every call.
 */
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { Counter, Histogram, type Registry } from "prom-client";

/** Go's names of the status codes (codes.Code.String()). */
const CODE_NAMES: Record<number, string> = {
  [Code.Canceled]: "Canceled",
  [Code.Unknown]: "Unknown",
  [Code.InvalidArgument]: "InvalidArgument",
  [Code.DeadlineExceeded]: "DeadlineExceeded",
  [Code.NotFound]: "NotFound",
  [Code.AlreadyExists]: "AlreadyExists",
  [Code.PermissionDenied]: "PermissionDenied",
  [Code.ResourceExhausted]: "ResourceExhausted",
  [Code.FailedPrecondition]: "FailedPrecondition",
  [Code.Aborted]: "Aborted",
  [Code.OutOfRange]: "OutOfRange",
  [Code.Unimplemented]: "Unimplemented",
  [Code.Internal]: "Internal",
  [Code.Unavailable]: "Unavailable",
  [Code.DataLoss]: "DataLoss",
  [Code.Unauthenticated]: "Unauthenticated",
};

/** grpc-prometheus's grpc_type for a method kind. */
function grpcType(kind: string): string {
  switch (kind) {
    case "server_streaming":
      return "server_stream";
    case "client_streaming":
      return "client_stream";
    case "bidi_streaming":
      return "bidi_stream";
    default:
      return "unary";
  }
}

/** Registers the families on `registry`; returns the interceptor that feeds them. */
export function grpcServerMetrics(registry: Registry): Interceptor {
  const registers = [registry];
  const labels = ["grpc_type", "grpc_service", "grpc_method"] as const;
  const started = new Counter({
    name: "grpc_server_started_total",
    help: "Total number of RPCs started on the server.",
    labelNames: labels,
    registers,
  });
  const handled = new Counter({
    name: "grpc_server_handled_total",
    help:
      "Total number of RPCs completed on the server, regardless of success or failure.",
    labelNames: [...labels, "grpc_code"],
    registers,
  });
  const seconds = new Histogram({
    name: "grpc_server_handling_seconds",
    help:
      "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
    labelNames: labels,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const received = new Counter({
    name: "grpc_server_msg_received_total",
    help: "Total number of RPC stream messages received on the server.",
    labelNames: labels,
    registers,
  });
  const sent = new Counter({
    name: "grpc_server_msg_sent_total",
    help: "Total number of gRPC stream messages sent by the server.",
    labelNames: labels,
    registers,
  });
  return (next) => async (req) => {
    const l = {
      grpc_type: grpcType(req.method.methodKind),
      grpc_service: req.service.typeName,
      grpc_method: req.method.name,
    };
    started.inc(l);
    const t0 = performance.now();
    const done = (code: number) => {
      handled.inc({ ...l, grpc_code: CODE_NAMES[code] ?? "OK" });
      seconds.observe(l, (performance.now() - t0) / 1000);
    };
    if (!req.stream) received.inc(l);
    let res;
    try {
      res = await next(req);
    } catch (e) {
      done(ConnectError.from(e).code);
      throw e;
    }
    if (!res.stream) {
      sent.inc(l);
      done(0);
      return res;
    }
    // A stream is handled when its last message is out (or it fails).
    const messages = res.message;
    return {
      ...res,
      message: (async function* () {
        try {
          for await (const m of messages) {
            sent.inc(l);
            yield m;
          }
          done(0);
        } catch (e) {
          done(ConnectError.from(e).code);
          throw e;
        }
      })(),
    };
  };
}
