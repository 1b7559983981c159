/**
 * What the parse stage hands to the semantic stage: every value is
 * well-typed but not yet checked against other values, and keeps its
 * position so semantic errors point into the file too. Optional fields are
 * keys the file left out (the semantic stage fills in defaults).
 */
import type { ParsedPrefix } from "./address.ts";
import type { Field, Where } from "./_reader.ts";
import type { HealthCheckType, Protocol, StatusRange } from "./types.ts";

/** An address or prefix as written, parsed. */
export interface RawAddress {
  readonly text: string;
  readonly parsed: ParsedPrefix;
  /** The text had an explicit `/len`. */
  readonly hasLength: boolean;
}

/** `maglev.healthchecker`. */
export interface RawHealthChecker extends Where {
  readonly transitionHistory?: Field<number>;
  readonly netns?: Field<string>;
}

/** `maglev.vpp.lb`; `loc` is the nearest mapping that exists. */
export interface RawVppLb extends Where {
  readonly ipv4SrcAddress?: Field<RawAddress>;
  readonly ipv6SrcAddress?: Field<RawAddress>;
  readonly syncInterval?: Field<number>;
  readonly stickyBucketsPerCore?: Field<number>;
  readonly flowTimeout?: Field<number>;
  readonly startupMinDelay?: Field<number>;
  readonly startupMaxDelay?: Field<number>;
}

/** `params.response-code`: one or more ranges, each with its own position. */
export interface RawResponseCodes extends Where {
  readonly ranges: readonly Field<StatusRange>[];
}

/** `maglev.healthchecks.<name>.params`. */
export interface RawParams {
  readonly path?: Field<string>;
  readonly host?: Field<string>;
  readonly method?: Field<"GET" | "HEAD">;
  readonly responseCodes?: RawResponseCodes;
  readonly responseRegexp?: Field<string>;
  readonly tls?: Field<boolean>;
  readonly serverName?: Field<string>;
  readonly insecureSkipVerify?: Field<boolean>;
}

/** `maglev.healthchecks.<name>`. */
export interface RawHealthCheck extends Where {
  readonly name: string;
  readonly type: Field<HealthCheckType>;
  readonly port?: Field<number>;
  readonly interval?: Field<number>;
  readonly fastInterval?: Field<number>;
  readonly downInterval?: Field<number>;
  readonly timeout?: Field<number>;
  readonly rise?: Field<number>;
  readonly fall?: Field<number>;
  readonly params: RawParams;
}

/** `maglev.backends.<name>`. */
export interface RawBackend extends Where {
  readonly name: string;
  readonly address: Field<RawAddress>;
  readonly healthcheck: Field<string>;
  readonly enabled?: Field<boolean>;
}

/** One `backends` entry of a pool; `loc` is the backend's key. */
export interface RawMember extends Where {
  readonly backend: string;
  readonly weight?: Field<number>;
}

/** One item of `pools`. */
export interface RawPool extends Where {
  readonly name?: Field<string>;
  /** Absent when the key is missing; an empty list for `backends:` / `{}`. */
  readonly members?: Field<readonly RawMember[]>;
}

/** `maglev.frontends.<name>`. */
export interface RawFrontend extends Where {
  readonly name: string;
  readonly description?: Field<string>;
  readonly address: Field<RawAddress>;
  readonly protocol?: Field<Protocol>;
  readonly port?: Field<number>;
  readonly srcIpSticky?: Field<boolean>;
  readonly flushOnDown?: Field<boolean>;
  readonly minHealthy?: Field<string>;
  /** Absent when the key is missing. */
  readonly pools?: Field<readonly RawPool[]>;
}

/** The whole file after the parse stage. */
export interface RawConfig {
  readonly healthchecker: RawHealthChecker;
  readonly vppLb: RawVppLb;
  readonly healthchecks: readonly RawHealthCheck[];
  readonly backends: readonly RawBackend[];
  readonly frontends: readonly RawFrontend[];
}
