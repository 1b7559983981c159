/**
 * Desired vs actual → the ordered operations that make VPP match. Pure.
 *
 * Rules (product spec §3): add missing VIPs and ASes, set changed weights
 * (with flush where the health model asks for it), delete ASes that are no
 * longer configured (with flush), and — in a full sync only — delete VIPs no
 * frontend claims. A change of src-ip-sticky or encap cannot be applied to a
 * live VIP: its ASes are deleted (flush), the VIP deleted and created again.
 * Within a VIP, ASes are always added in numeric address order (IPv4 first),
 * so every daemon produces the same Maglev table.
 *
 * The order of the operations is part of the result (see `diff`): VPP's
 * rules reach across VIPs of one prefix, and a pool switch must never take
 * weight away before the replacement has it.
 */
import { compareAddresses } from "../config/address.ts";
import type { As, LbState, Vip, VipKey } from "../vpp/types.ts";
import type { DesiredAs, DesiredVip } from "./desired.ts";

/** One change to send to VPP. */
export type Op =
  | { readonly kind: "add-vip"; readonly vip: Vip; readonly frontend: string }
  | {
    readonly kind: "del-vip";
    readonly vip: VipKey;
    readonly frontend?: string;
    /** Why: "unconfigured" (full sync) or "recreate" (sticky/encap change). */
    readonly reason: "unconfigured" | "recreate";
  }
  | {
    readonly kind: "add-as";
    readonly vip: VipKey;
    readonly address: string;
    readonly weight: number;
    readonly frontend: string;
    readonly backend: string;
  }
  | {
    readonly kind: "del-as";
    readonly vip: VipKey;
    readonly address: string;
    readonly flush: true;
    readonly frontend?: string;
  }
  | {
    readonly kind: "set-weight";
    readonly vip: VipKey;
    readonly address: string;
    readonly weight: number;
    readonly flush: boolean;
    readonly frontend: string;
    readonly backend: string;
    /**
     * Lowers a healthy backend while other ASes of the VIP are raised (a
     * pool switch): apply only once those raises went through, never when
     * one of them failed, or the VIP is left with no weight at all.
     */
    readonly afterRaises?: true;
  };

/** Identity of a VIP in VPP. */
export function vipKeyString(k: VipKey): string {
  return `${k.prefix} ${k.protocol} ${k.port}`;
}

/** How a diff is run. */
export interface DiffOptions {
  /** Only these frontends; undefined means a full sync (which may delete VIPs). */
  readonly frontends?: ReadonlySet<string>;
  /**
   * Whether a flush must be sent for an AS whose weight is already right
   * (the health model newly asks for a flush); default never.
   */
  readonly flushPending?: (frontend: string, as: DesiredAs) => boolean;
  /**
   * Whether a full sync may delete a VIP no frontend claims (default: yes).
   * The reconciler says yes only for VIPs maglev created or was handed: a
   * VIP another tool made on the same VPP is not maglev's to delete.
   */
  readonly mayRemove?: (vip: VipKey) => boolean;
  /** Told about each unclaimed VIP that `mayRemove` keeps. */
  readonly onForeign?: (vip: VipKey) => void;
}

function byAddress<T extends { address: string }>(a: T, b: T): number {
  return compareAddresses(a.address, b.address);
}

/**
 * The operations that turn `actual` into `desired`, in the order to send
 * them:
 *
 * 1. Removals that free a prefix: in a full sync the VIPs no frontend
 *    claims, and every VIP to recreate (sticky or encap change), each with
 *    its ASes first. VPP refuses a VIP that conflicts with another on the
 *    same prefix (all-port next to per-port, mixed encaps), so these go
 *    before any VIP is added.
 * 2. VIP by VIP: the VIP if missing, ASes no longer configured (deleted),
 *    then additions and raised weights, then lowered weights of backends
 *    that are down, disabled or otherwise leaving on their own account.
 * 3. Lowered weights of healthy backends in VIPs where something is raised
 *    (`afterRaises`): the caller sends them only after the raises of their
 *    VIP succeeded.
 */
export function diff(
  desired: readonly DesiredVip[],
  actual: LbState,
  opts: DiffOptions = {},
): Op[] {
  const removals: Op[] = [];
  const changes: Op[] = [];
  const afterRaises: Op[] = [];
  const actualVips = new Map(actual.vips.map((v) => [vipKeyString(v), v]));
  const actualAses = new Map<string, As[]>();
  for (const a of actual.ases) {
    const k = vipKeyString(a.vip);
    const list = actualAses.get(k) ?? [];
    list.push(a);
    actualAses.set(k, list);
  }
  const claimed = new Set<string>();
  const flushPending = opts.flushPending ?? (() => false);
  const removeVip = (
    v: VipKey,
    reason: "unconfigured" | "recreate",
    frontend?: string,
  ) => {
    for (
      const a of [...(actualAses.get(vipKeyString(v)) ?? [])].sort(byAddress)
    ) {
      removals.push({
        kind: "del-as",
        vip: v,
        address: a.address,
        flush: true,
        ...(frontend === undefined ? {} : { frontend }),
      });
    }
    removals.push({
      kind: "del-vip",
      vip: v,
      reason,
      ...(frontend === undefined ? {} : { frontend }),
    });
  };

  for (const d of desired) {
    const key = vipKeyString(d.vip);
    claimed.add(key);
    if (opts.frontends && !opts.frontends.has(d.frontend)) continue;
    // Sorted here too: the order rule belongs to the operations, whatever
    // order the caller built the desired state in.
    const wantAses = [...d.ases].sort(byAddress);
    let have = actualVips.get(key);
    // An unknown stickiness (the CLI scrape missed the VIP) is no reason to
    // rebuild a live VIP: only a known difference is.
    if (
      have &&
      (have.encap !== d.vip.encap ||
        (have.srcIpSticky !== undefined &&
          have.srcIpSticky !== d.vip.srcIpSticky))
    ) {
      removeVip(have, "recreate", d.frontend);
      have = undefined;
    }
    const haveAses = have ? actualAses.get(key) ?? [] : [];
    if (!have) {
      changes.push({ kind: "add-vip", vip: d.vip, frontend: d.frontend });
    }
    const haveByAddr = new Map(haveAses.map((a) => [a.address, a]));
    const want = new Set(wantAses.map((a) => a.address));
    for (const a of [...haveAses].sort(byAddress)) {
      if (!want.has(a.address)) {
        changes.push({
          kind: "del-as",
          vip: d.vip,
          address: a.address,
          flush: true,
          frontend: d.frontend,
        });
      }
    }
    const lowers: { as: DesiredAs; flush: boolean }[] = [];
    let raised = false;
    for (const a of wantAses) {
      const h = haveByAddr.get(a.address);
      // Kept as VPP has it; one VPP lacks is added only to serve (not at 0).
      if (a.keep && (h || a.weight === 0)) continue;
      if (!h) {
        changes.push({
          kind: "add-as",
          vip: d.vip,
          address: a.address,
          weight: a.weight,
          frontend: d.frontend,
          backend: a.backend,
        });
        raised ||= a.weight > 0;
      } else if (a.weight > h.weight) {
        changes.push(setWeight(d, a, a.flush));
        raised = true;
      } else if (a.weight < h.weight) {
        lowers.push({ as: a, flush: a.flush });
      } else if (a.flush && flushPending(d.frontend, a)) {
        lowers.push({ as: a, flush: true });
      }
    }
    for (const l of lowers) {
      if (raised && l.as.healthy) {
        afterRaises.push({ ...setWeight(d, l.as, l.flush), afterRaises: true });
      } else {
        changes.push(setWeight(d, l.as, l.flush));
      }
    }
  }

  if (!opts.frontends) {
    const mayRemove = opts.mayRemove ?? (() => true);
    for (const [key, v] of actualVips) {
      if (claimed.has(key)) continue;
      if (mayRemove(v)) removeVip(v, "unconfigured");
      else opts.onForeign?.(v);
    }
  }
  return [...removals, ...changes, ...afterRaises];
}

function setWeight(
  d: DesiredVip,
  a: DesiredAs,
  flush: boolean,
): Extract<Op, { kind: "set-weight" }> {
  return {
    kind: "set-weight",
    vip: d.vip,
    address: a.address,
    weight: a.weight,
    flush,
    frontend: d.frontend,
    backend: a.backend,
  };
}

/** One line per operation, for logs, `--dry-run` and SyncVPPLBState. */
export function describeOp(op: Op): string {
  const vip = `${op.vip.prefix} ${protoName(op.vip.protocol)}/${op.vip.port}`;
  const fe = "frontend" in op && op.frontend
    ? ` (frontend ${op.frontend})`
    : "";
  switch (op.kind) {
    case "add-vip":
      return `add vip ${vip} encap ${op.vip.encap}${
        op.vip.srcIpSticky ? " src-ip-sticky" : ""
      } new-flows-table ${op.vip.flowTableLength}${fe}`;
    case "del-vip":
      return `del vip ${vip} (${op.reason})${fe}`;
    case "add-as":
      return `add as ${op.address} weight ${op.weight} to vip ${vip} (backend ${op.backend})`;
    case "del-as":
      return `del as ${op.address} from vip ${vip} flush${fe}`;
    case "set-weight":
      return `set weight ${op.weight}${
        op.flush ? " flush" : ""
      } for as ${op.address} of vip ${vip} (backend ${op.backend})`;
  }
}

function protoName(p: number): string {
  return p === 6 ? "tcp" : p === 17 ? "udp" : "any";
}
