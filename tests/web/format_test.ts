/**
 * The dashboard's pure formatting helpers (web/format.ts), run under Deno:
 * they hold no DOM, so the figures the pool table shows are checked here
 * against exact inputs, and in the browser test against a live daemon.
 */
import assert from "node:assert/strict";
import { lbBuckets } from "../../web/format.ts";
import type { FrontendJson, VppLbStateJson } from "../../web/proto.ts";

const web: FrontendJson = {
  name: "web",
  address: "192.0.2.1",
  port: 80,
};

/** VPP's state for the VIP of "web": a and b share it, c has weight 0. */
const lb: VppLbStateJson = {
  vips: [
    {
      prefix: "192.0.2.1/32",
      port: 80,
      frontend: "web",
      flowTableLength: 1024,
      ases: [
        { address: "127.0.3.1", weight: 100, buckets: 683, backend: "a" },
        { address: "127.0.3.2", weight: 50, buckets: 341, backend: "b" },
        { address: "127.0.3.3", weight: 0, buckets: 0, backend: "c" },
      ],
    },
    {
      prefix: "192.0.2.9/32",
      port: 443,
      frontend: "other",
      ases: [{ buckets: 1024, backend: "a" }],
    },
  ],
};

Deno.test("format: LB buckets are VPP's bucket count for the backend in this VIP, the share in the tooltip", () => {
  assert.deepEqual(lbBuckets(lb, web, "a"), {
    buckets: 683,
    text: "683",
    share: "67%",
    title: "67% of the VIP's 1024 buckets in VPP",
  });
  assert.equal(lbBuckets(lb, web, "b").text, "341");
  assert.equal(lbBuckets(lb, web, "b").share, "33%");
  // Weight 0: programmed, but no buckets.
  assert.equal(lbBuckets(lb, web, "c").text, "0");
  assert.equal(lbBuckets(lb, web, "c").share, "0%");
  // Not an AS of this VIP at all: none either.
  assert.equal(lbBuckets(lb, web, "zz").text, "0");
  // Small shares keep a decimal.
  const many: VppLbStateJson = {
    vips: [{
      frontend: "web",
      ases: [{ backend: "a", buckets: 10 }, { backend: "b", buckets: 1014 }],
    }],
  };
  assert.equal(lbBuckets(many, web, "a").share, "1.0%");
});

Deno.test("format: LB buckets say – without VPP data, and find a VIP the daemon did not name by its address", () => {
  const none = { text: "–", share: "–", title: "" };
  assert.deepEqual(lbBuckets(undefined, web, "a"), none);
  assert.deepEqual(lbBuckets({}, web, "a"), none);
  assert.deepEqual(
    lbBuckets(lb, { name: "api", address: "198.51.100.1" }, "a"),
    none,
  );
  // A VIP VPP holds with no frontend name (e.g. not managed) matches by
  // address and port, the host prefix as VPP writes it.
  const unnamed: VppLbStateJson = {
    vips: [{
      prefix: "192.0.2.1/32",
      port: 80,
      ases: [{ backend: "a", buckets: 1024 }],
    }],
  };
  assert.equal(lbBuckets(unnamed, web, "a").text, "1024");
  // Every weight 0: the VIP has no buckets at all.
  const drained: VppLbStateJson = {
    vips: [{ frontend: "web", ases: [{ backend: "a", buckets: 0 }] }],
  };
  assert.deepEqual(lbBuckets(drained, web, "a"), {
    buckets: 0,
    text: "0",
    share: "0%",
    title: "VPP gives this VIP no buckets: no backend has a weight",
  });
});
