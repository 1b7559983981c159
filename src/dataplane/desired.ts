/**
 * What VPP should hold, computed from the config and the health model: one
 * VIP per frontend and one AS per pool member with its effective weight.
 * Pure: no I/O, no clock.
 */
import { compareAddresses } from "../config/address.ts";
import type { Config, FrontendConfig, Protocol } from "../config/types.ts";
import type { FrontendEvaluation } from "../health/frontend.ts";
import type { Encap, Vip, VipProtocol } from "../vpp/types.ts";

/** New-flows table length of every VIP maglev creates (0 would crash VPP). */
export const FLOW_TABLE_LENGTH = 1024;

/** One application server VPP should have for a frontend. */
export interface DesiredAs {
  readonly backend: string;
  readonly address: string;
  readonly weight: number;
  /** The health model asks for existing flows to be flushed. */
  readonly flush: boolean;
  /**
   * The backend is up: lowering its weight is a pool switch (or an
   * operator's choice), never a reaction to its own failure.
   */
  readonly healthy: boolean;
  /**
   * Leave VPP's weight as it is (add the AS with `weight` only if VPP lacks
   * it): the backend was restarted from `unknown` by a reload that changed
   * its address or probe type, and has no verdict yet.
   */
  readonly keep?: boolean;
}

/**
 * A backend a reload restarted from `unknown` that has no verdict yet, with
 * the address it had before (whose AS keeps serving until the verdict).
 */
export interface HeldBackend {
  readonly previousAddress: string;
}

/** One frontend's VIP with its ASes in numeric address order. */
export interface DesiredVip {
  readonly frontend: string;
  readonly vip: Vip;
  readonly ases: readonly DesiredAs[];
}

const PROTOCOLS: Record<Protocol, VipProtocol> = { tcp: 6, udp: 17, any: 255 };

/** The VIP a frontend maps to. */
export function vipOf(fe: FrontendConfig): Vip {
  const encap: Encap = fe.backendFamily === 6 ? "gre6" : "gre4";
  return {
    prefix: fe.prefix,
    protocol: PROTOCOLS[fe.protocol],
    port: fe.port,
    encap,
    srcIpSticky: fe.srcIpSticky,
    flowTableLength: FLOW_TABLE_LENGTH,
  };
}

/**
 * Desired state of one frontend. ASes are sorted numerically (IPv4 before
 * IPv6) so two daemons with one config add them in the same order and VPP
 * builds identical Maglev tables (it breaks bucket ties by insertion order).
 */
export function desiredVip(
  config: Config,
  fe: FrontendConfig,
  evaluation: FrontendEvaluation,
  held?: (backend: string) => HeldBackend | undefined,
): DesiredVip {
  const ases: DesiredAs[] = [];
  for (const m of evaluation.members) {
    const b = config.backends.get(m.backend);
    if (!b) continue;
    const h = held?.(m.backend);
    ases.push({
      backend: m.backend,
      address: b.address,
      weight: m.effectiveWeight,
      flush: m.flush,
      healthy: m.state === "up",
      ...(h ? { keep: true } : {}),
    });
    // The old address serves on, as it did, until the new one has a verdict.
    if (
      h && h.previousAddress !== b.address &&
      !ases.some((a) => a.address === h.previousAddress)
    ) {
      ases.push({
        backend: m.backend,
        address: h.previousAddress,
        weight: 0,
        flush: false,
        healthy: false,
        keep: true,
      });
    }
  }
  ases.sort((a, b) => compareAddresses(a.address, b.address));
  return { frontend: fe.name, vip: vipOf(fe), ases };
}

/** Desired state of every frontend, in config order. */
export function desiredState(
  config: Config,
  evaluationOf: (frontend: string) => FrontendEvaluation | undefined,
): DesiredVip[] {
  const out: DesiredVip[] = [];
  for (const fe of config.frontends.values()) {
    const e = evaluationOf(fe.name);
    if (e) out.push(desiredVip(config, fe, e));
  }
  return out;
}
