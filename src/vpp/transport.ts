/**
 * The five libvppapiclient calls the client needs, as an interface: ffi.ts
 * implements it over the real library, and tests replace it with a scripted
 * VPP in plain TypeScript. The client never touches pointers.
 */

/** One `vac_read` outcome: a copied message (rv 0) or a return code. */
export type ReadResult =
  | { readonly rv: 0; readonly data: Uint8Array }
  | { readonly rv: number; readonly data?: undefined };

/** libvppapiclient return codes (README §1.1). */
export const VAC_NOT_CONNECTED = -3;
/** See VAC_NOT_CONNECTED. */
export const VAC_SHM_NOT_READY = -4;
/** See VAC_NOT_CONNECTED. */
export const VAC_TIMEOUT = -5;

/** The shared-memory transport, one connection per process. */
export interface VacTransport {
  /**
   * `vac_connect` in polling mode. Resolves 0 when connected. Can take 10 s
   * (stale segment) or ~100 s (no VPP): runs off the event loop.
   */
  connect(
    name: string,
    apiPrefix: string | null,
    rxQlen: number,
  ): Promise<number>;
  /** `vac_disconnect`; about 1 s when VPP is dead. */
  disconnect(): Promise<number>;
  /** `vac_get_msg_index("<name>_<crc>")`: the message id, or -1. */
  msgIndex(nameCrc: string): number;
  /**
   * `vac_write`: 0 when queued. Never call it while not connected (the real
   * library crashes). It blocks while VPP's input queue (1,024 messages,
   * all clients together) is full, which a stopped VPP never drains: the
   * client bounds what it has in that queue instead (`sendWindow`).
   */
  write(bytes: Uint8Array<ArrayBuffer>): number;
  /** `vac_read` with a timeout in whole seconds; the message is copied and freed. */
  read(timeoutS: number): Promise<ReadResult>;
  /**
   * Optional: use the client's receive queue at `queueVa` (as VPP's
   * `show api clients` prints it) to read messages that are already queued
   * without a trip through a helper thread. Returns undefined when the queue
   * checks out (mapped here, `rxQlen` slots of 8 bytes, consumed by this
   * process), else why it was not used. Forgotten at disconnect.
   */
  attachQueue?(queueVa: bigint, rxQlen: number): string | undefined;
  /**
   * Optional, after `attachQueue`: a message read on the calling thread when
   * the queue certainly holds one that `vac_read` can return without waiting;
   * undefined when it may not. Never call it while `read` is in flight.
   */
  readQueued?(): ReadResult | undefined;
}

/** Human meaning of a `vac_connect` return code. */
export function describeConnectRv(rv: number): string {
  switch (rv) {
    case -1:
      return "vac_connect returned -1: VPP did not answer the registration (VPP dead or restarting, stale /dev/shm segment)";
    case -2:
      return "vac_connect returned -2: no API segment appeared (VPP not running, or a wrong --vpp-api-prefix)";
    default:
      return `vac_connect returned ${rv}`;
  }
}
