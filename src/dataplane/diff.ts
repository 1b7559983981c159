/**
 * Desired vs actual → the ordered operations that make VPP match. Pure.
 *
 * Rules (product spec §3): add missing VIPs and ASes, set changed weights
 * (with flush where the health model asks for it), delete ASes that are no
 * longer configured (with flush), and — in a full sync only — delete VIPs no
 * frontend claims. A change of src-ip-sticky or encap cannot be applied to a
 * live VIP: its ASes are deleted (flush), the VIP deleted and created again.
 * Within a VIP, ASes are always added and re-weighted in numeric address
 * order (IPv4 first), so every daemon produces the same Maglev table.
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
}

function byAddress<T extends { address: string }>(a: T, b: T): number {
  return compareAddresses(a.address, b.address);
}

/** The operations that turn `actual` into `desired`, in the order to send them. */
export function diff(
  desired: readonly DesiredVip[],
  actual: LbState,
  opts: DiffOptions = {},
): Op[] {
  const ops: Op[] = [];
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

  for (const d of desired) {
    const key = vipKeyString(d.vip);
    claimed.add(key);
    if (opts.frontends && !opts.frontends.has(d.frontend)) continue;
    // Sorted here too: the order rule belongs to the operations, whatever
    // order the caller built the desired state in.
    const wantAses = [...d.ases].sort(byAddress);
    const have = actualVips.get(key);
    const haveAses = [...(actualAses.get(key) ?? [])].sort(byAddress);
    const addAll = () => {
      ops.push({ kind: "add-vip", vip: d.vip, frontend: d.frontend });
      for (const a of wantAses) {
        ops.push({
          kind: "add-as",
          vip: d.vip,
          address: a.address,
          weight: a.weight,
          frontend: d.frontend,
          backend: a.backend,
        });
      }
    };
    if (!have) {
      addAll();
      continue;
    }
    if (have.encap !== d.vip.encap || have.srcIpSticky !== d.vip.srcIpSticky) {
      for (const a of haveAses) {
        ops.push({
          kind: "del-as",
          vip: have,
          address: a.address,
          flush: true,
          frontend: d.frontend,
        });
      }
      ops.push({
        kind: "del-vip",
        vip: have,
        frontend: d.frontend,
        reason: "recreate",
      });
      addAll();
      continue;
    }
    const haveByAddr = new Map(haveAses.map((a) => [a.address, a]));
    const want = new Set(wantAses.map((a) => a.address));
    for (const a of haveAses) {
      if (!want.has(a.address)) {
        ops.push({
          kind: "del-as",
          vip: d.vip,
          address: a.address,
          flush: true,
          frontend: d.frontend,
        });
      }
    }
    for (const a of wantAses) {
      const h = haveByAddr.get(a.address);
      const base = {
        vip: d.vip,
        address: a.address,
        weight: a.weight,
        frontend: d.frontend,
        backend: a.backend,
      };
      if (!h) {
        ops.push({ kind: "add-as", ...base });
      } else if (h.weight !== a.weight) {
        ops.push({ kind: "set-weight", ...base, flush: a.flush });
      } else if (a.flush && flushPending(d.frontend, a)) {
        ops.push({ kind: "set-weight", ...base, flush: true });
      }
    }
  }

  if (!opts.frontends) {
    for (const [key, v] of actualVips) {
      if (claimed.has(key)) continue;
      for (const a of [...(actualAses.get(key) ?? [])].sort(byAddress)) {
        ops.push({ kind: "del-as", vip: v, address: a.address, flush: true });
      }
      ops.push({ kind: "del-vip", vip: v, reason: "unconfigured" });
    }
  }
  return ops;
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
