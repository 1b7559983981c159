/**
 * The stats segment through `stat_segment_*`: per VIP, the lb plugin's four
 * SimpleCounters (indexed by the VIP's pool index) and the VIP route's
 * `/net/route/to` CombinedCounter, summed over threads. One ls + dump per
 * read, retried when VPP's directory changes in between; everything the
 * library allocates is freed. Every stat_segment_* call of the process
 * goes through one queue: the library's stats client is one unlocked
 * global.
 */

import { cString, type VppLibrary } from "./ffi.ts";
import type { CounterIndex } from "./lb.ts";

/** The lb plugin's counter names (no leading slash, with spaces). */
export const LB_COUNTERS = {
  next: "packet from existing sessions",
  first: "first session packet",
  untracked: "untracked packet",
  noServer: "no server configured",
} as const;

/** The FIB counter of packets/bytes forwarded via each load-balance object. */
export const ROUTE_COUNTER = "/net/route/to";

/** `stat_directory_type_t` values used here. */
export const STAT_SCALAR_INDEX = 1;
/** See STAT_SCALAR_INDEX. */
export const STAT_COUNTER_VECTOR_SIMPLE = 2;
/** See STAT_SCALAR_INDEX. */
export const STAT_COUNTER_VECTOR_COMBINED = 3;
/** See STAT_SCALAR_INDEX. */
export const STAT_GAUGE = 9;

/** Packets (and bytes) of one VIP since VPP created its counters. */
export interface VipCounters {
  /** Packets hitting an existing sticky-table entry. */
  readonly next: number;
  /** First packets of new flows. */
  readonly first: number;
  /** New-flow packets that found the sticky table full. */
  readonly untracked: number;
  /** New-flow packets whose bucket had no AS. */
  readonly noServer: number;
  /** All traffic to the VIP prefix (every port). */
  readonly routePackets: number;
  readonly routeBytes: number;
}

/** One dumped entry, reduced to the indexes asked for and summed over threads. */
export interface StatEntry {
  readonly name: string;
  readonly type: number;
  /** SIMPLE counters: index → sum over threads (indexes beyond the vector are absent). */
  readonly simple?: ReadonlyMap<number, number>;
  /** COMBINED counters: index → sums over threads. */
  readonly combined?: ReadonlyMap<
    number,
    { readonly packets: number; readonly bytes: number }
  >;
  /** SCALAR_INDEX and GAUGE values. */
  readonly scalar?: number;
}

const ZERO: VipCounters = {
  next: 0,
  first: 0,
  untracked: 0,
  noServer: 0,
  routePackets: 0,
  routeBytes: 0,
};

/**
 * Per-VIP counters from dumped entries. Missing entries (the lb counters
 * appear with the first VIP) and indexes beyond a vector count as 0.
 */
export function vipCountersFrom(
  entries: readonly StatEntry[],
  targets: ReadonlyMap<string, CounterIndex>,
): Map<string, VipCounters> {
  const byName = new Map(entries.map((e) => [e.name, e]));
  const simple = (name: string, index: number | undefined) =>
    index === undefined ? 0 : byName.get(name)?.simple?.get(index) ?? 0;
  const route = byName.get(ROUTE_COUNTER)?.combined;
  const out = new Map<string, VipCounters>();
  for (const [id, t] of targets) {
    const r = t.routeStatsIndex === undefined
      ? undefined
      : route?.get(t.routeStatsIndex);
    out.set(id, {
      ...ZERO,
      next: simple(LB_COUNTERS.next, t.vipIndex),
      first: simple(LB_COUNTERS.first, t.vipIndex),
      untracked: simple(LB_COUNTERS.untracked, t.vipIndex),
      noServer: simple(LB_COUNTERS.noServer, t.vipIndex),
      routePackets: r?.packets ?? 0,
      routeBytes: r?.bytes ?? 0,
    });
  }
  return out;
}

/** POSIX basic regex anchoring one exact name (the library compiles patterns with regcomp(…, 0)). */
export function exactPattern(name: string): string {
  return `^${name.replace(/[.[\]*^$\\]/g, (c) => `\\${c}`)}$`;
}

/** Options of `VppStats`. */
export interface VppStatsOptions {
  /** Default `/run/vpp/stats.sock`. */
  readonly socketPath?: string;
  /** How often ls+dump is retried when the directory changes in between. Default 5. */
  readonly retries?: number;
  /**
   * How long a call may wait for the one before it to return before it
   * fails instead. A call can hang while VPP is stopped (the segment's
   * socket handshake waits for VPP). Default 10000 ms.
   */
  readonly queueTimeoutMs?: number;
}

/** The stats segment could not be read (not connected, VPP gone, directory churn). */
export class VppStatsError extends Error {
  override name = "VppStatsError";
}

const ENTRY_SIZE = 24; // stat_segment_data_t on x86_64

/**
 * How long the library may spin on VPP's `in_progress` flag per ls, dump
 * or heartbeat. The library's default is forever: a VPP killed or stopped
 * in the middle of a directory update would keep a thread at 100 % CPU and
 * the queue below blocked for good. With a bound, the call fails and the
 * read is retried or reported.
 */
const ACCESS_TIMEOUT_NS = 1_000_000_000n;

/**
 * `stat_client_main.timeout` is the field that bound lives in; the
 * library has no setter for the global client (only a static inline one in
 * its header). Layout from stat_client.h, checked on the freshly mapped
 * values before anything is written: u64 current_epoch @0,
 * shared_header @8, directory_vector @16, ssize_t memory_size @24,
 * u64 timeout @32. Returns false when it did not look right (nothing
 * written).
 */
function boundAccessWait(lib: VppLibrary): boolean {
  const main = lib.symbols.stat_client_main;
  if (!main) return false;
  const view = new Deno.UnsafePointerView(main);
  const header = view.getBigUint64(8);
  const size = view.getBigInt64(24);
  const plausible = header !== 0n && header % 4096n === 0n && size > 0n &&
    size % 4096n === 0n && view.getBigUint64(32) === 0n;
  if (!plausible) return false;
  new DataView(Deno.UnsafePointerView.getArrayBuffer(main, 40))
    .setBigUint64(32, ACCESS_TIMEOUT_NS, true);
  return true;
}

interface GateTask {
  readonly what: string;
  readonly start: () => Promise<void>;
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * Runs every stat_segment_* call of this process one at a time, in order.
 * The library keeps a single global client (`stat_client_main`) and no
 * lock: `stat_segment_connect` zeroes it and `stat_segment_disconnect`
 * unmaps the segment while an ls or dump on a `nonblocking` FFI thread
 * reads through it, which crashed the daemon (SIGSEGV in
 * `stat_segment_access_start`). The vac_* calls share nothing with them
 * that needs this: their only common state is vppinfra's heap, which the
 * library creates with its own lock (`clib_mem_init`), and since VPP 26.06
 * the heap a thread allocates from is its own (before, every non-VPP
 * thread shared slot 0, and vac_* switching it to the API segment's heap
 * would have needed this queue too).
 */
class StatsGate {
  #queue: GateTask[] = [];
  #busy: string | undefined;
  #busySince = 0;

  /**
   * Runs `fn` once every call queued before it has returned. Fails without
   * running it when it could not start within `waitMs`.
   */
  run<T>(what: string, waitMs: number, fn: () => Promise<T> | T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const task: GateTask = {
        what,
        start: async () => {
          try {
            resolve(await fn());
          } catch (e) {
            reject(e);
          }
        },
      };
      task.timer = setTimeout(() => {
        const i = this.#queue.indexOf(task);
        if (i < 0) return;
        this.#queue.splice(i, 1);
        reject(
          new VppStatsError(
            `${what}: the stats segment is busy: ${this.#busy} has not returned for ${
              Math.round(performance.now() - this.#busySince)
            } ms (VPP stopped or hung?)`,
          ),
        );
      }, waitMs);
      this.#queue.push(task);
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#busy !== undefined) return;
    const task = this.#queue.shift();
    if (!task) return;
    clearTimeout(task.timer);
    this.#busy = task.what;
    this.#busySince = performance.now();
    void task.start().finally(() => {
      this.#busy = undefined;
      this.#pump();
    });
  }
}

/**
 * One per isolate. The library's client is one per process: two isolates
 * (workers) of one process must not both use the stats functions.
 */
const GATE = new StatsGate();

/** Which VppStats has the segment of each library (by path) mapped. */
const MAPPED_BY = new Map<string, VppStats>();

/**
 * A stats-segment reader. Connects on first use; call `disconnect()` when
 * the API connection drops (a dead VPP's segment keeps returning frozen
 * values), and the next read connects again. Every call goes through one
 * queue per process (see StatsGate), so any number of callers may overlap.
 */
export class VppStats {
  readonly #lib: VppLibrary;
  readonly #socket: string;
  readonly #retries: number;
  readonly #queueTimeoutMs: number;
  /** The library's global client holds our mapping (changed only inside the gate). */
  #mapped = false;
  /**
   * disconnect() was asked for and has not run yet: whatever runs next in
   * the gate unmaps first, so a drop holds even if its own turn times out.
   */
  #stale = false;

  constructor(lib: VppLibrary, opts: VppStatsOptions = {}) {
    this.#lib = lib;
    this.#socket = opts.socketPath ?? "/run/vpp/stats.sock";
    this.#retries = opts.retries ?? 5;
    this.#queueTimeoutMs = opts.queueTimeoutMs ?? 10_000;
  }

  /** True while the segment is mapped and no disconnect is pending. */
  get connected(): boolean {
    return this.#mapped && !this.#stale;
  }

  /** Maps the stats segment. @throws {VppStatsError} with the library's code explained. */
  connect(): Promise<void> {
    return GATE.run(
      "stat_segment_connect",
      this.#queueTimeoutMs,
      () => this.#connect(),
    );
  }

  /**
   * Unmaps the segment (idempotent). Waits for a read in progress: the
   * library would unmap the memory that read is copying from. Never
   * rejects: the mapping counts as dropped at once, and if this call's turn
   * times out behind a call that does not return, whatever call gets
   * through next unmaps it first.
   */
  disconnect(): Promise<void> {
    this.#stale = true;
    return GATE.run("stat_segment_disconnect", this.#queueTimeoutMs, () => {
      this.#unmap();
    }).catch(() => {});
  }

  /**
   * `/sys/heartbeat`: grows by one every 10 s while VPP lives; 0 right
   * after a directory change. Does not connect.
   */
  heartbeat(): Promise<number> {
    return GATE.run("stat_segment_heartbeat", this.#queueTimeoutMs, () => {
      if (this.#stale) this.#unmap();
      if (!this.#mapped) {
        throw new VppStatsError("stats segment not connected");
      }
      return this.#sym().stat_segment_heartbeat();
    });
  }

  /**
   * `/sys/boottime`: when VPP started, as Unix seconds (a scalar VPP sets
   * once at start); undefined when the segment has no such entry.
   */
  async bootTime(): Promise<number | undefined> {
    const entries = await this.read(
      [exactPattern("/sys/boottime")],
      new Set(),
      new Set(),
    );
    const v = entries.find((e) => e.name === "/sys/boottime")?.scalar;
    return v !== undefined && Number.isFinite(v) && v > 0 ? v : undefined;
  }

  /** Counters per VIP (keys as in `targets`). */
  async readVipCounters(
    targets: ReadonlyMap<string, CounterIndex>,
  ): Promise<Map<string, VipCounters>> {
    const simple = new Set<number>();
    const combined = new Set<number>();
    for (const t of targets.values()) {
      if (t.vipIndex !== undefined) simple.add(t.vipIndex);
      if (t.routeStatsIndex !== undefined) combined.add(t.routeStatsIndex);
    }
    const entries = await this.read(
      [...Object.values(LB_COUNTERS), ROUTE_COUNTER].map(exactPattern),
      simple,
      combined,
    );
    return vipCountersFrom(entries, targets);
  }

  /**
   * One ls + dump of `patterns` (POSIX basic regexes, any may match),
   * keeping only the wanted indexes of counter vectors. Connects first when
   * needed.
   *
   * @throws {VppStatsError} when not connectable, the directory kept
   * changing for every retry, or an earlier call has not returned for
   * `queueTimeoutMs`.
   */
  read(
    patterns: readonly string[],
    simpleIndexes: ReadonlySet<number>,
    combinedIndexes: ReadonlySet<number>,
  ): Promise<StatEntry[]> {
    return GATE.run("stats read", this.#queueTimeoutMs, async () => {
      await this.#connect();
      return await this.#read(patterns, simpleIndexes, combinedIndexes);
    });
  }

  /** Inside the gate only. */
  async #connect(): Promise<void> {
    if (this.#stale) this.#unmap();
    if (this.#mapped) return;
    const s = this.#sym();
    // The library's one global client may hold another instance's mapping:
    // connecting over it would leak it, and that instance's disconnect
    // would later unmap ours.
    const other = MAPPED_BY.get(this.#lib.path);
    if (other) other.#unmap();
    const rv = await s.stat_segment_connect(cString(this.#socket));
    if (rv !== 0) {
      throw new VppStatsError(
        rv === -2
          ? `stat_segment_connect(${this.#socket}) returned -2: cannot connect (VPP down, or a wrong --vpp-stats-socket)`
          : `stat_segment_connect(${this.#socket}) returned ${rv}`,
      );
    }
    this.#mapped = true;
    MAPPED_BY.set(this.#lib.path, this);
    boundAccessWait(this.#lib);
  }

  /** Inside the gate only. */
  #unmap(): void {
    this.#stale = false;
    if (!this.#mapped) return;
    this.#mapped = false;
    if (MAPPED_BY.get(this.#lib.path) === this) {
      MAPPED_BY.delete(this.#lib.path);
    }
    this.#sym().stat_segment_disconnect();
  }

  /** Inside the gate only. */
  async #read(
    patterns: readonly string[],
    simpleIndexes: ReadonlySet<number>,
    combinedIndexes: ReadonlySet<number>,
  ): Promise<StatEntry[]> {
    const s = this.#sym();
    let pv: Deno.PointerValue = null;
    try {
      for (const p of patterns) {
        pv = s.stat_segment_string_vector(pv, cString(p));
      }
      for (let attempt = 0; attempt <= this.#retries; attempt++) {
        // NULL: the directory changed during ls, or VPP held it longer
        // than ACCESS_TIMEOUT_NS.
        const dir = await s.stat_segment_ls(pv);
        if (dir === null) continue;
        let res: Deno.PointerValue = null;
        try {
          res = await s.stat_segment_dump(dir);
          if (res === null) continue; // changed since ls: ls again
          return this.#entries(res, simpleIndexes, combinedIndexes);
        } finally {
          if (res !== null) s.stat_segment_data_free(res);
          s.stat_segment_vec_free(dir);
        }
      }
      throw new VppStatsError(
        `stats directory kept changing: no consistent ls+dump in ${
          this.#retries + 1
        } attempts`,
      );
    } finally {
      if (pv !== null) {
        const n = s.stat_segment_vec_len(pv);
        const view = new Deno.UnsafePointerView(pv);
        for (let i = 0; i < n; i++) {
          s.stat_segment_vec_free(view.getPointer(8 * i));
        }
        s.stat_segment_vec_free(pv);
      }
    }
  }

  #entries(
    res: Deno.PointerObject,
    simpleIndexes: ReadonlySet<number>,
    combinedIndexes: ReadonlySet<number>,
  ): StatEntry[] {
    const s = this.#sym();
    const len = (p: Deno.PointerValue) =>
      p === null ? 0 : s.stat_segment_vec_len(p);
    const view = new Deno.UnsafePointerView(res);
    const out: StatEntry[] = [];
    for (let i = 0, n = len(res); i < n; i++) {
      const at = i * ENTRY_SIZE;
      const namePtr = view.getPointer(at);
      const name = namePtr === null
        ? ""
        : Deno.UnsafePointerView.getCString(namePtr);
      const type = view.getInt32(at + 8);
      if (type === STAT_SCALAR_INDEX || type === STAT_GAUGE) {
        out.push({ name, type, scalar: view.getFloat64(at + 16) });
        continue;
      }
      const perThread = view.getPointer(at + 16);
      if (type === STAT_COUNTER_VECTOR_SIMPLE) {
        const sums = new Map<number, number>();
        for (let t = 0, nt = len(perThread); t < nt; t++) {
          const tp = new Deno.UnsafePointerView(perThread!).getPointer(8 * t);
          const tl = len(tp);
          if (tp === null) continue;
          const tv = new Deno.UnsafePointerView(tp);
          for (const idx of simpleIndexes) {
            if (idx >= tl) continue;
            sums.set(
              idx,
              (sums.get(idx) ?? 0) + Number(tv.getBigUint64(8 * idx)),
            );
          }
        }
        out.push({ name, type, simple: sums });
      } else if (type === STAT_COUNTER_VECTOR_COMBINED) {
        const sums = new Map<number, { packets: number; bytes: number }>();
        for (let t = 0, nt = len(perThread); t < nt; t++) {
          const tp = new Deno.UnsafePointerView(perThread!).getPointer(8 * t);
          const tl = len(tp);
          if (tp === null) continue;
          const tv = new Deno.UnsafePointerView(tp);
          for (const idx of combinedIndexes) {
            if (idx >= tl) continue;
            const prev = sums.get(idx) ?? { packets: 0, bytes: 0 };
            sums.set(idx, {
              packets: prev.packets + Number(tv.getBigUint64(16 * idx)),
              bytes: prev.bytes + Number(tv.getBigUint64(16 * idx + 8)),
            });
          }
        }
        out.push({ name, type, combined: sums });
      } else {
        out.push({ name, type });
      }
    }
    return out;
  }

  /** The stats symbols, or a clear error when the library lacks them. */
  #sym(): StatsSymbols {
    const s = this.#lib.symbols;
    const need = [
      s.stat_segment_connect,
      s.stat_segment_disconnect,
      s.stat_segment_string_vector,
      s.stat_segment_ls,
      s.stat_segment_dump,
      s.stat_segment_data_free,
      s.stat_segment_vec_len,
      s.stat_segment_vec_free,
      s.stat_segment_heartbeat,
    ];
    if (need.some((f) => f === null)) {
      throw new VppStatsError(
        `${this.#lib.path} lacks the stat_segment_* functions: no VPP counters`,
      );
    }
    return s as StatsSymbols;
  }
}

type Symbols = VppLibrary["symbols"];
type StatsSymbols = {
  [K in keyof Symbols as K extends `stat_segment_${string}` ? K : never]:
    NonNullable<Symbols[K]>;
};
