/** The flag table of `maglev daemon` (product spec §8). */
import type { FlagSpec } from "../cli/flags.ts";
import { logFlags } from "../cli/log.ts";

/** Every daemon flag; each has a `MAGLEV_*` environment equivalent. */
export const DAEMON_FLAGS: readonly FlagSpec[] = [
  {
    name: "config",
    type: "string",
    default: "/etc/vpp-maglev/maglev.yaml",
    env: "MAGLEV_CONFIG",
    valueName: "FILE",
    help: "YAML configuration file",
  },
  {
    name: "grpc-addr",
    type: "string",
    default: ":9090",
    env: "MAGLEV_GRPC_ADDR",
    valueName: "ADDR",
    help:
      "gRPC listen address (host:port, :port, [v6]:port), or unix:PATH for a socket whose group may change things",
  },
  {
    name: "grpc-idle-timeout",
    type: "string",
    default: "2m",
    env: "MAGLEV_GRPC_IDLE_TIMEOUT",
    valueName: "DURATION",
    help:
      "close a gRPC connection with nothing in flight for this long (open watch streams are pinged and stay)",
  },
  {
    name: "grpc-token-file",
    type: "string",
    default: "",
    env: "MAGLEV_GRPC_TOKEN_FILE",
    valueName: "FILE",
    help:
      "bearer tokens (one per line) that let remote clients pause, disable, reweight, reload and sync; without it only loopback may",
  },
  {
    name: "grpc-tls-cert",
    type: "string",
    default: "",
    env: "MAGLEV_GRPC_TLS_CERT",
    valueName: "FILE",
    help:
      "serve gRPC over TLS with this certificate (PEM; with --grpc-tls-key)",
  },
  {
    name: "grpc-tls-key",
    type: "string",
    default: "",
    env: "MAGLEV_GRPC_TLS_KEY",
    valueName: "FILE",
    help: "the private key of --grpc-tls-cert (PEM)",
  },
  {
    name: "grpc-client-ca",
    type: "string",
    default: "",
    env: "MAGLEV_GRPC_CLIENT_CA",
    valueName: "FILE",
    help:
      "with TLS: clients presenting a certificate this CA signed may change things (mTLS)",
  },
  {
    name: "grpc-allow-remote-mutations",
    type: "boolean",
    default: false,
    env: "MAGLEV_GRPC_ALLOW_REMOTE_MUTATIONS",
    help:
      "let anyone who reaches the gRPC port change things, as the original did (logged as a warning at start)",
  },
  {
    name: "metrics-addr",
    type: "string",
    default: ":9091",
    env: "MAGLEV_METRICS_ADDR",
    valueName: "ADDR",
    help: "Prometheus /metrics listen address; empty disables",
  },
  {
    name: "vpp",
    type: "boolean",
    default: true,
    env: "MAGLEV_VPP",
    help: "program VPP; --vpp=false only health-checks",
  },
  {
    name: "vpp-api-prefix",
    type: "string",
    default: "",
    env: "MAGLEV_VPP_API_PREFIX",
    valueName: "PREFIX",
    help: "VPP api-segment prefix (empty: VPP's default /dev/shm/vpe-api)",
  },
  {
    name: "vpp-stats-socket",
    type: "string",
    default: "/run/vpp/stats.sock",
    env: "MAGLEV_VPP_STATS_SOCKET",
    valueName: "PATH",
    help: "VPP stats segment socket",
  },
  {
    name: "vpp-api-addr",
    type: "string",
    env: "MAGLEV_VPP_API_ADDR",
    valueName: "PATH",
    help:
      "the original's VPP API socket flag: empty turns VPP off (like --vpp=false); a path is accepted, and maglev uses VPP's shared-memory API instead",
  },
  {
    name: "vpp-stats-addr",
    type: "string",
    env: "MAGLEV_VPP_STATS_ADDR",
    valueName: "PATH",
    help: "the original's name for --vpp-stats-socket",
  },
  {
    name: "vpp-lib",
    type: "string",
    default: "",
    env: "MAGLEV_VPP_LIB",
    valueName: "PATH",
    help: "path of libvppapiclient.so (empty: the standard library paths)",
  },
  {
    name: "state-file",
    type: "string",
    default: "/var/lib/vpp-maglev/state.json",
    env: "MAGLEV_STATE_FILE",
    valueName: "FILE",
    help:
      "where pause/disable/weights, verdicts and maglev's own VIPs survive restarts; empty keeps them in memory only",
  },
  {
    name: "dry-run",
    type: "boolean",
    default: false,
    env: "MAGLEV_DRY_RUN",
    help: "compute and log VPP operations without sending them",
  },
  ...logFlags("debug shows every probe"),
  {
    name: "reflection",
    type: "boolean",
    default: true,
    env: "MAGLEV_REFLECTION",
    help: "gRPC server reflection",
  },
  {
    name: "check",
    type: "boolean",
    default: false,
    help:
      "validate the config and exit: 0 valid, 1 parse error, 2 semantic error",
  },
  {
    name: "version",
    type: "boolean",
    default: false,
    help: "print version, commit and build date, then exit",
  },
  { name: "help", type: "boolean", default: false, help: "show this help" },
];
