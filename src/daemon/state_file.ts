/**
 * The daemon's state file: what must survive a restart (a package upgrade, a
 * crash, a watchdog kill) because the config file does not say it. That is
 * operator state (pause, disable, runtime weights), the last verdict of each
 * backend (so a restart can start from it), and the VIPs maglev created in
 * VPP (so a full sync removes only those, never another tool's).
 *
 * The file is JSON, written whole: to a temporary file in the same
 * directory, fsync'd, then renamed over the old one, so a crash at any point
 * leaves either the old or the new file, never a mix. Parsing is strict and
 * pure; a file that does not parse is reported and ignored by the caller.
 */
import type { Logger } from "../cli/log.ts";
import type { VipKey, VipProtocol } from "../vpp/types.ts";

/** The format version this code writes and reads. */
export const STATE_FILE_VERSION = 1;

/** Where the state file lives unless `--state-file` says otherwise. */
export const DEFAULT_STATE_FILE = "/var/lib/vpp-maglev/state.json";

/** An operator's pause or disable of a backend. */
export interface SavedAdmin {
  readonly state: "paused" | "disabled";
  /** While paused: the state the weights were frozen at. */
  readonly pausedFrom?: "unknown" | "up" | "down";
  readonly atMs: number;
  readonly reason: string;
}

/** The last verdict of a probing backend: up or down as of its last probe. */
export interface SavedVerdict {
  readonly state: "up" | "down";
  /** Wall-clock time of the probe the verdict stands on. */
  readonly atMs: number;
  /** What was probed (address, probe type): a verdict about something else is void. */
  readonly identity: string;
}

/** One backend's saved state. */
export interface SavedBackend {
  readonly admin?: SavedAdmin;
  readonly verdict?: SavedVerdict;
}

/** A weight an operator set at run time. */
export interface SavedWeight {
  readonly frontend: string;
  readonly pool: string;
  readonly backend: string;
  readonly weight: number;
  /** The configured weight it overrode: a config that changes it drops the override. */
  readonly configured: number;
  readonly atMs: number;
}

/** A VIP in VPP, by the fields that identify it. */
export type SavedVip = VipKey;

/** Everything the state file holds. */
export interface SavedState {
  readonly version: typeof STATE_FILE_VERSION;
  readonly savedAtMs: number;
  readonly backends: Readonly<Record<string, SavedBackend>>;
  readonly weights: readonly SavedWeight[];
  /** VIPs maglev created (or an operator handed to it); undefined: never recorded. */
  readonly vips?: readonly SavedVip[];
}

/** A state file that cannot be used, with what is wrong in it. */
export class StateFileError extends Error {
  override name = "StateFileError";
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function need<T>(ok: boolean, where: string, what: string, v: T): T {
  if (!ok) throw new StateFileError(`${where}: ${what}`);
  return v;
}

function str(o: Json, k: string, where: string): string {
  const v = o[k];
  return need(
    typeof v === "string",
    `${where}.${k}`,
    "must be a string",
    v as string,
  );
}

function num(o: Json, k: string, where: string): number {
  const v = o[k];
  return need(
    typeof v === "number" && Number.isFinite(v),
    `${where}.${k}`,
    "must be a number",
    v as number,
  );
}

function oneOf<T extends string>(
  o: Json,
  k: string,
  where: string,
  allowed: readonly T[],
): T {
  const v = str(o, k, where);
  return need(
    (allowed as readonly string[]).includes(v),
    `${where}.${k}`,
    `must be one of ${allowed.join(", ")}, not "${v}"`,
    v as T,
  );
}

function parseBackend(v: unknown, where: string): SavedBackend {
  need(isObject(v), where, "must be an object", v);
  const o = v as Json;
  let admin: SavedAdmin | undefined;
  let verdict: SavedVerdict | undefined;
  if (o.admin !== undefined) {
    const w = `${where}.admin`;
    need(isObject(o.admin), w, "must be an object", o.admin);
    const a = o.admin as Json;
    const state = oneOf(a, "state", w, ["paused", "disabled"] as const);
    admin = {
      state,
      ...(a.pausedFrom === undefined ? {} : {
        pausedFrom: oneOf(
          a,
          "pausedFrom",
          w,
          [
            "unknown",
            "up",
            "down",
          ] as const,
        ),
      }),
      atMs: num(a, "atMs", w),
      reason: str(a, "reason", w),
    };
  }
  if (o.verdict !== undefined) {
    const w = `${where}.verdict`;
    need(isObject(o.verdict), w, "must be an object", o.verdict);
    const d = o.verdict as Json;
    verdict = {
      state: oneOf(d, "state", w, ["up", "down"] as const),
      atMs: num(d, "atMs", w),
      identity: str(d, "identity", w),
    };
  }
  return { ...(admin ? { admin } : {}), ...(verdict ? { verdict } : {}) };
}

/**
 * Parses a state file's text. Throws StateFileError saying what is wrong
 * (not JSON, another version, a field of the wrong type).
 */
export function parseState(text: string): SavedState {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new StateFileError(
      `not valid JSON (${e instanceof Error ? e.message : e})`,
    );
  }
  need(isObject(v), "state file", "must be a JSON object", v);
  const o = v as Json;
  need(
    o.version === STATE_FILE_VERSION,
    "version",
    `is ${
      JSON.stringify(o.version)
    }; this maglev reads version ${STATE_FILE_VERSION}`,
    o.version,
  );
  const savedAtMs = num(o, "savedAtMs", "state file");
  need(isObject(o.backends), "backends", "must be an object", o.backends);
  const backends: Record<string, SavedBackend> = {};
  for (const [name, b] of Object.entries(o.backends as Json)) {
    backends[name] = parseBackend(b, `backends.${name}`);
  }
  need(Array.isArray(o.weights), "weights", "must be a list", o.weights);
  const weights = (o.weights as unknown[]).map((w, i): SavedWeight => {
    const where = `weights[${i}]`;
    need(isObject(w), where, "must be an object", w);
    const x = w as Json;
    return {
      frontend: str(x, "frontend", where),
      pool: str(x, "pool", where),
      backend: str(x, "backend", where),
      weight: num(x, "weight", where),
      configured: num(x, "configured", where),
      atMs: num(x, "atMs", where),
    };
  });
  let vips: SavedVip[] | undefined;
  if (o.vips !== undefined) {
    need(Array.isArray(o.vips), "vips", "must be a list", o.vips);
    vips = (o.vips as unknown[]).map((x, i) => {
      const where = `vips[${i}]`;
      need(isObject(x), where, "must be an object", x);
      const j = x as Json;
      const protocol = num(j, "protocol", where);
      need(
        protocol === 6 || protocol === 17 || protocol === 255,
        `${where}.protocol`,
        `must be 6, 17 or 255, not ${protocol}`,
        protocol,
      );
      return {
        prefix: str(j, "prefix", where),
        protocol: protocol as VipProtocol,
        port: num(j, "port", where),
      };
    });
  }
  return {
    version: STATE_FILE_VERSION,
    savedAtMs,
    backends,
    weights,
    ...(vips ? { vips } : {}),
  };
}

/** The file's text for `s` (stable field order, one backend per line). */
export function encodeState(s: SavedState): string {
  const lines = Object.entries(s.backends).map(([n, b]) =>
    `    ${JSON.stringify(n)}: ${JSON.stringify(b)}`
  );
  const list = (xs: readonly unknown[]) =>
    xs.length === 0
      ? "[]"
      : `[\n${xs.map((x) => `    ${JSON.stringify(x)}`).join(",\n")}\n  ]`;
  return [
    "{",
    `  "version": ${s.version},`,
    `  "savedAtMs": ${s.savedAtMs},`,
    `  "savedAt": ${JSON.stringify(new Date(s.savedAtMs).toISOString())},`,
    lines.length === 0
      ? `  "backends": {},`
      : `  "backends": {\n${lines.join(",\n")}\n  },`,
    `  "weights": ${list(s.weights)}${s.vips ? "," : ""}`,
    ...(s.vips ? [`  "vips": ${list(s.vips)}`] : []),
    "}",
    "",
  ].join("\n");
}

/**
 * The state file on disk. Failures never throw: an unreadable or corrupt
 * file is logged and treated as absent, an unwritable one is logged once
 * (until a write succeeds again) and the daemon carries on without it.
 */
export class StateFile {
  readonly path: string;
  readonly #log: Logger;
  #writeFailing = false;

  constructor(path: string, log: Logger) {
    this.path = path;
    this.#log = log;
  }

  /** The saved state, or undefined when there is none or it cannot be used. */
  load(): SavedState | undefined {
    let text: string;
    try {
      text = Deno.readTextFileSync(this.path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        this.#log.info("state-file-absent", {
          file: this.path,
          meaning: "first start: nothing to restore",
        });
        return undefined;
      }
      this.#log.error("state-file-unreadable", {
        file: this.path,
        error: e instanceof Error ? e.message : String(e),
        meaning:
          "starting without saved operator state; fix the file's permissions",
      });
      return undefined;
    }
    try {
      return parseState(text);
    } catch (e) {
      this.#log.error("state-file-corrupt", {
        file: this.path,
        error: e instanceof Error ? e.message : String(e),
        meaning:
          "starting without saved operator state; the file is replaced at the next change",
      });
      return undefined;
    }
  }

  /** Writes `s` atomically; false (and a warning) when it cannot. */
  save(s: SavedState): boolean {
    const tmp = `${this.path}.tmp`;
    try {
      // The directory is not created: systemd's StateDirectory= (or the
      // operator) makes it with the right owner and mode.
      const f = Deno.openSync(tmp, {
        write: true,
        create: true,
        truncate: true,
        mode: 0o640,
      });
      try {
        const bytes = new TextEncoder().encode(encodeState(s));
        let off = 0;
        while (off < bytes.length) off += f.writeSync(bytes.subarray(off));
        f.syncSync();
      } finally {
        f.close();
      }
      Deno.renameSync(tmp, this.path);
    } catch (e) {
      try {
        Deno.removeSync(tmp);
      } catch {
        // never created
      }
      if (!this.#writeFailing) {
        this.#writeFailing = true;
        this.#log.warn("state-file-unwritable", {
          file: this.path,
          error: e instanceof Error ? e.message : String(e),
          meaning:
            "operator state (pause, disable, weights) will not survive a restart; create the directory (the package does, with systemd StateDirectory=), make it writable, or set --state-file",
        });
      }
      return false;
    }
    if (this.#writeFailing) {
      this.#writeFailing = false;
      this.#log.info("state-file-writable", { file: this.path });
    }
    return true;
  }
}
