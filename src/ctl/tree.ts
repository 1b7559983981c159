/**
 * The command tree of `maglev ctl`, as data.
 *
 * Parsing, Tab completion, `?` help and the `help` listing all walk this one
 * tree (see parse.ts), so a command added here is parsed, completed and
 * documented at once. Three kinds of node:
 *
 * - keyword: a fixed word (unique prefixes accepted);
 * - dynamic: a name from the daemon (completed live through a NameSource);
 * - value: a typed value checked by a validator (weights, counts, levels).
 *
 * A node's `children` are what must come next. A node's `options` are
 * optional sub-phrases that may follow in any order, each at most once
 * (`watch events [num <n>] [log [level <level>]] [backend] [frontend]`).
 */

import { parsePrefix } from "../config/address.ts";

/** What a complete command does; commands.ts executes it. */
export type Action =
  | "show-version"
  | "show-frontends"
  | "show-frontend"
  | "show-backends"
  | "show-backend"
  | "show-healthchecks"
  | "show-healthcheck"
  | "show-vpp-info"
  | "show-vpp-lb-state"
  | "show-vpp-lb-counters"
  | "sync-vpp-lb-state"
  | "adopt-vpp-lb-vip"
  | "set-backend"
  | "set-weight"
  | "confirm-guard"
  | "watch-events"
  | "config-check"
  | "config-reload"
  | "help"
  | "quit";

/** Arguments collected from slots and keywords while walking, by key. */
export type Args = Readonly<Record<string, string>>;

/**
 * Live names for completion; commands.ts implements it over the API with a
 * short cache, tests with plain lists.
 */
export interface NameSource {
  frontends(): Promise<readonly string[]>;
  backends(): Promise<readonly string[]>;
  healthChecks(): Promise<readonly string[]>;
  /** Pool names of one frontend, in priority order. */
  pools(frontend: string): Promise<readonly string[]>;
  /** Backends of one pool of one frontend. */
  poolBackends(frontend: string, pool: string): Promise<readonly string[]>;
}

interface NodeBase {
  /** One line for `?` help. */
  readonly help: string;
  /** Required continuation: exactly one of these comes next. */
  readonly children?: readonly CmdNode[];
  /** Optional phrases after this node, any order, each once. */
  readonly options?: readonly CmdNode[];
  /** The command is complete here (when nothing more is required). */
  readonly action?: Action;
  /** Arguments this node sets when matched, e.g. `{ op: "pause" }`. */
  readonly set?: Args;
  /** Description for the `help` listing; the listing stops at this node. */
  readonly summary?: string;
}

/** A fixed word. */
export interface KeywordNode extends NodeBase {
  readonly kind: "keyword";
  readonly word: string;
  /** Other spellings accepted in full (never completed or listed). */
  readonly aliases?: readonly string[];
}

/** A name that exists in the daemon, completed live. */
export interface DynamicNode extends NodeBase {
  readonly kind: "dynamic";
  /** Placeholder shown in help, e.g. "<name>". */
  readonly label: string;
  /** Argument key the word is stored under. */
  readonly key: string;
  complete(names: NameSource, args: Args): Promise<readonly string[]>;
}

/** Outcome of validating a value word. */
export type Validated = { readonly value: string } | { readonly error: string };

/** A typed value. */
export interface ValueNode extends NodeBase {
  readonly kind: "value";
  readonly label: string;
  readonly key: string;
  /** Fixed choices, offered by completion (the validator still decides). */
  readonly choices?: readonly string[];
  validate(word: string): Validated;
}

/** Any node of the tree. */
export type CmdNode = KeywordNode | DynamicNode | ValueNode;

function kw(
  word: string,
  help: string,
  rest: Omit<KeywordNode, "kind" | "word" | "help"> = {},
): KeywordNode {
  return { kind: "keyword", word, help, ...rest };
}

/** Accepts an integer in [min, max]; `what` names it in the error. */
export function intValidator(
  what: string,
  min: number,
  max: number,
): (word: string) => Validated {
  return (word) => {
    if (!/^\d+$/.test(word) || Number(word) < min || Number(word) > max) {
      const range = max === Number.MAX_SAFE_INTEGER
        ? `${min} or more`
        : `${min}..${max}`;
      return { error: `${what} must be ${range}` };
    }
    return { value: String(Number(word)) };
  };
}

/** Accepts one of `choices` or a unique prefix of one. */
export function choiceValidator(
  what: string,
  choices: readonly string[],
): (word: string) => Validated {
  return (word) => {
    const w = word.toLowerCase();
    if (choices.includes(w)) return { value: w };
    const hits = choices.filter((c) => c.startsWith(w));
    if (hits.length === 1) return { value: hits[0] };
    return { error: `${what} must be one of ${choices.join(", ")}` };
  };
}

const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

type SlotOverrides = Partial<Omit<DynamicNode, "kind" | "key" | "complete">>;

const frontendName = (rest: SlotOverrides = {}): DynamicNode => ({
  kind: "dynamic",
  label: "<name>",
  key: "frontend",
  help: "frontend name",
  complete: (names) => names.frontends(),
  ...rest,
});

const backendName = (rest: SlotOverrides = {}): DynamicNode => ({
  kind: "dynamic",
  label: "<name>",
  key: "backend",
  help: "backend name",
  complete: (names) => names.backends(),
  ...rest,
});

const SHOW = kw("show", "show state, configuration and versions", {
  children: [
    kw("version", "versions of this client and of the daemon", {
      action: "show-version",
      summary: "versions of this client and of the daemon",
    }),
    kw("frontends", "every frontend (VIP): state, active pool", {
      action: "show-frontends",
      summary: "every frontend (VIP): address, state, active pool",
    }),
    kw("frontend", "one frontend with its pools and weights", {
      children: [frontendName({
        action: "show-frontend",
        summary: "one frontend: pools, backends, configured/effective weights",
      })],
    }),
    kw("backends", "every backend: state, health, last probe", {
      action: "show-backends",
      summary: "every backend: state, health counter, last probe",
    }),
    kw("backend", "one backend with its last probe and history", {
      children: [backendName({
        action: "show-backend",
        summary: "one backend: details, last probe, transition history",
      })],
    }),
    kw("healthchecks", "every health check definition", {
      action: "show-healthchecks",
      summary: "every health check: type, port, intervals, rise/fall",
    }),
    kw("healthcheck", "one health check with every parameter", {
      children: [{
        kind: "dynamic",
        label: "<name>",
        key: "healthcheck",
        help: "health check name",
        complete: (names) => names.healthChecks(),
        action: "show-healthcheck",
        summary: "one health check with every parameter",
      }],
    }),
    kw("vpp", "the VPP dataplane", {
      children: [
        kw("info", "VPP version, pid and connection", {
          action: "show-vpp-info",
          summary: "VPP version, build, pid, boot and connect time",
        }),
        kw("lb", "the VPP lb plugin", {
          children: [
            kw("state", "VIPs and application servers VPP holds now", {
              action: "show-vpp-lb-state",
              summary: "VIPs, application servers and weights in VPP now",
            }),
            kw("counters", "per-VIP packet counters", {
              action: "show-vpp-lb-counters",
              summary: "per-VIP packet counters from the stats segment",
            }),
          ],
        }),
      ],
    }),
  ],
});

const SET = kw("set", "operator actions", {
  children: [
    kw("backend", "pause, resume, enable or disable a backend", {
      children: [backendName({
        summary: "pause/resume probing, or disable/enable (flush) a backend",
        children: [
          kw("pause", "stop probing; the weight stays as it is", {
            action: "set-backend",
            set: { op: "pause" },
          }),
          kw("resume", "probe again, starting from unknown", {
            action: "set-backend",
            set: { op: "resume" },
          }),
          kw("enable", "put a disabled backend back (from unknown)", {
            action: "set-backend",
            set: { op: "enable" },
          }),
          kw("disable", "take it out: weight 0, flows flushed", {
            action: "set-backend",
            set: { op: "disable" },
          }),
        ],
      })],
    }),
    kw("frontend", "change a frontend at run time", {
      children: [frontendName({
        children: [
          kw("guard", "its mass-failure guard (min-healthy)", {
            children: [kw("confirm", "accept the failures it holds back", {
              action: "confirm-guard",
              summary:
                "let the weights a tripped min-healthy guard holds go to what the checks say",
            })],
          }),
          kw("pool", "a pool of the frontend", {
            children: [{
              kind: "dynamic",
              label: "<pool>",
              key: "pool",
              help: "pool name",
              complete: (names, args) =>
                args.frontend
                  ? names.pools(args.frontend)
                  : Promise.resolve([]),
              children: [kw("backend", "a backend of the pool", {
                children: [{
                  kind: "dynamic",
                  label: "<name>",
                  key: "backend",
                  help: "backend name",
                  complete: (names, args) =>
                    args.frontend && args.pool
                      ? names.poolBackends(args.frontend, args.pool)
                      : Promise.resolve([]),
                  children: [kw("weight", "set its weight", {
                    children: [{
                      kind: "value",
                      label: "<0-100>",
                      key: "weight",
                      help: "weight 0..100 (0 drains it)",
                      validate: intValidator("weight", 0, 100),
                      action: "set-weight",
                      summary:
                        "set a pool member's weight at run time (survives reloads)",
                    }],
                  })],
                }],
              })],
            }],
          }),
        ],
      })],
    }),
  ],
});

const SYNC = kw("sync", "reconcile VPP with the desired state", {
  children: [kw("vpp", "the VPP dataplane", {
    children: [kw("lb", "the VPP lb plugin", {
      children: [kw("state", "program VIPs, ASes and weights into VPP", {
        action: "sync-vpp-lb-state",
        summary: "reconcile VPP with the desired state (all frontends, or one)",
        options: [
          frontendName({
            label: "<frontend>",
            help: "only this frontend (never deletes VIPs)",
          }),
          kw("dry-run", "only show the operations, send nothing", {
            aliases: ["--dry-run"],
            set: { dryRun: "true" },
          }),
        ],
      })],
    })],
  })],
});

const WATCH = kw("watch", "follow live events", {
  children: [kw("events", "snapshot, then live events until a key press", {
    action: "watch-events",
    summary: "a snapshot, then live events, until a key or Ctrl-C",
    options: [
      kw("num", "stop after this many events", {
        children: [{
          kind: "value",
          label: "<n>",
          key: "num",
          help: "number of events (1 or more)",
          validate: intValidator("num", 1, Number.MAX_SAFE_INTEGER),
        }],
      }),
      kw("log", "include the daemon's log records", {
        set: { log: "true" },
        options: [kw("level", "lowest log level to include (default info)", {
          children: [{
            kind: "value",
            label: "<level>",
            key: "level",
            help: "debug, info, warn or error",
            choices: LOG_LEVELS,
            validate: choiceValidator("level", LOG_LEVELS),
          }],
        })],
      }),
      kw("backend", "include backend transitions", {
        set: { backend: "true" },
      }),
      kw("frontend", "include frontend state changes", {
        set: { frontend: "true" },
      }),
    ],
  })],
});

const CONFIG = kw("config", "the daemon's config file", {
  children: [
    kw("check", "validate the file on disk without applying it", {
      action: "config-check",
      summary: "validate the config file on disk without applying it",
    }),
    kw("reload", "re-read and apply the file (like SIGHUP)", {
      action: "config-reload",
      summary: "re-read and apply the config file (like SIGHUP)",
    }),
  ],
});

const ADOPT = kw("adopt", "hand something maglev did not create to it", {
  children: [kw("vpp", "the VPP dataplane", {
    children: [kw("lb", "the VPP lb plugin", {
      children: [kw("vip", "a VIP another tool (or a person) made", {
        children: [{
          kind: "value",
          label: "<prefix>",
          key: "prefix",
          help: "the VIP's prefix as VPP shows it, e.g. 192.0.2.1/32",
          validate: (word) => {
            try {
              const p = parsePrefix(word);
              return { value: `${p.network}/${p.prefixLength}` };
            } catch (e) {
              return { error: e instanceof Error ? e.message : String(e) };
            }
          },
          children: [{
            kind: "value",
            label: "<protocol>",
            key: "protocol",
            help: "its protocol: tcp, udp or any",
            validate: choiceValidator("protocol", ["tcp", "udp", "any"]),
            children: [{
              kind: "value",
              label: "<port>",
              key: "port",
              help: "its port (0 for any)",
              validate: intValidator("port", 0, 65535),
              action: "adopt-vpp-lb-vip",
              summary:
                "let maglev manage a VIP it did not create: the next full sync removes it unless a frontend claims it",
            }],
          }],
        }],
      })],
    })],
  })],
});

/** The root words, in the order they are listed. */
export const COMMAND_TREE: readonly CmdNode[] = [
  SHOW,
  SET,
  SYNC,
  ADOPT,
  WATCH,
  CONFIG,
  kw("help", "list every command", { action: "help", summary: "this list" }),
  kw("quit", "leave the shell", {
    action: "quit",
    summary: "leave the shell",
  }),
  kw("exit", "leave the shell", { action: "quit", summary: "leave the shell" }),
];

/** How a node is written in help: its word, or its placeholder. */
export function nodeLabel(node: CmdNode): string {
  return node.kind === "keyword" ? node.word : node.label;
}
