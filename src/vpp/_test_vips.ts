/**
 * VIPs the src/vpp tests share: one IPv4 TCP VIP (sticky) and one IPv6 UDP
 * VIP, in documentation address space. Not a test file itself.
 */
import type { Vip, VipKey } from "./types.ts";

/** 192.0.2.1/32 tcp 80, gre4, src-ip-sticky. */
export const V4: Vip = {
  prefix: "192.0.2.1/32",
  protocol: 6,
  port: 80,
  encap: "gre4",
  srcIpSticky: true,
  flowTableLength: 1024,
};
/** The key of V4. */
export const K4: VipKey = { prefix: "192.0.2.1/32", protocol: 6, port: 80 };
/** 2001:db8::1/128 udp 53, gre6. */
export const V6: Vip = {
  prefix: "2001:db8::1/128",
  protocol: 17,
  port: 53,
  encap: "gre6",
  srcIpSticky: false,
  flowTableLength: 1024,
};
/** The key of V6. */
export const K6: VipKey = { prefix: "2001:db8::1/128", protocol: 17, port: 53 };
