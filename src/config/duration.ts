/**
 * Go-style duration strings (`250ms`, `1m30s`, `1.5h`), because operators
 * coming from the original daemon already write their config this way.
 *
 * Arithmetic is done in integer nanoseconds (BigInt) so `1.1s` is exactly
 * 1100 ms and not 1100.0000000000002.
 */

const UNIT_NS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  "µs": 1_000n, // U+00B5 micro sign
  "μs": 1_000n, // U+03BC greek mu; Go accepts both
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const UNITS_HELP = "ns, us, ms, s, m or h";
/** Go's limit: an int64 of nanoseconds (about 292 years). */
const MAX_NS = (1n << 63n) - 1n;
/** Long enough for any sane duration; keeps BigInt work bounded. */
const MAX_TEXT = 64;

const NUMBER = /^(\d*)(?:\.(\d*))?/;
const UNIT = /^[^\d.]+/;

/**
 * Parses a Go-style duration into milliseconds (fractional for `us`/`ns`).
 *
 * Accepts a sequence of `<number><unit>` terms (units `ns`, `us`/`µs`, `ms`,
 * `s`, `m`, `h`; the number may have a fraction) or a bare `0`.
 *
 * @example
 * ```ts
 * parseDuration("1m30s"); // 90000
 * parseDuration("500us"); // 0.5
 * ```
 * @throws {RangeError} for empty, negative, unit-less or malformed text.
 */
export function parseDuration(text: string): number {
  if (typeof text !== "string") {
    throw new RangeError(
      `a duration must be a string like "2s", got ${typeof text}`,
    );
  }
  if (text === "") {
    throw new RangeError(
      'empty duration: write a number with a unit, e.g. "2s" or "250ms"',
    );
  }
  if (text.length > MAX_TEXT) {
    throw new RangeError(`duration "${text.slice(0, 20)}…" is too long`);
  }
  if (text.startsWith("-")) {
    throw new RangeError(
      `negative duration "${text}" is not allowed: use a value >= 0`,
    );
  }
  const body = text.startsWith("+") ? text.slice(1) : text;
  if (body === "0") return 0;
  if (body === "") throw malformed(text);

  let total = 0n;
  let rest = body;
  while (rest !== "") {
    const num = NUMBER.exec(rest);
    const whole = num?.[1] ?? "";
    const fraction = num?.[2] ?? "";
    if (whole === "" && fraction === "") throw malformed(text);
    rest = rest.slice(num?.[0].length ?? 0);

    const unitMatch = UNIT.exec(rest);
    if (unitMatch === null) {
      throw new RangeError(
        `duration "${text}" has no unit: add one of ${UNITS_HELP} (e.g. "${text}s")`,
      );
    }
    const unit = unitMatch[0];
    const unitNs = UNIT_NS[unit];
    if (unitNs === undefined) {
      throw new RangeError(
        `unknown unit "${unit}" in duration "${text}": use ${UNITS_HELP}`,
      );
    }
    rest = rest.slice(unit.length);

    total += BigInt(whole === "" ? "0" : whole) * unitNs;
    if (fraction !== "") {
      // Digits beyond nanosecond precision are truncated, as in Go.
      total += (BigInt(fraction) * unitNs) / 10n ** BigInt(fraction.length);
    }
    if (total > MAX_NS) {
      throw new RangeError(
        `duration "${text}" is too large (the limit is about 292 years)`,
      );
    }
  }
  return Number(total) / 1e6;
}

function malformed(text: string): RangeError {
  return new RangeError(
    `invalid duration "${text}": write numbers with units, e.g. "250ms", "2s" or "1m30s"`,
  );
}

/**
 * Formats milliseconds as a compact Go-style duration for display; zero
 * components are left out, so `parseDuration(formatDuration(x)) === x` for
 * whole nanoseconds.
 *
 * @example
 * ```ts
 * formatDuration(90000); // "1m30s"
 * formatDuration(500); // "500ms"
 * formatDuration(3600000); // "1h"
 * ```
 * @throws {RangeError} for NaN or infinite input.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) {
    throw new RangeError(`cannot format ${ms} as a duration`);
  }
  if (ms < 0) return `-${formatDuration(-ms)}`;
  const ns = BigInt(Math.round(ms * 1e6));
  if (ns === 0n) return "0s";
  if (ns < UNIT_NS.us) return `${ns}ns`;
  if (ns < UNIT_NS.ms) return `${decimal(ns, UNIT_NS.us)}µs`;
  if (ns < UNIT_NS.s) return `${decimal(ns, UNIT_NS.ms)}ms`;

  const hours = ns / UNIT_NS.h;
  const minutes = (ns % UNIT_NS.h) / UNIT_NS.m;
  const rest = ns % UNIT_NS.m;
  let out = "";
  if (hours > 0n) out += `${hours}h`;
  if (minutes > 0n) out += `${minutes}m`;
  if (rest > 0n) out += `${decimal(rest, UNIT_NS.s)}s`;
  return out;
}

/** `value / unit` as a decimal string without trailing zeros. */
function decimal(value: bigint, unit: bigint): string {
  const whole = value / unit;
  const fraction = value % unit;
  if (fraction === 0n) return `${whole}`;
  const digits = unit.toString().length - 1;
  const text = fraction.toString().padStart(digits, "0").replace(/0+$/, "");
  return `${whole}.${text}`;
}
