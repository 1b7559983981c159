/**
 * The few libc calls the probes need (raw ICMP sockets, entering a network
 * namespace) and the daemon's systemd notifier (a datagram socket, the
 * monotonic clock), bound once per thread through Deno FFI. Only this file and the
 * ICMP/netns modules know about pointers and errno.
 */

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  setsockopt: {
    parameters: ["i32", "i32", "i32", "buffer", "u32"],
    result: "i32",
  },
  sendto: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"],
    result: "isize",
  },
  // Blocks until a datagram arrives or SO_RCVTIMEO expires: runs off the
  // event loop. Pointers (not buffers) so the memory stays owned by the caller.
  recvfrom: {
    parameters: ["i32", "pointer", "usize", "i32", "pointer", "pointer"],
    result: "isize",
    nonblocking: true,
  },
  close: { parameters: ["i32"], result: "i32" },
  open: { parameters: ["buffer", "i32"], result: "i32" },
  setns: { parameters: ["i32", "i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
} as const;

/** The bound libc symbols (see `SYMBOLS`). */
export type LibcSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** Linux constants used by the probes (x86_64 and aarch64 agree on these). */
export const AF_INET = 2;
/** See AF_INET. */
export const AF_INET6 = 10;
/** See AF_INET. */
export const SOCK_DGRAM = 2;
/** See AF_INET. */
export const SOCK_RAW = 3;
/** See AF_INET. */
export const SOCK_CLOEXEC = 0o2000000;
/** See AF_INET. */
export const IPPROTO_ICMP = 1;
/** See AF_INET. */
export const IPPROTO_ICMPV6 = 58;
/** See AF_INET. */
export const SOL_SOCKET = 1;
/** See AF_INET. */
export const SO_RCVTIMEO = 20;
/** See AF_INET. */
export const SOL_RAW = 255;
/** `ICMP_FILTER` (IPv4 raw) and `ICMP6_FILTER` (IPv6) share the value 1. */
export const ICMP_FILTER = 1;
/** See AF_INET. */
export const MSG_DONTWAIT = 0x40;
/** See AF_INET. */
export const O_RDONLY = 0;
/** See AF_INET. */
export const O_CLOEXEC = 0o2000000;
/** See AF_INET. */
export const CLONE_NEWNET = 0x40000000;
/** errno values the probes tell apart. */
export const EPERM = 1;
/** See EPERM. */
export const ENOENT = 2;
/** See EPERM. */
export const EACCES = 13;

let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;
let loadError: string | undefined;

/**
 * libc for this thread, opened on first use. Throws an Error with a readable
 * message when FFI is not permitted or libc cannot be found.
 */
export function libc(): LibcSymbols {
  if (lib) return lib.symbols;
  if (loadError !== undefined) throw new Error(loadError);
  try {
    lib = Deno.dlopen("libc.so.6", SYMBOLS);
    return lib.symbols;
  } catch (e) {
    loadError = `cannot load libc.so.6 through FFI (${
      e instanceof Error ? e.message : String(e)
    })`;
    throw new Error(loadError);
  }
}

/**
 * errno of the last failed synchronous libc call on this thread. Call it
 * right after the failing call: nothing in between may touch libc.
 */
export function errno(): number {
  const p = libc().__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

/** libc's message for an errno value, e.g. "Operation not permitted". */
export function strerror(code: number): string {
  const p = libc().strerror(code);
  return p === null ? `errno ${code}` : Deno.UnsafePointerView.getCString(p);
}

/** NUL-terminated copy of a string for `const char *` parameters. */
export function cString(s: string): Uint8Array<ArrayBuffer> {
  const bytes = new TextEncoder().encode(s);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}
