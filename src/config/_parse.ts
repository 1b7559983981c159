/**
 * Parse stage: YAML text → RawConfig. Finds everything that is wrong with a
 * value on its own (syntax, types, unknown keys, names); relations between
 * values are left to the semantic stage.
 */
import { type Document, isMap, LineCounter, parseDocument } from "yaml";
import { describe, type Entry, isNull, Reader, type Where } from "./_reader.ts";
import { parseBackend, parseFrontend } from "./_parse_frontend.ts";
import { parseHealthCheck } from "./_parse_healthcheck.ts";
import { reportSyntaxErrors } from "./_syntax.ts";
import type {
  RawBackend,
  RawConfig,
  RawFrontend,
  RawHealthCheck,
  RawHealthChecker,
  RawVppLb,
} from "./_raw.ts";
import type { ConfigError } from "./types.ts";
import { CONFIG_KEY_TABLE } from "./keys.ts";

const SECTIONS = CONFIG_KEY_TABLE["maglev"];
const HEALTHCHECKER_KEYS = CONFIG_KEY_TABLE["maglev.healthchecker"];
const VPP_KEYS = CONFIG_KEY_TABLE["maglev.vpp"];
const LB_KEYS = CONFIG_KEY_TABLE["maglev.vpp.lb"];

/** Result of the parse stage: a RawConfig only when there were no errors. */
export interface ParseOutcome {
  readonly errors: readonly ConfigError[];
  readonly raw?: RawConfig;
}

/** Runs the parse stage over the text of `file`. */
export function parseStage(text: string, file: string): ParseOutcome {
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    prettyErrors: false,
    // Checked by the walk instead, to report the key path and the first occurrence.
    uniqueKeys: false,
    stringKeys: true,
    resolveKnownTags: false,
    logLevel: "error",
  });
  const r = new Reader(doc, lines, file);
  if (doc.errors.length > 0) {
    // A broken document's tree is a guess; checking it would bury the real problem.
    reportSyntaxErrors(r, doc);
    return { errors: r.errors };
  }
  const raw = readRoot(r, doc);
  return r.errors.length === 0 && raw !== undefined
    ? { errors: [], raw }
    : { errors: r.errors };
}

function readRoot(r: Reader, doc: Document): RawConfig | undefined {
  const start: Where = { loc: { line: 1, col: 1 }, path: "" };
  const root = r.resolve(doc.contents, start);
  if (root === null || isNull(root)) {
    r.fail(
      start,
      "the file is empty: put the configuration under a top-level maglev: key",
    );
    return undefined;
  }
  const rootWhere: Where = { loc: r.locOf(root, start.loc), path: "" };
  if (!isMap(root)) {
    r.fail(
      rootWhere,
      `the top level must be a mapping with the single key maglev:, got ${
        describe(root)
      }`,
    );
    return undefined;
  }
  const entries = r.known(r.mapEntries(root, rootWhere) ?? [], ["maglev"]);
  const top = entries.find((e) => e.key === "maglev");
  if (top === undefined) {
    r.fail(
      { loc: rootWhere.loc, path: "maglev" },
      "missing key maglev: put the whole configuration under a top-level maglev: key",
    );
    return undefined;
  }
  if (isNull(top.node)) {
    r.fail(
      top,
      "maglev is empty: add the healthchecks, backends and frontends sections",
    );
    return undefined;
  }
  const sections = r.mapEntries(top.node, top);
  if (sections === undefined) return undefined;
  const section = (name: (typeof SECTIONS)[number]) =>
    sections.find((s) => s.key === name);
  r.known(sections, SECTIONS);

  return {
    healthchecker: readHealthChecker(r, section("healthchecker"), top),
    vppLb: readVpp(r, section("vpp"), top),
    healthchecks: named<RawHealthCheck>(
      r,
      section("healthchecks"),
      parseHealthCheck,
    ),
    backends: named<RawBackend>(r, section("backends"), parseBackend),
    frontends: named<RawFrontend>(r, section("frontends"), parseFrontend),
  };
}

/** A section that maps user-chosen names to entries. */
function named<T>(
  r: Reader,
  e: Entry | undefined,
  parse: (r: Reader, e: Entry) => T | undefined,
): T[] {
  if (e === undefined) return [];
  const out: T[] = [];
  for (const entry of r.mapEntries(e.node, e) ?? []) {
    const item = parse(r, entry);
    if (item !== undefined) out.push(item);
  }
  return out;
}

function readHealthChecker(
  r: Reader,
  e: Entry | undefined,
  parent: Where,
): RawHealthChecker {
  const where = { loc: (e ?? parent).loc, path: "maglev.healthchecker" };
  if (e === undefined) return where;
  const out: { -readonly [K in keyof RawHealthChecker]: RawHealthChecker[K] } =
    { ...where };
  for (const f of r.known(r.mapEntries(e.node, e) ?? [], HEALTHCHECKER_KEYS)) {
    if (f.key === "transition-history") out.transitionHistory = r.int(f);
    else {
      const ns = r.string(f);
      if (ns === undefined || ns.value === "") continue; // "" = the current namespace, as in the original
      if (
        /^[^\s/\p{Cc}]{1,255}$/u.test(ns.value) && ns.value !== "." &&
        ns.value !== ".."
      ) out.netns = ns;
      else {r.fail(
          f,
          `invalid netns "${ns.value}": give a namespace name as listed by ip netns (no "/" or spaces)`,
        );}
    }
  }
  return out;
}

function readVpp(r: Reader, e: Entry | undefined, parent: Where): RawVppLb {
  const path = "maglev.vpp.lb";
  if (e === undefined) return { loc: parent.loc, path };
  const lb = r.known(r.mapEntries(e.node, e) ?? [], VPP_KEYS).find((f) =>
    f.key === "lb"
  );
  if (lb === undefined) return { loc: e.loc, path };
  const out: { -readonly [K in keyof RawVppLb]: RawVppLb[K] } = {
    loc: lb.loc,
    path,
  };
  for (const f of r.known(r.mapEntries(lb.node, lb) ?? [], LB_KEYS)) {
    switch (f.key) {
      case "ipv4-src-address":
        out.ipv4SrcAddress = r.address(f);
        break;
      case "ipv6-src-address":
        out.ipv6SrcAddress = r.address(f);
        break;
      case "sync-interval":
        out.syncInterval = r.duration(f);
        break;
      case "sticky-buckets-per-core":
        out.stickyBucketsPerCore = r.int(f);
        break;
      case "flow-timeout":
        out.flowTimeout = r.duration(f);
        break;
      case "startup-min-delay":
        out.startupMinDelay = r.duration(f);
        break;
      case "startup-max-delay":
        out.startupMaxDelay = r.duration(f);
        break;
    }
  }
  return out;
}
