/**
 * A fake systemd notify socket (NOTIFY_SOCKET) for tests: a python3 helper
 * binds the unix datagram socket, since Deno cannot without --unstable-net,
 * and reports each datagram with its sender's pid.
 */

const SCRIPT = new URL("./notify_listener.py", import.meta.url).pathname;

/** One datagram received on the fake socket. */
export interface NotifyMessage {
  /** Sender pid from SCM_CREDENTIALS, as systemd checks it. */
  readonly pid: number | null;
  /** The datagram as sent. */
  readonly data: string;
  /** Its KEY=value lines. */
  readonly fields: ReadonlyMap<string, string>;
}

/** Parses a notify datagram's `KEY=value` lines. */
export function parseNotify(data: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of data.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) out.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return out;
}

/** A listening fake notify socket; `address` is the NOTIFY_SOCKET value. */
export class NotifyListener implements AsyncDisposable {
  readonly address: string;
  readonly messages: NotifyMessage[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #dir: string | undefined;
  readonly #waiters = new Set<() => void>();
  readonly #pumped: Promise<void>;
  #stderr: Promise<string>;
  #listening = Promise.withResolvers<void>();

  private constructor(address: string, dir: string | undefined) {
    this.address = address;
    this.#dir = dir;
    try {
      this.#child = new Deno.Command("python3", {
        args: [SCRIPT, address],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new Error(
          'python3: command not found (install the Debian package "python3")',
        );
      }
      throw e;
    }
    this.#stderr = new Response(this.#child.stderr).text();
    this.#pumped = this.#pump();
  }

  /**
   * Binds a socket: a filesystem socket in a fresh temp dir by default, or
   * the given "@abstract" / "/path" address.
   */
  static async start(
    address?: string,
    timeoutMs = 10_000,
  ): Promise<NotifyListener> {
    let dir: string | undefined;
    if (address === undefined) {
      dir = await Deno.makeTempDir({ prefix: "maglev-notify-" });
      address = `${dir}/notify.sock`;
    }
    const l = new NotifyListener(address, dir);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        l.#listening.promise,
        l.#pumped.then(async () => {
          throw new Error(`notify listener exited: ${await l.#stderr}`);
        }),
        new Promise((_, reject) =>
          timer = setTimeout(
            () => reject(new Error("notify listener did not bind in time")),
            timeoutMs,
          )
        ),
      ]);
    } catch (e) {
      await l.close();
      throw e;
    } finally {
      clearTimeout(timer);
    }
    return l;
  }

  async #pump(): Promise<void> {
    const reader = this.#child.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = JSON.parse(buf.slice(0, nl)) as {
          listening?: string;
          pid?: number | null;
          data?: string;
        };
        buf = buf.slice(nl + 1);
        if (line.listening !== undefined) {
          this.#listening.resolve();
          continue;
        }
        const data = line.data ?? "";
        this.messages.push({
          pid: line.pid ?? null,
          data,
          fields: parseNotify(data),
        });
        for (const w of this.#waiters) w();
      }
    }
    for (const w of this.#waiters) w();
  }

  /**
   * Resolves with the index of the first message at or after `from` that
   * matches `pred`; rejects after `timeoutMs` saying what never came.
   */
  waitFor(
    pred: (m: NotifyMessage) => boolean,
    what: string,
    from = 0,
    timeoutMs = 10_000,
  ): Promise<number> {
    return new Promise((resolve, reject) => {
      let i = from;
      const check = () => {
        for (; i < this.messages.length; i++) {
          if (pred(this.messages[i])) {
            cleanup();
            resolve(i);
            return;
          }
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `timed out after ${timeoutMs}ms waiting for ${what}; got:\n${
              this.messages.slice(from).map((m) => JSON.stringify(m.data))
                .join("\n")
            }`,
          ),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Stops the helper and removes the socket's temp dir. */
  async close(): Promise<void> {
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await this.#child.status;
    await this.#pumped.catch(() => {});
    await this.#stderr.catch(() => "");
    if (this.#dir) {
      await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
    }
  }

  /** See close. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
