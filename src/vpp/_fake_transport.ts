/**
 * Test support: a VPP in plain TypeScript behind the `VacTransport`
 * interface, with the library's sharp edges enforced (vac_write while not
 * connected and vac_connect while connected are test failures, as they
 * crash the real library). Handlers answer requests; VPP can be killed and
 * restarted, or paused and resumed (SIGSTOP/SIGCONT).
 */

import { decode, encode, peekId } from "./codec.ts";
import {
  MESSAGE_NAMES,
  type MessageInput,
  type MessageName,
  nameCrc,
  type WireRecord,
} from "./messages.ts";
import type { ReadResult, VacTransport } from "./transport.ts";

/** Replies a handler sends back: message name and values (header added by the fake). */
export type FakeReply = readonly [MessageName, WireRecord];

/** Answers one request; `values` are the decoded request. Raw bytes are queued as they are. */
export type FakeHandler = (
  values: WireRecord,
) => readonly (FakeReply | Uint8Array)[];

/** Options of `FakeTransport`. */
export interface FakeTransportOptions {
  /** Messages VPP does not know (as if their CRC changed). */
  readonly unknown?: readonly MessageName[];
  /** Real milliseconds per second of vac_read timeout (speeds tests up). Default 20. */
  readonly msPerSecond?: number;
  readonly version?: string;
}

/** A scripted VPP. */
export class FakeTransport implements VacTransport {
  readonly #ids = new Map<string, number>();
  readonly #names = new Map<number, MessageName>();
  readonly #msPerSecond: number;
  readonly handlers = new Map<MessageName, FakeHandler>();
  /** Every request written, decoded, in order. */
  readonly sent: { name: MessageName; values: WireRecord }[] = [];
  /** Calls that would have crashed the real library. */
  readonly violations: string[] = [];
  connects = 0;
  /** Completed vac_disconnect calls: the link is down when this moves. */
  disconnects = 0;
  /** Result of vac_connect while VPP is down. */
  downConnectRv = -1;
  /** Extra delay of a vac_connect, ms. */
  connectDelayMs = 0;
  #running = true;
  #vppGeneration = 1;
  #linkGeneration = 0;
  #queue: Uint8Array[] = [];
  #wake: (() => void) | undefined;
  #reading = false;
  #paused = false;
  /** Requests written while paused: VPP's input queue. */
  #held: { name: MessageName; values: WireRecord }[] = [];
  /** Most requests that waited in the paused VPP's input queue at once. */
  maxHeld = 0;

  constructor(opts: FakeTransportOptions = {}) {
    this.#msPerSecond = opts.msPerSecond ?? 20;
    const unknown = new Set(opts.unknown ?? []);
    MESSAGE_NAMES.forEach((name, i) => {
      if (unknown.has(name)) return;
      const id = 200 + 3 * i;
      this.#ids.set(nameCrc(name), id);
      this.#names.set(id, name);
    });
    this.handlers.set("control_ping", () => [[
      "control_ping_reply",
      { retval: 0, client_index: 0, vpe_pid: 4242 },
    ]]);
    this.handlers.set("show_version", () => [[
      "show_version_reply",
      {
        retval: 0,
        program: "vpe",
        version: opts.version ?? "26.10-fake",
        build_date: "2026-11-21T03:09:21",
        build_directory: "",
      },
    ]]);
  }

  /** True while a client holds a live registration. */
  get linked(): boolean {
    return this.#linkGeneration !== 0;
  }

  /** VPP stops answering (crash): the client's link stays up but goes quiet. */
  kill(): void {
    this.#running = false;
  }

  /**
   * VPP stops running (SIGSTOP): its process lives, requests wait in its
   * input queue unanswered until `resume()`.
   */
  pause(): void {
    this.#paused = true;
  }

  /** VPP runs again (SIGCONT): answers what waited, in order. */
  resume(): void {
    this.#paused = false;
    for (const { name, values } of this.#held.splice(0)) {
      this.#answer(name, values);
    }
    this.#wake?.();
  }

  /** Requests waiting in the paused VPP's input queue. */
  get held(): number {
    return this.#held.length;
  }

  /** VPP starts again; an old link stays dead, a new vac_connect works. */
  restart(): void {
    this.#running = true;
    this.#paused = false;
    this.#held = [];
    this.#vppGeneration++;
  }

  /** The library loses the registration under the client (vac_read then returns -3). */
  dropLink(): void {
    this.#linkGeneration = 0;
    this.#queue = [];
    this.#wake?.();
  }

  /** The id VPP uses for `name`. */
  idOf(name: MessageName): number {
    return this.#ids.get(nameCrc(name))!;
  }

  /** Queues a message for the client as if VPP sent it unasked. */
  inject(bytes: Uint8Array): void {
    this.#queue.push(bytes);
    this.#wake?.();
  }

  /** Encodes a message with this VPP's ids (for inject). */
  encodeMessage(
    name: MessageName,
    values: WireRecord,
    context: number,
  ): Uint8Array {
    return encode(name, values as MessageInput<MessageName>, {
      id: this.idOf(name),
      context,
    });
  }

  async connect(
    _name: string,
    _prefix: string | null,
    _q: number,
  ): Promise<number> {
    this.connects++;
    if (this.#linkGeneration !== 0) {
      this.violations.push("vac_connect while connected");
      return -1;
    }
    await new Promise((r) => setTimeout(r, this.connectDelayMs));
    // A paused VPP never answers the registration either.
    if (!this.#running || this.#paused) return this.downConnectRv;
    this.#linkGeneration = this.#vppGeneration;
    this.#queue = [];
    return 0;
  }

  async disconnect(): Promise<number> {
    if (this.#reading) this.violations.push("vac_disconnect during vac_read");
    await new Promise((r) => setTimeout(r, 1));
    this.#linkGeneration = 0;
    this.#queue = [];
    this.#wake?.();
    // Counted only now: a test that sees the count must also see the link
    // gone, not the moment between the call and its completion.
    this.disconnects++;
    return 0;
  }

  msgIndex(key: string): number {
    if (this.#linkGeneration === 0) return -1;
    return this.#ids.get(key) ?? -1;
  }

  write(bytes: Uint8Array<ArrayBuffer>): number {
    if (this.#linkGeneration === 0) {
      this.violations.push("vac_write while not connected");
      return -3;
    }
    const id = peekId(bytes);
    const name = id === undefined ? undefined : this.#names.get(id);
    if (name === undefined) return 0; // VPP drops unknown ids
    const values = decode(name, bytes) as WireRecord;
    this.sent.push({ name, values });
    if (!this.#live()) return 0; // goes into a dead queue
    if (this.#paused) {
      this.#held.push({ name, values });
      this.maxHeld = Math.max(this.maxHeld, this.#held.length);
      return 0;
    }
    this.#answer(name, values);
    this.#wake?.();
    return 0;
  }

  #answer(name: MessageName, values: WireRecord): void {
    const context = values.context as number;
    const handler = this.handlers.get(name);
    for (const reply of handler?.(values) ?? []) {
      this.#queue.push(
        reply instanceof Uint8Array
          ? reply
          : this.encodeMessage(reply[0], reply[1], context),
      );
    }
  }

  async read(timeoutS: number): Promise<ReadResult> {
    if (this.#linkGeneration === 0) return { rv: -3 };
    if (this.#reading) this.violations.push("two concurrent vac_read calls");
    this.#reading = true;
    try {
      if (this.#queue.length === 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, timeoutS * this.#msPerSecond);
          function done() {
            clearTimeout(timer);
            resolve();
          }
          this.#wake = done;
        });
        this.#wake = undefined;
      }
      const data = this.#live() ? this.#queue.shift() : undefined;
      return data ? { rv: 0, data } : { rv: -5 };
    } finally {
      this.#reading = false;
    }
  }

  #live(): boolean {
    return this.#running && this.#linkGeneration === this.#vppGeneration;
  }
}
