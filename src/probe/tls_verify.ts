/**
 * Operator-facing text for a rejected server certificate. The TLS layer's
 * error codes are terse and, under Deno, sometimes generic (an expired
 * certificate is reported as UNABLE_TO_VERIFY_LEAF_SIGNATURE), so the
 * certificate's own dates and names are consulted to say what is wrong.
 */

/** The parts of a peer certificate the explanation uses. */
export interface PeerCertInfo {
  readonly valid_from?: string;
  readonly valid_to?: string;
  readonly subjectaltname?: string;
}

/**
 * Why the certificate was rejected: `code` is the TLS layer's
 * authorizationError, `name` the name it was verified against.
 */
export function describeCertProblem(
  code: string,
  cert: PeerCertInfo | undefined,
  name: string,
  nowMs: number,
): string {
  const to = cert?.valid_to ? Date.parse(cert.valid_to) : NaN;
  const from = cert?.valid_from ? Date.parse(cert.valid_from) : NaN;
  if (code === "CERT_HAS_EXPIRED" || to < nowMs) {
    return `certificate expired on ${cert?.valid_to ?? "an earlier date"}`;
  }
  if (code === "CERT_NOT_YET_VALID" || from > nowMs) {
    return `certificate not valid before ${cert?.valid_from ?? "a later date"}`;
  }
  switch (code) {
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return `certificate does not name "${name}"` +
        (cert?.subjectaltname ? ` (it names ${cert.subjectaltname})` : "");
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
      return "self-signed certificate";
    case "SELF_SIGNED_CERT_IN_CHAIN":
      return "self-signed certificate in the chain";
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "UNABLE_TO_GET_ISSUER_CERT":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
      return "certificate not issued by a trusted CA";
    default:
      return code;
  }
}
