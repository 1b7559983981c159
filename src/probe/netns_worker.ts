/**
 * The inside of a netns worker: enters the network namespace on its own
 * thread (setns only changes the calling thread), then runs ordinary local
 * probes there. Sockets it opens live in the namespace; the main thread stays
 * where it was. `runNetnsWorker` is exported so a bundled single-file build
 * can start the worker from its main entry (it recognises the worker by its
 * name, see NETNS_WORKER_PREFIX).
 */
import type { HealthCheckConfig } from "../config/types.ts";
import { errorText, failureCode, makeResult } from "./deadline.ts";
import {
  CLONE_NEWNET,
  cString,
  EACCES,
  ENOENT,
  EPERM,
  errno,
  libc,
  O_CLOEXEC,
  O_RDONLY,
  strerror,
} from "./libc.ts";
import { LocalProber } from "./local.ts";
import type { ProbeResult, ProbeTarget } from "./types.ts";

/** Worker names start with this, followed by the namespace name. */
export const NETNS_WORKER_PREFIX = "maglev-netns-worker:";
/** Where `ip netns add` pins named namespaces. */
export const NETNS_DIR = "/var/run/netns";

/** Messages to the worker. */
export type ToNetnsWorker =
  | { readonly t: "init"; readonly caCerts?: readonly string[] }
  | {
    readonly t: "probe";
    readonly id: number;
    readonly target: ProbeTarget;
    readonly checkId: number;
    /** Sent the first time a check is used with this worker. */
    readonly check?: HealthCheckConfig;
  }
  | { readonly t: "forget"; readonly checkId: number };

/** Messages from the worker. */
export type FromNetnsWorker =
  | { readonly t: "ready" }
  | { readonly t: "fail"; readonly text: string }
  | { readonly t: "result"; readonly id: number; readonly result: ProbeResult };

/** Path of a named namespace. */
export function netnsPath(name: string): string {
  return `${NETNS_DIR}/${name}`;
}

/** Error text for a name that cannot be a namespace file, else undefined. */
export function invalidNetnsName(name: string): string | undefined {
  if (name === "" || name === "." || name === ".." || name.includes("/")) {
    return `netns "${name}": invalid namespace name`;
  }
  return undefined;
}

/**
 * Moves the calling thread into namespace `name`. Returns an operator-facing
 * error text, or undefined on success. Synchronous on purpose: it must finish
 * before this thread opens any socket.
 */
export function enterNetns(name: string): string | undefined {
  const invalid = invalidNetnsName(name);
  if (invalid) return invalid;
  const path = netnsPath(name);
  const lib = libc();
  const fd = lib.open(cString(path), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const e = errno();
    if (e === ENOENT) return `netns "${name}": no such namespace (${path})`;
    if (e === EACCES || e === EPERM) {
      return `netns "${name}": permission denied opening ${path}`;
    }
    return `netns "${name}": cannot open ${path}: ${strerror(e)}`;
  }
  const r = lib.setns(fd, CLONE_NEWNET);
  const e = r < 0 ? errno() : 0;
  lib.close(fd);
  if (r < 0) {
    if (e === EPERM) {
      return `netns "${name}": operation not permitted (needs CAP_SYS_ADMIN)`;
    }
    return `netns "${name}": setns: ${strerror(e)}`;
  }
  return undefined;
}

interface WorkerScope {
  readonly name: string;
  postMessage(m: FromNetnsWorker): void;
  onmessage: ((ev: MessageEvent<ToNetnsWorker>) => void) | null;
  addEventListener(
    type: "error" | "unhandledrejection",
    fn: (ev: Event & { message?: string; reason?: unknown }) => void,
  ): void;
}

/**
 * Worker entry point: enters the namespace named in the worker's name, then
 * answers probe requests until terminated.
 */
export function runNetnsWorker(): void {
  const scope = globalThis as unknown as WorkerScope;
  const ns = scope.name.startsWith(NETNS_WORKER_PREFIX)
    ? scope.name.slice(NETNS_WORKER_PREFIX.length)
    : scope.name;
  // An unexpected exception would make Deno print a raw stack trace on
  // stderr (breaking --log-format json); report it to the parent instead,
  // which fails the probes in flight and restarts the worker later.
  const crashed = (ev: Event & { message?: string; reason?: unknown }) => {
    ev.preventDefault();
    const why = ev.message ?? errorText(ev.reason);
    scope.postMessage({
      t: "fail",
      text: `netns "${ns}": worker failed: ${why}`,
    });
  };
  scope.addEventListener("error", crashed);
  scope.addEventListener("unhandledrejection", crashed);
  let failure: string | undefined;
  try {
    failure = enterNetns(ns);
  } catch (e) {
    failure = `netns "${ns}": ${errorText(e)}`;
  }
  scope.postMessage(failure ? { t: "fail", text: failure } : { t: "ready" });
  let prober: LocalProber | undefined;
  const checks = new Map<number, HealthCheckConfig>();
  scope.onmessage = (ev) => {
    const m = ev.data;
    if (m.t === "init") {
      prober = new LocalProber({ caCerts: m.caCerts });
    } else if (m.t === "forget") {
      checks.delete(m.checkId);
    } else if (m.t === "probe") {
      if (m.check) checks.set(m.checkId, m.check);
      const check = checks.get(m.checkId);
      const id = m.id;
      if (!check) {
        // Cannot happen with the NetnsProber protocol; answer anyway.
        scope.postMessage({
          t: "result",
          id,
          result: makeResult("L4CON", "internal error: unknown check", 0),
        });
        return;
      }
      if (failure !== undefined || prober === undefined) {
        scope.postMessage({
          t: "result",
          id,
          result: makeResult(
            failureCode(check.type),
            failure ?? "netns worker not initialised",
            0,
          ),
        });
        return;
      }
      prober.probe(m.target, check).then((result) =>
        scope.postMessage({ t: "result", id, result })
      );
    }
  };
}
