import assert from "node:assert/strict";
import { parseShowLbVips, vipIndexMap } from "./show_lb.ts";
import { asObject, goldenFiles } from "./_golden.ts";

const GOLDEN = goldenFiles();

Deno.test("show lb vips verbose: the golden reply gives indexes, sticky, size and AS count", () => {
  const reply = asObject(
    asObject(GOLDEN.get("cli_inband_reply.json"), "f").fields,
    "fields",
  )
    .reply as string;
  assert.deepEqual(parseShowLbVips(reply), [
    {
      index: 1,
      type: "ip4-gre4",
      prefix: "192.0.2.1/32",
      protocol: 6,
      port: 80,
      srcIpSticky: true,
      removed: false,
      newSize: 1024,
      asCount: 1,
    },
    {
      index: 2,
      type: "ip6-gre6",
      prefix: "2001:db8::1/128",
      protocol: 17,
      port: 53,
      srcIpSticky: false,
      removed: false,
      newSize: 1024,
      asCount: 1,
    },
  ]);
  assert.deepEqual(
    [...vipIndexMap(parseShowLbVips(reply))],
    [["192.0.2.1/32 6 80", 1], ["2001:db8::1/128 17 53", 2]],
  );
});

Deno.test("show lb vips verbose: removed and all-port VIPs (quirks.json)", () => {
  const quirks = GOLDEN.get("quirks.json");
  assert.ok(Array.isArray(quirks));
  const c = quirks.map((q) => asObject(q, "q")).find((q) =>
    typeof q.show_lb_vips_verbose === "string"
  );
  assert.ok(c);
  const vips = parseShowLbVips(String(c.show_lb_vips_verbose));
  assert.deepEqual(
    vips.map((
      v,
    ) => [v.index, v.prefix, v.protocol, v.port, v.removed, v.newSize]),
    [
      [1, "192.0.2.1/32", 6, 80, false, 1024],
      [2, "2001:db8::1/128", 17, 53, false, 1024],
      [3, "192.0.2.2/32", 6, 443, true, 65536],
      [4, "192.0.2.3/32", 255, 0, true, 1024],
      [5, "198.18.0.0/24", 6, 8080, true, 1024],
    ],
  );
  // Removed VIPs are not live: no index for them.
  assert.deepEqual([...vipIndexMap(vips).values()], [1, 2]);
  // A re-added VIP gets a new index while the old one lingers as removed.
  const readded = String(c.show_lb_vips_verbose) +
    " ip4-gre4 [6] 192.0.2.2/32\n  new_size:1024\n  protocol:6 port:443\n";
  assert.equal(
    vipIndexMap(parseShowLbVips(readded)).get("192.0.2.2/32 6 443"),
    6,
  );
});

Deno.test("show lb vips verbose: empty and odd text", () => {
  assert.deepEqual(parseShowLbVips(""), []);
  assert.deepEqual(parseShowLbVips("garbage\n  protocol:6 port:80\n"), []);
  assert.deepEqual(parseShowLbVips(" ip4-gre4 [1] not-a-prefix\n"), []);
  const allPort = parseShowLbVips(
    " ip4-gre4 [7] 192.0.2.9/32 src_ip_sticky\n  new_size:1024\n",
  );
  assert.equal(allPort[0].protocol, 255);
  assert.equal(allPort[0].port, 0);
  assert.equal(vipIndexMap(allPort).get("192.0.2.9/32 255 0"), 7);
});
