/**
 * Probing from inside a named network namespace. A single Worker enters the
 * namespace once (setns on its own thread) and runs every probe there; this
 * side forwards requests and resolves results by id. Failures to enter the
 * namespace fail every probe with an operator-readable text, and entering is
 * retried (with a new worker) at most every few seconds, so a namespace
 * created after start begins to work without a restart.
 */
import type { HealthCheckConfig } from "../config/types.ts";
import type { ProbeCode } from "../health/types.ts";
import { failureCode, LATE_TIMER_MS, makeResult } from "./deadline.ts";
import {
  type FromNetnsWorker,
  invalidNetnsName,
  NETNS_WORKER_PREFIX,
  netnsPath,
  type ToNetnsWorker,
} from "./netns_worker.ts";
import type { Prober, ProbeResult, ProbeTarget } from "./types.ts";

/** Options of a NetnsProber. */
export interface NetnsProberOptions {
  /** Namespace name, as in /var/run/netns/<name>. */
  readonly netns: string;
  /** Trusted CA certificates (PEM), replacing the default roots. */
  readonly caCerts?: readonly string[];
  /** Module the worker runs; default ./netns_worker_main.ts. */
  readonly workerUrl?: URL;
  /** Least time between attempts to (re-)enter the namespace; default 5 s. */
  readonly retryIntervalMs?: number;
}

/** How much later than its own timeout a worker answer may come. */
const ANSWER_GRACE_MS = 50;
const CAP_SYS_ADMIN = 21n;

interface Waiting {
  readonly resolve: (r: ProbeResult) => void;
  readonly start: number;
  readonly check: HealthCheckConfig;
  timer: ReturnType<typeof setTimeout>;
}

function timeoutCode(check: HealthCheckConfig): ProbeCode {
  if (check.type === "icmp") return "L3TOUT";
  if (check.type === "tcp") return check.params.tls ? "L6TOUT" : "L4TOUT";
  return "L7TOUT";
}

/** Identity of a namespace file, to notice `ip netns del` + `add`. */
function nsIdentity(path: string): string | undefined {
  try {
    const st = Deno.statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/** Runs probes inside a network namespace through one worker thread. */
export class NetnsProber implements Prober {
  readonly netns: string;
  readonly #path: string;
  readonly #caCerts?: readonly string[];
  readonly #workerUrl: URL;
  readonly #retryMs: number;
  #worker: Worker | undefined;
  #workerReady = false;
  #readyWaiters: ((problem: string | undefined) => void)[] = [];
  #identity: string | undefined;
  #checkedAt = 0;
  #failure: { text: string; at: number } | undefined;
  readonly #waiting = new Map<number, Waiting>();
  #nextId = 1;
  #closed = false;
  // Checks get a stable id; the worker is sent a check's body once.
  readonly #checkIds = new WeakMap<HealthCheckConfig, number>();
  #nextCheckId = 1;
  #sent = new Set<number>();
  readonly #forget = new FinalizationRegistry<number>((id) => {
    if (this.#sent.delete(id)) this.#post({ t: "forget", checkId: id });
  });

  constructor(opts: NetnsProberOptions) {
    this.netns = opts.netns;
    this.#path = netnsPath(opts.netns);
    this.#caCerts = opts.caCerts;
    this.#workerUrl = opts.workerUrl ??
      new URL("./netns_worker_main.ts", import.meta.url);
    this.#retryMs = opts.retryIntervalMs ?? 5000;
    // Start the worker now: its ~50 ms of start-up should not eat into the
    // first probe's timeout. A failure here is remembered like any other.
    this.#ensureWorker(performance.now());
  }

  /** Runs one probe in the namespace; never rejects. */
  probe(target: ProbeTarget, check: HealthCheckConfig): Promise<ProbeResult> {
    const start = performance.now();
    const worker = this.#closed ? "prober closed" : this.#ensureWorker(start);
    if (typeof worker === "string") {
      return Promise.resolve(
        makeResult(failureCode(check.type), worker, performance.now() - start),
      );
    }
    let checkId: number | undefined = this.#checkIds.get(check);
    if (checkId === undefined) {
      checkId = this.#nextCheckId++;
      this.#checkIds.set(check, checkId);
      this.#forget.register(check, checkId);
    }
    const first = !this.#sent.has(checkId);
    if (first) this.#sent.add(checkId);
    const id = this.#nextId++;
    const msg: ToNetnsWorker = {
      t: "probe",
      id,
      target: { address: target.address, family: target.family },
      checkId,
      check: first ? check : undefined,
    };
    return new Promise<ProbeResult>((resolve) => {
      // Safety net: a stuck or dead worker must not hold a probe past its
      // timeout. Fired late, the loop was stalled and the worker's answer
      // may be queued behind this timer: one more turn first (as in
      // runWithDeadline), so a busy checker does not report a layer it
      // never saw.
      const due = check.timeoutMs + ANSWER_GRACE_MS;
      let graced = false;
      const fire = () => {
        if (!this.#waiting.has(id)) return;
        if (!graced && performance.now() - start - due > LATE_TIMER_MS) {
          graced = true;
          const w = this.#waiting.get(id)!;
          w.timer = setTimeout(fire, 0);
          return;
        }
        this.#waiting.delete(id);
        resolve(
          makeResult(
            timeoutCode(check),
            `timeout after ${check.timeoutMs}ms (no answer from netns worker)`,
            performance.now() - start,
          ),
        );
      };
      const timer = setTimeout(fire, due);
      this.#waiting.set(id, { resolve, start, check, timer });
      try {
        worker.postMessage(msg);
      } catch (e) {
        // e.g. a check that cannot be cloned: fail this probe, not the worker.
        this.#waiting.delete(id);
        clearTimeout(timer);
        this.#sent.delete(checkId);
        resolve(
          makeResult(
            failureCode(check.type),
            `internal error: ${e instanceof Error ? e.message : String(e)}`,
            performance.now() - start,
          ),
        );
      }
    });
  }

  /**
   * Resolves once the worker is inside the namespace (undefined), or with the
   * reason it cannot get there. For start-up logging, and for tests that
   * must not count the worker's start-up against a probe's timeout.
   */
  ready(): Promise<string | undefined> {
    if (this.#closed) return Promise.resolve("prober closed");
    const w = this.#ensureWorker(performance.now());
    if (typeof w === "string") return Promise.resolve(w);
    if (this.#workerReady) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#readyWaiters.push(resolve));
  }

  /** Stops the worker; probes in flight fail. */
  close(): void {
    this.#closed = true;
    this.#stop("prober closed");
  }

  #post(m: ToNetnsWorker): void {
    this.#worker?.postMessage(m);
  }

  /** The running worker, or the text every probe fails with right now. */
  #ensureWorker(now: number): Worker | string {
    if (this.#worker) {
      if (now - this.#checkedAt < this.#retryMs) return this.#worker;
      // Every retry interval: is it still the namespace we entered?
      this.#checkedAt = now;
      const id = nsIdentity(this.#path);
      if (id === this.#identity) return this.#worker;
      this.#stop(`netns "${this.netns}": namespace was replaced or removed`);
    }
    if (this.#failure && now - this.#failure.at < this.#retryMs) {
      return this.#failure.text;
    }
    const invalid = invalidNetnsName(this.netns);
    if (invalid) return this.#fail(invalid, now);
    const identity = nsIdentity(this.#path);
    if (identity === undefined) {
      return this.#fail(
        `netns "${this.netns}": no such namespace (${this.#path})`,
        now,
      );
    }
    let w: Worker;
    try {
      w = new Worker(this.#workerUrl, {
        type: "module",
        name: NETNS_WORKER_PREFIX + this.netns,
      });
    } catch (e) {
      return this.#fail(
        `netns "${this.netns}": cannot start worker: ${
          e instanceof Error ? e.message : String(e)
        }`,
        now,
      );
    }
    w.onmessage = (ev: MessageEvent<FromNetnsWorker>) => {
      if (this.#worker === w) this.#onMessage(ev.data);
    };
    w.onerror = (ev: ErrorEvent) => {
      ev.preventDefault();
      if (this.#worker === w) {
        this.#fail(`netns "${this.netns}": worker failed: ${ev.message}`);
      }
    };
    w.onmessageerror = () => {
      if (this.#worker === w) {
        this.#fail(`netns "${this.netns}": unreadable message from worker`);
      }
    };
    this.#worker = w;
    this.#workerReady = false;
    this.#identity = identity;
    this.#checkedAt = now;
    this.#failure = undefined;
    this.#sent = new Set();
    w.postMessage(
      { t: "init", caCerts: this.#caCerts } satisfies ToNetnsWorker,
    );
    return w;
  }

  #onMessage(m: FromNetnsWorker): void {
    if (m.t === "result") {
      const w = this.#waiting.get(m.id);
      if (!w) return;
      this.#waiting.delete(m.id);
      clearTimeout(w.timer);
      const r = m.result;
      w.resolve(makeResult(r.code, r.text, performance.now() - w.start));
    } else if (m.t === "ready") {
      this.#workerReady = true;
      this.#wakeReadyWaiters(undefined);
    } else if (m.t === "fail") {
      this.#fail(m.text);
    }
  }

  /** Records a failure, stops the worker, fails waiting probes. */
  #fail(text: string, now = performance.now()): string {
    this.#failure = { text, at: now };
    this.#stop(text);
    return text;
  }

  #wakeReadyWaiters(problem: string | undefined): void {
    const waiters = this.#readyWaiters;
    this.#readyWaiters = [];
    for (const wake of waiters) wake(problem);
  }

  #stop(text: string): void {
    const w = this.#worker;
    this.#worker = undefined;
    this.#workerReady = false;
    w?.terminate();
    this.#wakeReadyWaiters(text);
    for (const [id, p] of this.#waiting) {
      this.#waiting.delete(id);
      clearTimeout(p.timer);
      p.resolve(
        makeResult(
          failureCode(p.check.type),
          text,
          performance.now() - p.start,
        ),
      );
    }
  }
}

/**
 * Quick synchronous check for startup logging: why probing in namespace
 * `name` cannot work, or undefined if it looks fine (file present and
 * readable, CAP_SYS_ADMIN held).
 */
export function netnsProblem(name: string): string | undefined {
  const invalid = invalidNetnsName(name);
  if (invalid) return invalid;
  const path = netnsPath(name);
  try {
    Deno.openSync(path, { read: true }).close();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return `netns "${name}": no such namespace (${path})`;
    }
    if (e instanceof Deno.errors.PermissionDenied) {
      return `netns "${name}": permission denied opening ${path}`;
    }
    return `netns "${name}": cannot open ${path}: ${
      e instanceof Error ? e.message : String(e)
    }`;
  }
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const m = /^CapEff:\s*([0-9a-fA-F]+)$/m.exec(status);
    if (m && (BigInt(`0x${m[1]}`) & (1n << CAP_SYS_ADMIN)) === 0n) {
      return `netns "${name}": operation not permitted (needs CAP_SYS_ADMIN)`;
    }
  } catch {
    // No /proc: let the worker find out.
  }
  return undefined;
}
