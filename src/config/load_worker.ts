/**
 * Loading a config file on a worker thread. Parsing a large or hostile file
 * takes hundreds of milliseconds (0.4 s for 5,000 backends, as long for
 * 32,000 broken lines); on the daemon's event loop that is time without
 * probes, gRPC or metrics, on every SIGHUP. The worker is started from the
 * program's own entry module (main.ts dispatches on its name), so a bundled
 * or compiled build needs no separate file.
 */
import { loadConfigFile, type LoadOptions } from "./load.ts";
import type { LoadResult } from "./types.ts";

/** Name prefix main.ts recognises to run `runConfigWorker`. */
export const CONFIG_WORKER_PREFIX = "maglev-config-worker:";

/** A load that takes longer than this fails (and its worker is ended). */
const LOAD_DEADLINE_MS = 30_000;

interface LoadRequest {
  readonly path: string;
  readonly opts: LoadOptions;
}

/**
 * `loadConfigFile` on a new worker started from `entry`; the same result,
 * or a parse error saying why the worker could not give one.
 */
export function loadConfigInWorker(
  entry: URL,
  path: string,
  opts: LoadOptions = {},
): Promise<LoadResult> {
  return new Promise<LoadResult>((resolve) => {
    let w: Worker;
    const fail = (why: string): LoadResult => ({
      ok: false,
      kind: "parse",
      errors: [{
        kind: "parse",
        file: path,
        line: 0,
        col: 0,
        path: "",
        message: `cannot load config: ${why}`,
      }],
    });
    try {
      w = new Worker(entry, {
        type: "module",
        name: CONFIG_WORKER_PREFIX + path,
      });
    } catch (e) {
      // Without a worker, on the loop: slower to probes, but it works.
      loadConfigFile(path, opts).then(
        resolve,
        (err) => resolve(fail(String(err))),
      );
      void e;
      return;
    }
    const done = (r: LoadResult) => {
      clearTimeout(timer);
      w.terminate();
      resolve(r);
    };
    const timer = setTimeout(
      () => done(fail(`not loaded within ${LOAD_DEADLINE_MS / 1000} s`)),
      LOAD_DEADLINE_MS,
    );
    w.onmessage = (ev: MessageEvent<LoadResult>) => done(ev.data);
    w.onerror = (ev: ErrorEvent) => {
      ev.preventDefault();
      done(fail(`the loader failed: ${ev.message}`));
    };
    w.onmessageerror = () => done(fail("unreadable result from the loader"));
    w.postMessage({ path, opts } satisfies LoadRequest);
  });
}

/** The worker's side: one request, one answer. */
export function runConfigWorker(): void {
  const self = globalThis as unknown as {
    onmessage: ((ev: MessageEvent<LoadRequest>) => void) | null;
    postMessage(msg: LoadResult): void;
  };
  self.onmessage = async (ev) => {
    self.postMessage(await loadConfigFile(ev.data.path, ev.data.opts));
  };
}
