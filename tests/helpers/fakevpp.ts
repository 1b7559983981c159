/**
 * The fake VPP (tests/vpp/fakevpp/): a C stand-in for libvppapiclient.so
 * that models VPP's lb plugin in memory. This module builds it with `cc`
 * into tests/.build/fakevpp/ and drives it:
 *
 * - in-process: `openFakeVpp()` gives a private copy of the library (so
 *   test modules running in parallel in the same Deno process do not share
 *   one fake VPP) plus a typed control handle. Give `path` to the client
 *   under test: dlopen of the same path yields the same instance.
 * - out-of-process (a daemon under test): `fakeVppFiles()` gives env vars
 *   that make the library poll a control file and write a state file.
 *
 * See tests/vpp/fakevpp/README.md for the model, the knobs and the commands.
 */

const SOURCE_DIR = fileUrlPath(new URL("../vpp/fakevpp/", import.meta.url));
const BUILD_DIR = fileUrlPath(new URL("../.build/fakevpp/", import.meta.url));
const SOURCES = ["libvppapiclient.c", "fakevpp.h"] as const;
const CFLAGS = [
  "-shared",
  "-fPIC",
  "-O2",
  "-Wall",
  "-Wextra",
  "-pthread",
] as const;

function fileUrlPath(u: URL): string {
  return decodeURIComponent(u.pathname).replace(/\/$/, "");
}

/** Return code of `fakevpp_ctl` for a command it could not parse or run. */
export const CTL_EBADCMD = -1000;

/** Numeric knobs (`fakevpp_set`), also read from `FAKEVPP_<KNOB>` env vars. */
export type FakeVppKnob =
  | "timeout_scale_ms"
  | "delay_ms"
  | "msg_id_base"
  | "threads"
  | "heartbeat_ms"
  | "auto_gc_ms"
  | "abort_on_misuse"
  | "quiet"
  | "client_index"
  | "connect_delay_ms"
  | "shm_files"
  | "crash_table_len_above"
  | "poll_ms"
  | "start_down";

/** Read-only counters `fakevpp_get` knows besides the knobs. */
export type FakeVppCounter =
  | "vpp_up"
  | "hung"
  | "generation"
  | "crashes"
  | "connected"
  | "conn_alive"
  | "rx_queue"
  | "rx_high_water"
  | "rx_qlen"
  | "backlog"
  | "stalled"
  | "stalls"
  | "outstanding"
  | "misuse"
  | "requests"
  | "unknown_ids"
  | "lost_writes"
  | "dropped"
  | "failed"
  | "ctl_applied"
  | "stats_epoch"
  | "stat_connected"
  | "vips"
  | "ases"
  | "msg_id_base_live";

/** FFI signatures of the real library's functions (README §1.1, §6.2). */
export const VAC_SYMBOLS = {
  vac_mem_init: { parameters: ["usize"], result: "void" },
  vac_connect: {
    parameters: ["buffer", "buffer", "pointer", "i32"],
    result: "i32",
    nonblocking: true,
  },
  vac_connect_sync: {
    name: "vac_connect",
    parameters: ["buffer", "buffer", "pointer", "i32"],
    result: "i32",
  },
  vac_disconnect: { parameters: [], result: "i32", nonblocking: true },
  vac_disconnect_sync: {
    name: "vac_disconnect",
    parameters: [],
    result: "i32",
  },
  vac_get_msg_index: { parameters: ["buffer"], result: "i32" },
  vac_msg_table_size: { parameters: [], result: "i32" },
  vac_msg_table_max_index: { parameters: [], result: "i32" },
  vac_write: { parameters: ["buffer", "i32"], result: "i32" },
  vac_read: {
    parameters: ["buffer", "buffer", "u16"],
    result: "i32",
    nonblocking: true,
  },
  vac_read_sync: {
    name: "vac_read",
    parameters: ["buffer", "buffer", "u16"],
    result: "i32",
  },
  vac_free: { parameters: ["pointer"], result: "void" },
  vac_rx_suspend: { parameters: [], result: "void" },
  vac_rx_resume: { parameters: [], result: "void" },
  vac_set_error_handler: { parameters: ["pointer"], result: "void" },
  stat_segment_connect: { parameters: ["buffer"], result: "i32" },
  stat_segment_disconnect: { parameters: [], result: "void" },
  stat_segment_string_vector: {
    parameters: ["pointer", "buffer"],
    result: "pointer",
  },
  stat_segment_ls: { parameters: ["pointer"], result: "pointer" },
  stat_segment_dump: { parameters: ["pointer"], result: "pointer" },
  stat_segment_dump_entry: { parameters: ["u32"], result: "pointer" },
  stat_segment_index_to_name: { parameters: ["u32"], result: "pointer" },
  stat_segment_data_free: { parameters: ["pointer"], result: "void" },
  stat_segment_vec_len: { parameters: ["pointer"], result: "i32" },
  stat_segment_vec_free: { parameters: ["pointer"], result: "void" },
  stat_segment_heartbeat: { parameters: [], result: "f64" },
  stat_segment_version: { parameters: [], result: "u64" },
} as const satisfies Deno.ForeignLibraryInterface;

/** FFI signatures of the fake's control functions (fakevpp.h). */
export const CONTROL_SYMBOLS = {
  fakevpp_ctl: { parameters: ["buffer", "buffer", "i32"], result: "i32" },
  fakevpp_set: { parameters: ["buffer", "i64"], result: "i32" },
  fakevpp_get: { parameters: ["buffer"], result: "i64" },
  fakevpp_state_json: { parameters: ["buffer", "i32"], result: "i32" },
  fakevpp_reset: { parameters: [], result: "void" },
} as const satisfies Deno.ForeignLibraryInterface;

/** An AS as the fake holds it. */
export interface FakeVppAs {
  readonly address: string;
  readonly weight: number;
  /** Bit 0 = in use; 0 for a deleted AS awaiting garbage collection. */
  readonly flags: number;
  readonly used: boolean;
  readonly in_use_since: number;
  readonly num_buckets: number;
  readonly flows: number;
}

/** A VIP as the fake holds it (removed ones stay until `gc`). */
export interface FakeVppVip {
  readonly index: number;
  readonly prefix: string;
  readonly protocol: number;
  readonly port: number;
  readonly encap: "gre4" | "gre6" | "l3dsr" | "nat4" | "nat6";
  readonly dscp: number;
  readonly srv_type: number;
  readonly target_port: number;
  readonly node_port: number;
  readonly new_flows_table_length: number;
  readonly src_ip_sticky: boolean;
  readonly removed: boolean;
  readonly route_stats_index: number;
  readonly counters: Readonly<Record<string, number>>;
  readonly ases: readonly FakeVppAs[];
}

/** `fakevpp_state_json()` parsed. */
export interface FakeVppState {
  readonly vpp: {
    readonly up: boolean;
    readonly hung: boolean;
    readonly generation: number;
    readonly pid: number;
    readonly crashes: number;
    readonly shm_files: boolean;
    readonly uptime_s: number;
    readonly msg_id_base: number;
    readonly version: string;
    readonly api_prefix: string;
    readonly stats_socket: string;
  };
  readonly client: {
    readonly mem_inited: boolean;
    readonly connected: boolean;
    readonly alive: boolean;
    readonly name: string;
    readonly client_index: number;
    readonly rx_qlen: number;
    readonly callback_mode: boolean;
    readonly rx_queue: number;
    readonly rx_high_water: number;
    readonly backlog: number;
    readonly stalled: boolean;
    readonly stalls: number;
    readonly outstanding: number;
    readonly stat_connected: boolean;
    readonly stat_generation: number;
  };
  readonly knobs: Readonly<Record<FakeVppKnob, number>>;
  readonly msg_ids: Readonly<Record<string, number>>;
  readonly conf: {
    readonly ip4_src_address: string;
    readonly ip6_src_address: string;
    readonly sticky_buckets_per_core: number;
    readonly flow_timeout: number;
  };
  readonly vips: readonly FakeVppVip[];
  readonly routes: readonly { prefix: string; stats_index: number }[];
  readonly stats: {
    readonly epoch: number;
    readonly lb_counters: boolean;
    readonly lb_vector_length: number;
    readonly route_vector_length: number;
    readonly heartbeat: number;
    readonly boottime: number;
  };
  readonly calls: {
    readonly requests: number;
    readonly unknown_ids: number;
    readonly lost_writes: number;
    readonly dropped: number;
    readonly failed: number;
    readonly by_message: Readonly<Record<string, number>>;
    readonly recent: readonly string[];
  };
  readonly faults: readonly {
    message: string;
    kind: "fail" | "drop" | "slow";
    value: number;
    remaining: number;
  }[];
  readonly connect_fail: { readonly rv: number; readonly remaining: number };
  readonly stats_connect_fail: {
    readonly rv: number;
    readonly remaining: number;
  };
  readonly misuse_count: number;
  /** The last 32 misuse reports (calls the real library would crash on). */
  readonly misuse: readonly string[];
  readonly control: {
    readonly file: string;
    /** Bytes of the control file consumed (a new process resumes here). */
    readonly offset: number;
    /** Lines applied by this process. */
    readonly applied: number;
    /** The last 32 lines applied; `tag` is the `@<tag>` line prefix or 0. */
    readonly results: readonly {
      n: number;
      line: string;
      tag: number;
      rv: number;
    }[];
  };
}

/** A control command the fake refused (unknown, malformed). */
export class FakeVppCommandError extends Error {
  override name = "FakeVppCommandError";
  constructor(readonly command: string, readonly detail: string) {
    super(`fakevpp: "${command}": ${detail}`);
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A NUL-terminated C string. */
export function cstr(s: string): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(enc.encode(s).length + 1);
  enc.encodeInto(s, b);
  return b;
}

async function sourceHash(): Promise<string> {
  const parts: Uint8Array[] = [enc.encode(CFLAGS.join(" "))];
  for (const f of SOURCES) {
    parts.push(
      enc.encode(`\0${f}\0`),
      await Deno.readFile(`${SOURCE_DIR}/${f}`),
    );
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** Removes private copies left behind by test processes that are gone. */
async function removeStaleCopies(): Promise<void> {
  const dir = `${BUILD_DIR}/inst`;
  try {
    for await (const e of Deno.readDir(dir)) {
      const m = /^libvppapiclient-(\d+)-/.exec(e.name);
      if (!m) continue;
      try {
        await Deno.stat(`/proc/${m[1]}`);
      } catch {
        await Deno.remove(`${dir}/${e.name}`).catch(() => {});
      }
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

async function build(): Promise<string> {
  const out = `${BUILD_DIR}/libvppapiclient.so`;
  const stamp = `${out}.sha256`;
  const hash = await sourceHash();
  await removeStaleCopies();
  if ((await readText(stamp))?.trim() === hash) {
    try {
      await Deno.stat(out);
      return out;
    } catch { /* rebuild */ }
  }
  await Deno.mkdir(BUILD_DIR, { recursive: true });
  // Unique temp names, then atomic renames: safe when several test
  // processes build at once (they produce identical files).
  const tag = `${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const tmp = `${BUILD_DIR}/.libvppapiclient-${tag}.so`;
  let res: Deno.CommandOutput;
  try {
    res = await new Deno.Command("cc", {
      args: [...CFLAGS, "-o", tmp, `${SOURCE_DIR}/libvppapiclient.c`],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(
        'fakevpp: "cc" not found (install the Debian package "gcc")',
      );
    }
    throw e;
  }
  const diag = dec.decode(res.stderr).trim();
  if (!res.success || diag !== "") {
    await Deno.remove(tmp).catch(() => {});
    throw new Error(
      `fakevpp: cc ${res.success ? "warned" : "failed"}:\n${diag}`,
    );
  }
  await Deno.rename(tmp, out);
  const stampTmp = `${BUILD_DIR}/.stamp-${tag}`;
  await Deno.writeTextFile(stampTmp, hash + "\n");
  await Deno.rename(stampTmp, stamp);
  return out;
}

let building: Promise<string> | undefined;

/**
 * Builds the fake libvppapiclient.so (once per process; again only when the
 * C sources changed) and returns its path. Shared by every caller: for a
 * fake VPP of your own, use `openFakeVpp()`. With `FAKEVPP_LIB` set (for
 * example to a sanitizer build from `make asan`), returns that path instead.
 */
export function buildFakeVpp(): Promise<string> {
  const prebuilt = Deno.env.get("FAKEVPP_LIB");
  if (prebuilt) return Promise.resolve(prebuilt);
  building ??= build().catch((e) => {
    building = undefined;
    throw e;
  });
  return building;
}

type ControlLib = Deno.DynamicLibrary<typeof CONTROL_SYMBOLS>;

/** Typed access to the control functions of one loaded fake VPP. */
export class FakeVppControl {
  constructor(private readonly sym: ControlLib["symbols"]) {}

  /** Runs a control command (README "Control commands"); returns its rv. */
  ctl(command: string): number {
    const err = new Uint8Array(512);
    const rv = this.sym.fakevpp_ctl(cstr(command), err, err.length);
    if (rv === CTL_EBADCMD) {
      const n = err.indexOf(0);
      throw new FakeVppCommandError(
        command,
        dec.decode(err.subarray(0, n < 0 ? err.length : n)),
      );
    }
    return rv;
  }

  /** Like `ctl`, but throws unless the command answered 0. */
  must(command: string): void {
    const rv = this.ctl(command);
    if (rv !== 0) throw new FakeVppCommandError(command, `answered ${rv}`);
  }

  /** Sets a numeric knob. */
  set(knob: FakeVppKnob, value: number): void {
    if (this.sym.fakevpp_set(cstr(knob), BigInt(value)) !== 0) {
      throw new Error(`fakevpp: unknown knob ${knob}`);
    }
  }

  /** Reads a knob or a counter. */
  get(key: FakeVppKnob | FakeVppCounter): number {
    const v = this.sym.fakevpp_get(cstr(key));
    const n = typeof v === "bigint" ? v : BigInt(v);
    if (n === -(2n ** 63n)) throw new Error(`fakevpp: unknown key ${key}`);
    return Number(n);
  }

  /** Everything the fake VPP holds now. */
  state(): FakeVppState {
    let size = 1 << 16;
    for (;;) {
      const buf = new Uint8Array(size);
      const n = this.sym.fakevpp_state_json(buf, size);
      if (n < size) return JSON.parse(dec.decode(buf.subarray(0, n)));
      size = n + 1024;
    }
  }

  /** Knobs back to their env/default values, faults and misuse log
   * cleared, VPP restarted empty. A connected client's link goes dead. */
  reset(): void {
    this.sym.fakevpp_reset();
  }

  /** VPP restarts empty; the client must disconnect and reconnect. */
  restart(): void {
    this.must("restart");
  }

  /** VPP aborts (stale /dev/shm left: connect fails with -1). */
  crash(): void {
    this.must("crash");
  }

  /** VPP stops; `clean` = no stale /dev/shm (connect polls, then -2). */
  stop(clean = false): void {
    this.must(clean ? "stop clean" : "stop");
  }

  /** VPP starts (fresh state) if it is down. */
  start(): void {
    this.must("start");
  }

  /** The next `count` requests of `message` answer `retval`. */
  fail(message: string, retval: number, count: number | "forever" = 1): void {
    this.must(`fail ${message} ${retval} ${count}`);
  }

  /** The next `count` requests of `message` get no reply at all. */
  drop(message: string, count: number | "forever" = 1): void {
    this.must(`drop ${message} ${count}`);
  }

  /** Changes an AS weight behind the client's back; returns VPP's rv. */
  drift(
    vip: { prefix: string; protocol: number; port: number },
    as: string,
    weight: number,
  ): number {
    return this.ctl(
      `drift ${vip.prefix} ${vip.protocol} ${vip.port} ${as} ${weight}`,
    );
  }

  /** Traffic to a VIP index (counters and /net/route/to); returns rv. */
  traffic(
    vipIndex: number,
    packets: number,
    opts: { flows?: number; bytes?: number; thread?: number } = {},
  ): number {
    const kv = Object.entries(opts).map(([k, v]) => ` ${k}=${v}`).join("");
    return this.ctl(`traffic ${vipIndex} ${packets}${kv}`);
  }

  /** Runs the lb garbage collector now. */
  gc(): void {
    this.must("gc");
  }
}

/** One loaded fake VPP and where it lives. */
export interface FakeVpp extends AsyncDisposable {
  /** Path of the library: load exactly this path in the client under test. */
  readonly path: string;
  readonly ctl: FakeVppControl;
  /** Closes the control handle and removes a private copy. */
  close(): Promise<void>;
}

/** Options of `openFakeVpp`. */
export interface OpenFakeVppOptions {
  /** Use the shared build instead of a private copy (one state per process). */
  readonly shared?: boolean;
  /** Knobs to set right after loading. */
  readonly knobs?: Partial<Record<FakeVppKnob, number>>;
}

let copies = 0;

/**
 * Loads a fake VPP. By default it is a private copy of the library file:
 * Deno runs `--parallel` test modules in one process, and dlopen of the same
 * file returns the same instance, so a copy is what isolates a test's VPP.
 */
export async function openFakeVpp(
  opts: OpenFakeVppOptions = {},
): Promise<FakeVpp> {
  const built = await buildFakeVpp();
  let path = built;
  if (!opts.shared) {
    await Deno.mkdir(`${BUILD_DIR}/inst`, { recursive: true });
    path = `${BUILD_DIR}/inst/libvppapiclient-${Deno.pid}-${++copies}-${
      crypto.randomUUID().slice(0, 8)
    }.so`;
    await Deno.copyFile(built, path);
  }
  const lib = Deno.dlopen(path, CONTROL_SYMBOLS);
  const ctl = new FakeVppControl(lib.symbols);
  for (const [k, v] of Object.entries(opts.knobs ?? {})) {
    if (v !== undefined) ctl.set(k as FakeVppKnob, v);
  }
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    lib.close();
    if (path !== built) await Deno.remove(path).catch(() => {});
  };
  return { path, ctl, close, [Symbol.asyncDispose]: close };
}

/** Drives a fake VPP loaded by another process through files. */
export interface FakeVppFiles extends AsyncDisposable {
  readonly dir: string;
  /** Env vars for the child process (add FAKEVPP_<KNOB> as needed). */
  readonly env: Record<string, string>;
  /**
   * Appends a command (as `@<tag> <command>`) and waits until the child
   * applied it; returns its rv. Commands written before the child started
   * are applied when it starts; a restarted child resumes after the last
   * line its predecessor applied.
   */
  ctl(command: string, timeoutMs?: number): Promise<number>;
  /** The child's last written state (undefined before the first write). */
  state(): Promise<FakeVppState | undefined>;
  /** Polls the state until `pred` holds. */
  waitState(
    what: string,
    pred: (s: FakeVppState) => boolean,
    timeoutMs?: number,
  ): Promise<FakeVppState>;
  close(): Promise<void>;
}

/**
 * Control and state files for a fake VPP in a child process (a daemon under
 * test): pass `env` to the child, which must load the library from
 * `buildFakeVpp()`'s path (or a copy of it).
 */
export async function fakeVppFiles(
  knobs: Partial<Record<FakeVppKnob, number>> = {},
): Promise<FakeVppFiles> {
  const dir = await Deno.makeTempDir({ prefix: "fakevpp-" });
  const control = `${dir}/control`;
  const statePath = `${dir}/state.json`;
  await Deno.writeTextFile(control, "");
  const env: Record<string, string> = {
    FAKEVPP_CONTROL: control,
    FAKEVPP_STATE: statePath,
    FAKEVPP_POLL_MS: "10",
  };
  for (const [k, v] of Object.entries(knobs)) {
    if (v !== undefined) env[`FAKEVPP_${k.toUpperCase()}`] = String(v);
  }
  let tag = 0;
  const state = async (): Promise<FakeVppState | undefined> => {
    const t = await readText(statePath);
    return t === undefined ? undefined : JSON.parse(t);
  };
  const waitState = async (
    what: string,
    pred: (s: FakeVppState) => boolean,
    timeoutMs = 5000,
  ): Promise<FakeVppState> => {
    const end = performance.now() + timeoutMs;
    for (;;) {
      const s = await state();
      if (s && pred(s)) return s;
      if (performance.now() > end) {
        throw new Error(`fakevpp: timed out waiting for ${what}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const ctl = async (command: string, timeoutMs = 5000): Promise<number> => {
    if (/[\n#]/.test(command) || command.trim() === "") {
      throw new FakeVppCommandError(command, "one non-empty line, no '#'");
    }
    const t = ++tag;
    await Deno.writeTextFile(control, `@${t} ${command}\n`, { append: true });
    const s = await waitState(
      `control command @${t} "${command}"`,
      (s) => s.control.results.some((x) => x.tag === t),
      timeoutMs,
    );
    const r = s.control.results.find((x) => x.tag === t);
    if (!r) throw new Error(`fakevpp: result of "${command}" fell off`);
    if (r.rv === CTL_EBADCMD) {
      throw new FakeVppCommandError(command, "refused (see child's stderr)");
    }
    return r.rv;
  };
  const close = () => Deno.remove(dir, { recursive: true }).catch(() => {});
  return {
    dir,
    env,
    ctl,
    state,
    waitState,
    close,
    [Symbol.asyncDispose]: close,
  };
}
