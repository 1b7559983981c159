/**
 * What the reconciler believes VPP holds: the last dump, kept up to date by
 * the operations that VPP acknowledged. A per-frontend sync after a
 * transition diffs against this instead of dumping all of VPP (which at
 * 1,000 VIPs × 16 ASes takes most of a second); drift behind our back is
 * found by the periodic full sync, which always dumps. Pure.
 */
import type { As, LbConf, LbState, VipKey, VipState } from "../vpp/types.ts";
import { type Op, vipKeyString } from "./diff.ts";

interface Entry {
  vip: VipState;
  ases: Map<string, As>;
}

/** A VIP whose buckets are out of date, and its mark when that was read. */
export interface StaleVip {
  readonly vip: VipKey;
  readonly mark: number;
}

/** An indexed copy of VPP's lb state. */
export class LbCache {
  #conf: LbConf;
  readonly #vips = new Map<string, Entry>();
  /**
   * VIPs whose bucket counts operations changed (VPP recomputes its Maglev
   * table, so only a read of the VIP tells the new counts), each with a
   * mark that every further change bumps.
   */
  readonly #stale = new Map<string, number>();
  #marks = 0;

  /** Indexes a dump. */
  constructor(state: LbState) {
    this.#conf = state.conf;
    for (const v of state.vips) {
      this.#vips.set(vipKeyString(v), { vip: v, ases: new Map() });
    }
    for (const a of state.ases) {
      this.#vips.get(vipKeyString(a.vip))?.ases.set(a.address, a);
    }
  }

  /** Records an lb_conf VPP acknowledged. */
  setConf(conf: LbConf): void {
    this.#conf = conf;
  }

  /** Everything, as a dump would report it. */
  state(): LbState {
    const vips: VipState[] = [];
    const ases: As[] = [];
    for (const e of this.#vips.values()) {
      vips.push(e.vip);
      ases.push(...e.ases.values());
    }
    return { conf: this.#conf, vips, ases };
  }

  /** The state of just these VIPs (for a scoped diff). */
  subset(keys: readonly VipKey[]): LbState {
    const vips: VipState[] = [];
    const ases: As[] = [];
    for (const k of keys) {
      const e = this.#vips.get(vipKeyString(k));
      if (!e) continue;
      vips.push(e.vip);
      ases.push(...e.ases.values());
    }
    return { conf: this.#conf, vips, ases };
  }

  /** VIPs whose bucket counts are out of date, with their marks (see `refreshAses`). */
  staleVips(): StaleVip[] {
    return [...this.#stale].flatMap(([k, mark]) => {
      const e = this.#vips.get(k);
      return e ? [{ vip: e.vip, mark }] : [];
    });
  }

  /**
   * Replaces the ASes of the VIPs in `read` with what a read of them
   * returned (`ases`), except for a VIP an operation changed since the read
   * began (its mark moved): that read may predate the operation, so the VIP
   * stays stale for the next read. The read needs no lock against syncs.
   */
  refreshAses(read: readonly StaleVip[], ases: readonly As[]): void {
    const fresh = new Map<string, Map<string, As>>();
    for (const r of read) {
      const k = vipKeyString(r.vip);
      if (this.#stale.get(k) === r.mark) fresh.set(k, new Map());
    }
    for (const a of ases) fresh.get(vipKeyString(a.vip))?.set(a.address, a);
    for (const [k, m] of fresh) {
      const e = this.#vips.get(k);
      if (!e) continue;
      e.ases = m;
      this.#stale.delete(k);
    }
  }

  /** Records an operation VPP acknowledged. */
  apply(op: Op): void {
    const key = vipKeyString(op.vip);
    switch (op.kind) {
      case "add-vip":
        this.#vips.set(key, { vip: op.vip, ases: new Map() });
        return;
      case "del-vip":
        this.#vips.delete(key);
        this.#stale.delete(key);
        return;
      case "add-as":
      case "set-weight": {
        const e = this.#vips.get(key);
        if (!e) return;
        this.#stale.set(key, ++this.#marks);
        const old = e.ases.get(op.address);
        e.ases.set(op.address, {
          vip: e.vip,
          address: op.address,
          weight: op.weight,
          numBuckets: old?.numBuckets ?? 0,
        });
        return;
      }
      case "del-as":
        this.#vips.get(key)?.ases.delete(op.address);
        this.#stale.set(key, ++this.#marks);
        return;
    }
  }
}
