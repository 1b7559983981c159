/**
 * Backends of a VIP simulated on loopback for the tester's system tests:
 * processes running backend_main.ts on one address and port (SO_REUSEPORT),
 * each counting the connections it accepted and the responses it wrote.
 */
import { waitFor } from "../helpers/wait.ts";

const MAIN = new URL("./backend_main.ts", import.meta.url).pathname;

/** A random address in 127.0.0.0/8 (all on `lo`), so parallel tests never share a VIP. */
export function randomLoopback(): string {
  const b = () => 1 + Math.floor(Math.random() * 254);
  return `127.${b()}.${b()}.${b()}`;
}

/** One backend process; `await using` stops it. */
export class Backend implements AsyncDisposable {
  readonly name: string;
  readonly host: string;
  readonly child: Deno.ChildProcess;
  port = 0;
  connections = 0;
  served = 0;
  readonly #pump: Promise<void>;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly exited: Promise<Deno.CommandStatus>;

  private constructor(host: string, port: number, name: string) {
    this.name = name;
    this.host = host;
    this.child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--unstable-net",
        "--allow-net",
        MAIN,
        host,
        String(port),
        name,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#stdin = this.child.stdin.getWriter();
    this.exited = this.child.status;
    this.#pump = this.#read();
  }

  async #read(): Promise<void> {
    const reader = this.child.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line === "conn") this.connections++;
        else if (line === "served") this.served++;
        else if (line.startsWith("listening ")) {
          this.port = Number(line.slice(10));
        }
      }
    }
  }

  /** Starts a backend on host:port (0: any) and waits until it listens. */
  static async start(
    host: string,
    port: number,
    name: string,
  ): Promise<Backend> {
    const b = new Backend(host, port, name);
    try {
      await waitFor(
        `backend ${name} listening`,
        () => b.port || undefined,
        20_000,
      );
    } catch (e) {
      await b[Symbol.asyncDispose]();
      throw e;
    }
    return b;
  }

  /** Kills it (SIGKILL: a crash) and waits until it is gone. */
  async kill(signal: Deno.Signal = "SIGKILL"): Promise<void> {
    try {
      this.child.kill(signal);
    } catch {
      // already gone
    }
    await this.exited;
    await this.#pump;
  }

  /** Stops it: stdin closed (it exits), then killed if it is still there. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.#stdin.close();
    } catch {
      // already closed
    }
    const gone = await Promise.race([
      this.exited.then(() => true),
      new Promise<false>((r) => {
        const t = setTimeout(() => r(false), 5000);
        this.exited.finally(() => clearTimeout(t));
      }),
    ]);
    if (!gone) await this.kill();
    await this.exited;
    await this.#pump;
  }
}

/** Several backends on one address and port: one simulated VIP. */
export class Vip implements AsyncDisposable {
  readonly host: string;
  port = 0;
  readonly backends = new Map<string, Backend>();
  readonly #all: Backend[] = [];

  constructor(host: string) {
    this.host = host;
  }

  /** Starts backends named `names` on the VIP (the first picks the port). */
  static async start(host: string, names: readonly string[]): Promise<Vip> {
    const v = new Vip(host);
    try {
      for (const n of names) await v.add(n);
    } catch (e) {
      await v[Symbol.asyncDispose]();
      throw e;
    }
    return v;
  }

  /** Starts (or restarts) backend `name` on the VIP's address and port. */
  async add(name: string): Promise<Backend> {
    const b = await Backend.start(this.host, this.port, name);
    this.#all.push(b);
    this.port = b.port;
    this.backends.set(name, b);
    return b;
  }

  /** The running (or last) backend called `name`. */
  get(name: string): Backend {
    const b = this.backends.get(name);
    if (!b) throw new Error(`no backend ${name}`);
    return b;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(this.#all.map((b) => b[Symbol.asyncDispose]()));
  }
}
