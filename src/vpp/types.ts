/**
 * The dataplane's view of VPP's lb plugin as plain typed objects. The
 * reconciler (src/dataplane/) talks only to `LbApi`; the FFI client
 * (src/vpp/lb.ts) and the in-memory model (src/vpp/memory.ts) implement it.
 */

/** GRE encapsulation towards the application servers. */
export type Encap = "gre4" | "gre6";

/** IP protocol numbers as VPP uses them; 255 is "any" (an all-port VIP). */
export type VipProtocol = 6 | 17 | 255;

/** What identifies a VIP in VPP: exact prefix, protocol and port. */
export interface VipKey {
  /** Canonical prefix with length, e.g. "192.0.2.1/32", "2001:db8::1/128". */
  readonly prefix: string;
  readonly protocol: VipProtocol;
  /** 0 for an all-port VIP. */
  readonly port: number;
}

/** A VIP with its properties. */
export interface Vip extends VipKey {
  readonly encap: Encap;
  /** Not reported by any dump message; read from `show lb vips verbose`. */
  readonly srcIpSticky: boolean;
  /** New-flows table length; a power of two, never 0 (0 crashes VPP). */
  readonly flowTableLength: number;
}

/**
 * A VIP as read back from VPP. `srcIpSticky` comes from scraping the CLI
 * (no dump message reports it): undefined when the scrape did not show the
 * VIP, and unknown must never be taken for false (that would rebuild it).
 */
export interface VipState extends Omit<Vip, "srcIpSticky"> {
  readonly srcIpSticky: boolean | undefined;
}

/** An application server of a VIP as VPP reports it. */
export interface As {
  readonly vip: VipKey;
  /** Canonical address of the AS. */
  readonly address: string;
  /** 0..100 (VPP itself does not range-check). */
  readonly weight: number;
  /** New-flow-table buckets this AS owns (its share of new flows). */
  readonly numBuckets: number;
}

/** The lb plugin's global configuration. */
export interface LbConf {
  readonly ipv4SrcAddress: string;
  readonly ipv6SrcAddress: string;
  /** A power of two. */
  readonly stickyBucketsPerCore: number;
  /** Whole seconds, 1..120. */
  readonly flowTimeoutSeconds: number;
}

/** What VPP holds now: the conf, the VIPs and their live ASes. */
export interface LbState {
  readonly conf: LbConf;
  readonly vips: readonly VipState[];
  /** Only ASes in use (deleted ones awaiting garbage collection are left out). */
  readonly ases: readonly As[];
}

/** Version information of the connected VPP. */
export interface VppVersion {
  readonly program: string;
  readonly version: string;
  readonly buildDate: string;
  readonly buildDirectory: string;
}

/**
 * Every lb operation the reconciler needs. Calls reject with `VppError`
 * when VPP answers a negative retval, and with another Error when VPP is
 * away (timeout, not connected).
 */
export interface LbApi {
  getConf(): Promise<LbConf>;
  setConf(conf: LbConf): Promise<void>;
  /** One consistent read of VIPs and ASes. */
  dump(): Promise<LbState>;
  /**
   * Every VIP maglev can manage, without ASes: one cheap read (the VIP
   * list and the CLI scrape), nothing per AS.
   */
  dumpVips(): Promise<VipState[]>;
  /**
   * The live ASes of the given VIPs, in their order, and of no other VIP:
   * on VPP one small request per VIP, a bounded number in flight, so VPP's
   * main thread is never held for long. A VIP VPP does not hold has none.
   */
  dumpAses(vips: readonly VipKey[]): Promise<As[]>;
  addVip(vip: Vip): Promise<void>;
  delVip(key: VipKey): Promise<void>;
  addAs(vip: VipKey, address: string, weight: number): Promise<void>;
  delAs(vip: VipKey, address: string, flush: boolean): Promise<void>;
  setWeight(
    vip: VipKey,
    address: string,
    weight: number,
    flush: boolean,
  ): Promise<void>;
}

/** VNET_API_ERROR names of the retvals VPP's lb plugin answers with. */
export const RETVAL_NAMES: Readonly<Record<number, string>> = {
  [-1]: "UNSPECIFIED",
  [-6]: "NO_SUCH_ENTRY",
  [-70]: "INVALID_MEMORY_SIZE",
  [-73]: "INVALID_ARGUMENT",
  [-81]: "VALUE_EXIST",
  [-97]: "INVALID_ADDRESS_FAMILY",
};

/** VPP refused a request: a negative retval, named. */
export class VppError extends Error {
  override name = "VppError";
  constructor(readonly msg: string, readonly retval: number) {
    super(
      `${msg}: VPP answered ${retval} (${
        RETVAL_NAMES[retval] ?? "VNET_API_ERROR"
      })`,
    );
  }
}
