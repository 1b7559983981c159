/** Parse stage for `maglev.backends.<name>` and `maglev.frontends.<name>` with their pools. */
import { isMap } from "yaml";
import {
  childPath,
  describe,
  type Entry,
  type Field,
  isNull,
  type Reader,
} from "./_reader.ts";
import type {
  RawAddress,
  RawBackend,
  RawFrontend,
  RawMember,
  RawPool,
} from "./_raw.ts";
import type { Protocol } from "./types.ts";
import { CONFIG_KEY_TABLE } from "./keys.ts";

const BACKEND_KEYS = CONFIG_KEY_TABLE["maglev.backends.<name>"];
const FRONTEND_KEYS = CONFIG_KEY_TABLE["maglev.frontends.<name>"];
const POOL_KEYS = CONFIG_KEY_TABLE["maglev.frontends.<name>.pools[]"];
const MEMBER_KEYS = CONFIG_KEY_TABLE[
  "maglev.frontends.<name>.pools[].backends.<name>"
];
const PROTOCOLS: readonly Protocol[] = ["tcp", "udp", "any"];

/** Reads one backend; undefined when required keys are missing or broken. */
export function parseBackend(r: Reader, e: Entry): RawBackend | undefined {
  r.checkName(e, "backend");
  if (isNull(e.node)) {
    r.fail(e, `backend ${e.key} is empty: add address: and healthcheck:`);
    return undefined;
  }
  const entries = r.mapEntries(e.node, e);
  if (entries === undefined) return undefined;
  let address: Field<RawAddress> | undefined;
  let healthcheck: Field<string> | undefined;
  let enabled: Field<boolean> | undefined;
  for (const f of r.known(entries, BACKEND_KEYS)) {
    if (f.key === "address") address = r.address(f);
    else if (f.key === "healthcheck") healthcheck = r.string(f);
    else enabled = r.bool(f);
  }
  requireKey(
    r,
    e,
    entries,
    "address",
    "the backend's IP address, e.g. address: 198.51.100.10",
  );
  requireKey(
    r,
    e,
    entries,
    "healthcheck",
    "the name of an entry of maglev.healthchecks",
  );
  if (address === undefined || healthcheck === undefined) return undefined;
  return {
    name: e.key,
    loc: e.loc,
    path: e.path,
    address,
    healthcheck,
    enabled,
  };
}

/** Reads one frontend; undefined when its address is missing or broken. */
export function parseFrontend(r: Reader, e: Entry): RawFrontend | undefined {
  r.checkName(e, "frontend");
  if (isNull(e.node)) {
    r.fail(e, `frontend ${e.key} is empty: add address:, port: and pools:`);
    return undefined;
  }
  const entries = r.mapEntries(e.node, e);
  if (entries === undefined) return undefined;
  const out: {
    description?: Field<string>;
    address?: Field<RawAddress>;
    protocol?: Field<Protocol>;
    port?: Field<number>;
    srcIpSticky?: Field<boolean>;
    flushOnDown?: Field<boolean>;
    minHealthy?: Field<string>;
    pools?: Field<readonly RawPool[]>;
  } = {};
  for (const f of r.known(entries, FRONTEND_KEYS)) {
    switch (f.key) {
      case "description":
        out.description = r.string(f);
        break;
      case "address":
        out.address = r.address(f);
        break;
      case "protocol":
        out.protocol = r.oneOf(f, PROTOCOLS);
        break;
      case "port":
        out.port = r.int(f);
        break;
      case "src-ip-sticky":
        out.srcIpSticky = r.bool(f);
        break;
      case "flush-on-down":
        out.flushOnDown = r.bool(f);
        break;
      case "min-healthy":
        out.minHealthy = r.string(f);
        break;
      case "pools":
        out.pools = parsePools(r, f);
        break;
    }
  }
  requireKey(
    r,
    e,
    entries,
    "address",
    "the VIP, e.g. address: 192.0.2.1 or 192.0.2.0/28",
  );
  if (out.address === undefined) return undefined;
  return {
    ...out,
    name: e.key,
    loc: e.loc,
    path: e.path,
    address: out.address,
  };
}

function parsePools(
  r: Reader,
  e: Entry,
): Field<readonly RawPool[]> | undefined {
  const items = r.seqItems(e.node, e);
  if (items === undefined) return undefined;
  const pools: RawPool[] = [];
  for (const item of items) {
    const pool = parsePool(r, item);
    if (pool !== undefined) pools.push(pool);
  }
  return { value: pools, loc: e.loc, path: e.path };
}

function parsePool(r: Reader, e: Entry): RawPool | undefined {
  const entries = r.mapEntries(e.node, e);
  if (entries === undefined) return undefined;
  let name: Field<string> | undefined;
  let members: Field<readonly RawMember[]> | undefined;
  for (const f of r.known(entries, POOL_KEYS)) {
    if (f.key === "name") {
      name = r.string(f);
      if (name !== undefined && name.value !== "") {
        r.checkNameValue(name, "pool");
      }
    } else {
      members = parseMembers(r, f);
    }
  }
  return { loc: e.loc, path: e.path, name, members };
}

function parseMembers(
  r: Reader,
  e: Entry,
): Field<readonly RawMember[]> | undefined {
  const entries = r.mapEntries(e.node, e);
  if (entries === undefined) return undefined;
  const members: RawMember[] = [];
  for (const m of entries) {
    r.checkName(m, "backend");
    const where = { loc: m.keyLoc, path: m.path };
    if (isNull(m.node)) {
      members.push({ ...where, backend: m.key });
      continue;
    }
    if (!isMap(m.node)) {
      r.fail(
        m,
        `expected { weight: N } or nothing, got ${
          describe(m.node)
        }: write ${m.key}: { weight: 100 }, or just ${m.key}: for the defaults`,
      );
      continue;
    }
    const fields = r.mapEntries(m.node, m) ?? [];
    let weight: Field<number> | undefined;
    for (const f of r.known(fields, MEMBER_KEYS)) weight = r.int(f);
    members.push({ ...where, backend: m.key, weight });
  }
  return { value: members, loc: e.loc, path: e.path };
}

function requireKey(
  r: Reader,
  e: Entry,
  entries: readonly Entry[],
  key: string,
  what: string,
): void {
  if (entries.some((f) => f.key === key)) return;
  r.fail(
    { loc: e.loc, path: childPath(e.path, key) },
    `missing key ${key}: add ${what}`,
  );
}
