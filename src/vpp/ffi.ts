/**
 * libvppapiclient through Deno FFI: finding and opening the library,
 * `vac_mem_init(0)` once, and the `vac_*` calls as a `VacTransport`. The
 * stats-segment symbols are bound here too (stats.ts reads them); they are
 * optional so a library without them still serves the binary API.
 *
 * Calls that block (`vac_connect`, `vac_disconnect`, `vac_read`, the stats
 * connect/ls/dump/heartbeat) are `nonblocking`: they run on a helper thread
 * and the event loop keeps probing. Helper threads run concurrently, so the
 * stats calls are serialised by stats.ts, and `vac_read` has one caller.
 */

import type { ReadResult, VacTransport } from "./transport.ts";

const SYMBOLS = {
  vac_mem_init: { parameters: ["usize"], result: "void" },
  vac_connect: {
    parameters: ["buffer", "pointer", "pointer", "i32"],
    result: "i32",
    nonblocking: true,
  },
  vac_disconnect: { parameters: [], result: "i32", nonblocking: true },
  vac_get_msg_index: { parameters: ["buffer"], result: "i32" },
  vac_write: { parameters: ["buffer", "i32"], result: "i32" },
  vac_read: {
    parameters: ["buffer", "buffer", "u16"],
    result: "i32",
    nonblocking: true,
  },
  // The same function on the calling thread, only for a message already
  // queued (see readQueued): no helper-thread round trip per reply.
  vac_read_now: {
    name: "vac_read",
    parameters: ["buffer", "buffer", "u16"],
    result: "i32",
  },
  vac_free: { parameters: ["pointer"], result: "void" },

  stat_segment_connect: {
    parameters: ["buffer"],
    result: "i32",
    nonblocking: true,
    optional: true,
  },
  stat_segment_disconnect: { parameters: [], result: "void", optional: true },
  stat_segment_string_vector: {
    parameters: ["pointer", "buffer"],
    result: "pointer",
    optional: true,
  },
  stat_segment_ls: {
    parameters: ["pointer"],
    result: "pointer",
    nonblocking: true,
    optional: true,
  },
  stat_segment_dump: {
    parameters: ["pointer"],
    result: "pointer",
    nonblocking: true,
    optional: true,
  },
  stat_segment_data_free: {
    parameters: ["pointer"],
    result: "void",
    optional: true,
  },
  stat_segment_vec_len: {
    parameters: ["pointer"],
    result: "i32",
    optional: true,
  },
  stat_segment_vec_free: {
    parameters: ["pointer"],
    result: "void",
    optional: true,
  },
  stat_segment_heartbeat: {
    parameters: [],
    result: "f64",
    nonblocking: true,
    optional: true,
  },
  // The library's global stats client (stat_client.h): stats.ts sets its
  // wait bound, for which the library has no exported setter.
  stat_client_main: { type: "pointer", optional: true },
} as const;

/** The bound symbols of libvppapiclient (stats symbols may be null). */
export type VppSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** An opened libvppapiclient, `vac_mem_init(0)` already done. */
export interface VppLibrary {
  /** The path or soname that loaded. */
  readonly path: string;
  readonly symbols: VppSymbols;
}

/**
 * Where the library is looked for when `--vpp-lib` is empty: the loader's
 * own search first, then the Debian multiarch paths of the fd.io packages.
 */
export const DEFAULT_LIBRARY_CANDIDATES: readonly string[] = [
  "libvppapiclient.so",
  "libvppapiclient.so.26.10",
  "/usr/lib/x86_64-linux-gnu/libvppapiclient.so",
  "/usr/lib/x86_64-linux-gnu/libvppapiclient.so.26.10",
  "/usr/lib/libvppapiclient.so",
  "/usr/local/lib/libvppapiclient.so",
];

/** The library could not be opened: names every path tried and the flag. */
export class VppLibraryError extends Error {
  override name = "VppLibraryError";
  constructor(readonly tried: readonly string[], details: readonly string[]) {
    super(
      `cannot load libvppapiclient: tried ${
        tried.map((p, i) => `${p} (${details[i]})`).join("; ")
      }. Install VPP's client library (Debian package "vpp"), point --vpp-lib (MAGLEV_VPP_LIB) at libvppapiclient.so, or run with --vpp=false`,
    );
  }
}

const opened = new Map<string, VppLibrary>();
/** Libraries with a vac_connect in flight or done (by path). */
const linked = new Set<string>();

/**
 * Opens libvppapiclient once per path and process, and runs
 * `vac_mem_init(0)` right after: the library aborts or crashes without it,
 * for `vac_*` and `stat_segment_*` alike.
 *
 * @param path an explicit library path (`--vpp-lib`); empty/undefined tries
 *   `DEFAULT_LIBRARY_CANDIDATES` plus any other installed version.
 * @throws {VppLibraryError} naming every path tried.
 */
export function openVppLibrary(path?: string): VppLibrary {
  const candidates = path ? [path] : defaultCandidates();
  const errors: string[] = [];
  for (const candidate of candidates) {
    const cached = opened.get(candidate);
    if (cached) return cached;
    try {
      const lib = Deno.dlopen(candidate, SYMBOLS);
      lib.symbols.vac_mem_init(0n);
      const library: VppLibrary = { path: candidate, symbols: lib.symbols };
      opened.set(candidate, library);
      return library;
    } catch (e) {
      errors.push(e instanceof Error ? e.message : String(e));
    }
  }
  throw new VppLibraryError(candidates, errors);
}

function defaultCandidates(): string[] {
  const list = [...DEFAULT_LIBRARY_CANDIDATES];
  // Other installed versions (libvppapiclient.so.25.06, ...), newest name last.
  try {
    const dir = "/usr/lib/x86_64-linux-gnu";
    const more = [...Deno.readDirSync(dir)]
      .map((e) => `${dir}/${e.name}`)
      .filter((p) => /\/libvppapiclient\.so\.[0-9.]+$/.test(p))
      .filter((p) => !list.includes(p))
      .sort();
    list.push(...more);
  } catch {
    // unreadable or absent: the fixed list is all we have.
  }
  return list;
}

/** NUL-terminated copy of a string for `char *` parameters. */
export function cString(s: string): Uint8Array<ArrayBuffer> {
  const bytes = new TextEncoder().encode(s);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/**
 * The `vac_*` calls as a `VacTransport`. `read` copies each message out of
 * shared memory and frees it with `vac_free` exactly once.
 */
export function vacTransport(lib: VppLibrary): VacTransport {
  const s = lib.symbols;
  const dataOut = new Uint8Array(8);
  const lenOut = new Uint8Array(4);
  let mine = false;
  let queue: Deno.UnsafePointerView | null = null;
  return {
    async connect(name, apiPrefix, rxQlen) {
      queue = null;
      // One connection per process: a second vac_connect crashes the library.
      if (linked.has(lib.path)) {
        throw new Error(
          `${lib.path} is already connected to VPP in this process (one VppClient per process)`,
        );
      }
      linked.add(lib.path);
      mine = true;
      const nameBuf = cString(name);
      const prefixBuf = apiPrefix ? cString(apiPrefix) : null;
      let rv = -1;
      try {
        rv = await s.vac_connect(
          nameBuf,
          prefixBuf ? Deno.UnsafePointer.of(prefixBuf) : null,
          null,
          rxQlen,
        );
      } finally {
        // Keep the prefix buffer alive until the call returned.
        prefixBuf?.fill(0);
        if (rv !== 0) {
          linked.delete(lib.path);
          mine = false;
        }
      }
      return rv;
    },
    async disconnect() {
      // The queue goes away with the segment: never look at it again.
      queue = null;
      const rv = await s.vac_disconnect();
      if (mine) linked.delete(lib.path);
      mine = false;
      return rv;
    },
    msgIndex(key) {
      return s.vac_get_msg_index(cString(key));
    },
    write(bytes) {
      return s.vac_write(bytes, bytes.length);
    },
    async read(timeoutS): Promise<ReadResult> {
      return take(await s.vac_read(dataOut, lenOut, timeoutS));
    },
    attachQueue(queueVa, rxQlen) {
      queue = null;
      const why = checkQueue(queueVa, rxQlen);
      if (why === undefined) {
        queue = new Deno.UnsafePointerView(
          Deno.UnsafePointer.create(queueVa)!,
        );
      }
      return why;
    },
    readQueued(): ReadResult | undefined {
      // Two or more: if the first is a keepalive, which vac_read answers
      // itself before reading on, the next is still there, so the call
      // cannot wait. The last one is left to read().
      if (queue === null || queue.getInt32(QUEUE_CURSIZE) < 2) return undefined;
      return take(s.vac_read_now(dataOut, lenOut, 0));
    },
  };

  function take(rv: number): ReadResult {
    if (rv !== 0) return { rv };
    const len = new DataView(lenOut.buffer).getInt32(0, true);
    const ptr = Deno.UnsafePointer.create(
      new DataView(dataOut.buffer).getBigUint64(0, true),
    );
    if (ptr === null) return { rv: -1 };
    const data = new Uint8Array(Math.max(0, len));
    if (len > 0) new Deno.UnsafePointerView(ptr).copyInto(data);
    s.vac_free(ptr);
    return { rv: 0, data };
  }
}

// svm_queue_t (svm/queue.h): a pthread mutex and condvar, then int head,
// tail, cursize, maxsize, elsize, consumer_pid. glibc's mutex is 40 bytes on
// x86_64 and 48 on aarch64; the condvar 48 on both.
const QUEUE_INTS = Deno.build.arch === "aarch64" ? 96 : 88;
const QUEUE_CURSIZE = QUEUE_INTS + 8;
const QUEUE_MAXSIZE = QUEUE_INTS + 12;
const QUEUE_ELSIZE = QUEUE_INTS + 16;
const QUEUE_CONSUMER_PID = QUEUE_INTS + 20;
const QUEUE_HEADER_BYTES = QUEUE_INTS + 32;

/**
 * Why the receive queue at `va` must not be read from here, or undefined
 * when it is safe: mapped readable in this process (checked before any
 * read, so a wrong address cannot crash), and its header says what
 * vac_connect created for us (`rxQlen` pointer-sized slots, this pid).
 */
export function checkQueue(va: bigint, rxQlen: number): string | undefined {
  if (va <= 0n || va % 8n !== 0n) {
    return `queue address 0x${va.toString(16)} is not plausible`;
  }
  let maps: string;
  try {
    maps = Deno.readTextFileSync("/proc/self/maps");
  } catch (e) {
    return `cannot read /proc/self/maps: ${e instanceof Error ? e.message : e}`;
  }
  const end = va + BigInt(QUEUE_HEADER_BYTES);
  const mapped = maps.split("\n").some((line) => {
    const m = /^([0-9a-f]+)-([0-9a-f]+) r/.exec(line);
    return m !== null && BigInt(`0x${m[1]}`) <= va &&
      end <= BigInt(`0x${m[2]}`);
  });
  if (!mapped) {
    return `queue address 0x${va.toString(16)} is not mapped readable here`;
  }
  const view = new Deno.UnsafePointerView(Deno.UnsafePointer.create(va)!);
  const max = view.getInt32(QUEUE_MAXSIZE);
  const el = view.getInt32(QUEUE_ELSIZE);
  const pid = view.getInt32(QUEUE_CONSUMER_PID);
  if (max !== rxQlen || el !== 8 || pid !== Deno.pid) {
    return `queue header does not match (maxsize ${max}, elsize ${el}, consumer pid ${pid}; expected ${rxQlen}, 8, ${Deno.pid})`;
  }
  return undefined;
}
