import assert from "node:assert/strict";
import { describeCertProblem } from "./tls_verify.ts";

const now = Date.parse("2026-06-01T00:00:00Z");
const valid = {
  valid_from: "Jan  1 00:00:00 2026 GMT",
  valid_to: "Jan  1 00:00:00 2027 GMT",
  subjectaltname: "DNS:localhost, IP Address:127.0.0.1",
};

Deno.test("expiry is recognised behind a generic code", () => {
  const expired = { ...valid, valid_to: "Jan  2 00:00:00 2020 GMT" };
  assert.equal(
    describeCertProblem("UNABLE_TO_VERIFY_LEAF_SIGNATURE", expired, "x", now),
    "certificate expired on Jan  2 00:00:00 2020 GMT",
  );
  assert.match(
    describeCertProblem("CERT_HAS_EXPIRED", undefined, "x", now),
    /expired/,
  );
});

Deno.test("not yet valid", () => {
  const future = {
    ...valid,
    valid_from: "Jan  1 00:00:00 2030 GMT",
    valid_to: "Jan  1 00:00:00 2031 GMT",
  };
  assert.match(
    describeCertProblem("UNABLE_TO_VERIFY_LEAF_SIGNATURE", future, "x", now),
    /not valid before/,
  );
});

Deno.test("name mismatch names both sides", () => {
  assert.equal(
    describeCertProblem(
      "ERR_TLS_CERT_ALTNAME_INVALID",
      valid,
      "wrong.example",
      now,
    ),
    'certificate does not name "wrong.example" (it names DNS:localhost, IP Address:127.0.0.1)',
  );
});

Deno.test("chain problems", () => {
  assert.equal(
    describeCertProblem("DEPTH_ZERO_SELF_SIGNED_CERT", valid, "x", now),
    "self-signed certificate",
  );
  assert.equal(
    describeCertProblem("UNABLE_TO_VERIFY_LEAF_SIGNATURE", valid, "x", now),
    "certificate not issued by a trusted CA",
  );
  assert.equal(
    describeCertProblem("SOMETHING_NEW", valid, "x", now),
    "SOMETHING_NEW",
  );
});
