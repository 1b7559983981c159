/**
 * Declarative command-line flags with `MAGLEV_*` environment fallbacks.
 *
 * One table per command drives parsing, env lookup and `--help`, so the
 * three never drift apart. Parsing itself is `node:util` parseArgs; this
 * module adds what operators of the original Go tools expect: `-flag` as well
 * as `--flag`, `--bool=false`, and env vars that flags override.
 */
import { parseArgs } from "node:util";

/** One flag of a command. */
export interface FlagSpec {
  /** Long name without dashes, e.g. "grpc-addr". */
  readonly name: string;
  readonly type: "string" | "boolean";
  /** Value when neither flag nor env var is given. */
  readonly default?: string | boolean;
  /** Environment variable that supplies the value when the flag is absent. */
  readonly env?: string;
  /** Placeholder for the value in help output, e.g. "ADDR". */
  readonly valueName?: string;
  /** Restricts a string flag to these values. */
  readonly choices?: readonly string[];
  /**
   * A string flag that may be given several times (`--config a --config b`):
   * every value, in order, is in `ParsedFlags.lists`; `values` has the last.
   */
  readonly multiple?: boolean;
  /** One-line help. */
  readonly help: string;
}

/** Parsed flags: values by long name, plus the remaining words. */
export interface ParsedFlags {
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
  /**
   * Every value of each `multiple` flag, in command-line order; without
   * any on the command line, the env var's value, else the default (an
   * empty list when it has neither).
   */
  readonly lists: Readonly<Record<string, readonly string[]>>;
  /** Names whose value came from the command line (not env or default). */
  readonly explicit: ReadonlySet<string>;
}

/** A mistake in how the command was invoked; printed as one line, exit 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

const TRUE_WORDS = new Set(["true", "1", "yes", "on"]);
const FALSE_WORDS = new Set(["false", "0", "no", "off"]);

/** Interprets "true"/"false"-like words; undefined when it is neither. */
export function parseBool(text: string): boolean | undefined {
  const t = text.trim().toLowerCase();
  if (TRUE_WORDS.has(t)) return true;
  if (FALSE_WORDS.has(t)) return false;
  return undefined;
}

/**
 * Parses `args` against `specs`. Stops at the first positional word when
 * `stopAtPositional` is set, so `maglev ctl --server x show backends` leaves
 * the command words alone.
 */
export function parseFlags(
  specs: readonly FlagSpec[],
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
  opts: { stopAtPositional?: boolean } = {},
): ParsedFlags {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const boolValues = new Map<string, boolean>();
  const rest: string[] = [];
  const tail: string[] = [];
  for (let i = 0; i < args.length; i++) {
    let arg = args[i];
    if (arg === "--") {
      tail.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      if (opts.stopAtPositional) {
        tail.push(...args.slice(i));
        break;
      }
      rest.push(arg);
      continue;
    }
    // Go's flag package accepts -name; map it to --name for known long flags.
    if (!arg.startsWith("--")) {
      const bare = arg.slice(1).split("=")[0];
      if (byName.has(bare)) arg = "-" + arg;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = byName.get(name);
    if (spec?.type === "boolean") {
      if (eq < 0) {
        boolValues.set(name, true);
      } else {
        const v = parseBool(arg.slice(eq + 1));
        if (v === undefined) {
          throw new UsageError(
            `--${name} takes true or false, not "${arg.slice(eq + 1)}"`,
          );
        }
        boolValues.set(name, v);
      }
      continue;
    }
    rest.push(arg);
    // A string flag without "=" takes the next word as its value.
    if (spec?.type === "string" && eq < 0 && i + 1 < args.length) {
      rest.push(args[++i]);
    }
  }

  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: Object.fromEntries(
        specs.filter((s) => s.type === "string").map((s) => [s.name, {
          type: "string" as const,
          multiple: s.multiple === true,
        }]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new UsageError(cleanParseArgsMessage(e, specs));
  }

  const values: Record<string, string | boolean | undefined> = {};
  const lists: Record<string, readonly string[]> = {};
  const explicit = new Set<string>();
  for (const spec of specs) {
    let value: string | boolean | undefined;
    const raw = spec.type === "boolean"
      ? boolValues.get(spec.name)
      : (parsed.values as Record<string, string | string[] | undefined>)[
        spec.name
      ];
    const all = Array.isArray(raw) ? raw : undefined;
    const fromArgs = all ? all[all.length - 1] : raw as string | boolean;
    if (fromArgs !== undefined) {
      value = fromArgs;
      explicit.add(spec.name);
    } else if (spec.env && env[spec.env] !== undefined) {
      const raw = env[spec.env] as string;
      if (spec.type === "boolean") {
        const b = parseBool(raw);
        if (b === undefined) {
          throw new UsageError(
            `${spec.env}=${raw}: expected true or false`,
          );
        }
        value = b;
      } else {
        value = raw;
      }
    } else {
      value = spec.default;
    }
    if (
      spec.choices && typeof value === "string" &&
      !spec.choices.includes(value)
    ) {
      throw new UsageError(
        `--${spec.name} must be one of ${
          spec.choices.join(", ")
        }, not "${value}"`,
      );
    }
    values[spec.name] = value;
    if (spec.multiple) {
      lists[spec.name] = all && all.length > 0
        ? all
        : typeof value === "string" && value !== ""
        ? [value]
        : [];
    }
  }
  return {
    values,
    positionals: [...parsed.positionals, ...tail],
    lists,
    explicit,
  };
}

function cleanParseArgsMessage(e: unknown, specs: readonly FlagSpec[]): string {
  const msg = e instanceof Error ? e.message : String(e);
  const unknown = /Unknown option '([^']+)'/.exec(msg);
  if (unknown) {
    const known = specs.map((s) => "--" + s.name).join(", ");
    return `unknown flag ${unknown[1]} (known flags: ${known})`;
  }
  const missing = /Option '(?:-\w, )?(--[\w-]+) <value>' argument missing/
    .exec(msg);
  if (missing) return `${missing[1]} needs a value`;
  return msg.split("\n")[0];
}

/** Renders the flag table for `--help`. */
export function formatFlagHelp(specs: readonly FlagSpec[]): string {
  const rows = specs.map((s) => {
    const left = s.type === "boolean"
      ? `--${s.name}[=true|false]`
      : `--${s.name} ${s.valueName ?? "VALUE"}`;
    const extras: string[] = [];
    if (s.default !== undefined && s.default !== "") {
      extras.push(`default ${JSON.stringify(s.default)}`);
    }
    if (s.env) extras.push(`env ${s.env}`);
    if (s.multiple) extras.push("repeatable");
    return [left, s.help + (extras.length ? ` (${extras.join("; ")})` : "")];
  });
  const width = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([l, r]) => `  ${l.padEnd(width)}  ${r}`).join("\n");
}
