/**
 * Server-sent-event fan-out to browsers. Every event gets an id
 * `<epoch>-<seq>` and goes into a replay ring, so a browser that reconnects
 * with `Last-Event-ID` after a short gap gets exactly what it missed; after
 * a longer gap (or a server restart: a different epoch) it gets `resync`
 * and refetches the state. Each browser has a bounded queue: one that
 * stops reading is dropped instead of growing memory.
 */
import type { SseEventName } from "./types.ts";

/** Tuning of a Broker; the defaults suit the dashboard. */
export interface BrokerOptions {
  /** Id prefix; the server start time by default. */
  readonly epoch?: number;
  /** Most events kept for replay. */
  readonly ringSize?: number;
  /** Oldest event kept for replay, ms. */
  readonly ringMs?: number;
  /** Bytes a client may have queued before it is dropped. */
  readonly maxQueueBytes?: number;
  /** Interval of heartbeat comments, ms (0: none). */
  readonly heartbeatMs?: number;
  /** Reconnect delay the browser is told (`retry:`), ms. */
  readonly retryMs?: number;
  /** Clock, injectable for tests. */
  readonly now?: () => number;
}

interface RingEntry {
  readonly seq: number;
  readonly atMs: number;
  readonly frame: string;
}

const encoder = new TextEncoder();

/** Renders one SSE frame. Data is JSON on one line, so one `data:` line. */
export function sseFrame(id: string, event: string, data: unknown): string {
  return `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * One connected browser: a byte stream for the HTTP response, fed from a
 * bounded queue. Only pulls from the response move data, so a browser (or
 * proxy) that stops reading leaves data here, where it is counted.
 */
export class SseClient {
  readonly stream: ReadableStream<Uint8Array>;
  #queue: string[] = [];
  #queuedBytes = 0;
  #maxBytes: number;
  #wake?: () => void;
  #controller?: ReadableStreamDefaultController<Uint8Array>;
  #closed = false;
  #onClose: (c: SseClient) => void;
  /** Why it was closed: "dropped" when it fell behind. */
  closeReason?: "dropped" | "closed" | "cancelled";

  constructor(maxBytes: number, onClose: (c: SseClient) => void) {
    this.#maxBytes = maxBytes;
    this.#onClose = onClose;
    this.stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      pull: (controller) => {
        if (this.#queue.length > 0) {
          this.#flush(controller);
          return;
        }
        if (this.#closed) return;
        return new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
      },
      cancel: () => this.#finish("cancelled"),
    }, { highWaterMark: 0 });
  }

  /** Bytes waiting for the browser. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** True once closed or dropped. */
  get closed(): boolean {
    return this.#closed;
  }

  #flush(controller: ReadableStreamDefaultController<Uint8Array>): void {
    const text = this.#queue.join("");
    this.#queue = [];
    this.#queuedBytes = 0;
    // Decided before enqueue: handing a chunk to a response whose browser
    // has gone can cancel the stream synchronously (Deno's HTTP server
    // notices the dead connection right there), and a cancelled stream
    // refuses close() and further enqueue() with a TypeError.
    const end = this.#closed;
    try {
      controller.enqueue(encoder.encode(text));
      if (end) controller.close();
    } catch {
      this.#finish("cancelled");
    }
  }

  /** Queues text; drops the client when its queue is over the bound. */
  send(text: string): void {
    if (this.#closed) return;
    this.#queue.push(text);
    this.#queuedBytes += text.length;
    if (this.#queuedBytes > this.#maxBytes) {
      this.#queue = [];
      this.#queuedBytes = 0;
      this.#finish("dropped");
      try {
        // Erroring (not closing) makes the HTTP server drop the connection
        // instead of waiting on a peer that does not read. Deno prints the
        // reason to stderr: keep it to one line.
        const reason = new Error("maglev web: SSE client fell behind; dropped");
        reason.stack = reason.message;
        this.#controller?.error(reason);
      } catch {
        // already errored or closed
      }
      this.#wakeUp();
      return;
    }
    this.#wakeUp();
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    if (wake && this.#controller && (this.#queue.length > 0 || this.#closed)) {
      if (this.#queue.length > 0) this.#flush(this.#controller);
      else if (this.closeReason === "closed") {
        try {
          this.#controller.close();
        } catch {
          // cancelled by the browser meanwhile
        }
      }
    }
    wake?.();
  }

  /** Ends the stream after what is queued (server shutdown). */
  close(): void {
    if (this.#closed) return;
    this.#finish("closed");
    if (this.#wake) {
      this.#wakeUp();
    } else if (this.#queue.length === 0) {
      try {
        this.#controller?.close();
      } catch {
        // already closed
      }
    }
  }

  #finish(reason: "dropped" | "closed" | "cancelled"): void {
    if (this.#closed) return;
    this.#closed = true;
    this.closeReason = reason;
    this.#onClose(this);
  }
}

/** Fans events out to SSE clients with ids, replay and heartbeats. */
export class Broker {
  readonly epoch: number;
  #ring: RingEntry[] = [];
  #seq = 0;
  #clients = new Set<SseClient>();
  #ringSize: number;
  #ringMs: number;
  #maxQueueBytes: number;
  #heartbeatMs: number;
  #retryMs: number;
  #now: () => number;
  #timer?: ReturnType<typeof setInterval>;
  /** Clients dropped for falling behind, for logs and tests. */
  dropped = 0;
  /** Called when a client is dropped for falling behind. */
  onDrop?: (client: SseClient) => void;

  constructor(opts: BrokerOptions = {}) {
    this.#now = opts.now ?? Date.now;
    this.epoch = opts.epoch ?? this.#now();
    this.#ringSize = opts.ringSize ?? 2000;
    this.#ringMs = opts.ringMs ?? 30_000;
    this.#maxQueueBytes = opts.maxQueueBytes ?? 1 << 20;
    this.#heartbeatMs = opts.heartbeatMs ?? 15_000;
    this.#retryMs = opts.retryMs ?? 2000;
  }

  /** Starts heartbeats (a timer; `close` stops it). */
  start(): void {
    if (this.#heartbeatMs > 0 && this.#timer === undefined) {
      this.#timer = setInterval(() => this.heartbeat(), this.#heartbeatMs);
    }
  }

  /** Connected clients. */
  get clientCount(): number {
    return this.#clients.size;
  }

  /** Events held for replay. */
  get ringLength(): number {
    return this.#ring.length;
  }

  /** Id of the newest event (`<epoch>-0` before the first). */
  get lastId(): string {
    return `${this.epoch}-${this.#seq}`;
  }

  /** Sends an event to every client and keeps it for replay; returns its id. */
  publish(event: SseEventName, data: unknown): string {
    const seq = ++this.#seq;
    const id = `${this.epoch}-${seq}`;
    const frame = sseFrame(id, event, data);
    const atMs = this.#now();
    this.#ring.push({ seq, atMs, frame });
    this.#trim(atMs);
    for (const c of this.#clients) c.send(frame);
    return id;
  }

  #trim(now: number): void {
    let drop = Math.max(0, this.#ring.length - this.#ringSize);
    while (
      drop < this.#ring.length && now - this.#ring[drop].atMs > this.#ringMs
    ) drop++;
    if (drop > 0) this.#ring.splice(0, drop);
  }

  /** A comment line to every client: keeps proxies and NAT from idling the stream out. */
  heartbeat(): void {
    this.#trim(this.#now());
    for (const c of this.#clients) c.send(": hb\n\n");
  }

  /**
   * Connects a client. With a `Last-Event-ID` of this epoch whose
   * successors are all still in the ring, it first gets those; with any
   * other id it gets a `resync`; with none, only new events (it has just
   * fetched the state).
   */
  subscribe(lastEventId?: string | null): SseClient {
    const client = new SseClient(this.#maxQueueBytes, (c) => {
      this.#clients.delete(c);
      if (c.closeReason === "dropped") {
        this.dropped++;
        this.onDrop?.(c);
      }
    });
    client.send(`retry: ${this.#retryMs}\n: connected\n\n`);
    if (lastEventId) {
      const missed = this.#since(lastEventId);
      if (missed === undefined) {
        client.send(sseFrame(this.lastId, "resync", {}));
      } else {
        for (const f of missed) client.send(f);
      }
    }
    if (!client.closed) this.#clients.add(client);
    return client;
  }

  /** Frames after `id`, or undefined when they cannot all be replayed. */
  #since(id: string): string[] | undefined {
    this.#trim(this.#now());
    const m = /^(\d+)-(\d+)$/.exec(id.trim());
    if (!m || Number(m[1]) !== this.epoch) return undefined;
    const seq = Number(m[2]);
    if (seq > this.#seq) return undefined;
    const first = this.#ring.length > 0 ? this.#ring[0].seq : this.#seq + 1;
    if (seq + 1 < first) return undefined;
    return this.#ring.filter((e) => e.seq > seq).map((e) => e.frame);
  }

  /** Ends every stream and the heartbeat timer. */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const c of [...this.#clients]) c.close();
  }
}
