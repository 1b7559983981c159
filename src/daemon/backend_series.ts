/**
 * The per-backend metric series (state gauges, probe counters, the probe
 * duration histogram, transitions) kept as plain numbers and written as
 * Prometheus text in chunks.
 *
 * Why not prom-client for these: at 5,000 backends they are ~50,000 series.
 * prom-client keeps a label map per series, pays a hash per `inc`/`observe`
 * on the probe path, and renders the whole exposition as one string in one
 * event-loop turn (7 MB, ~0.2 s): every probe due in that time starts late,
 * and the text plus its label objects set the daemon's peak memory. Here a
 * probe updates a few numbers, and a scrape is written a few hundred
 * backends at a time with the event loop free in between. The families,
 * names, labels and help texts are exactly those prom-client produced.
 */
import type { BackendState } from "../health/types.ts";

/** Upper bounds (seconds) of `maglev_probe_duration_seconds`. */
export const DURATION_BUCKETS: readonly number[] = [
  0.001,
  0.005,
  0.025,
  0.1,
  0.5,
  2.5,
];

const BACKEND_STATES: readonly BackendState[] = [
  "unknown",
  "up",
  "down",
  "paused",
  "disabled",
  "removed",
];

/** A histogram of one backend and probe type. */
interface Hist {
  /** Non-cumulative counts per bucket; the last slot is +Inf. */
  readonly counts: number[];
  sum: number;
  count: number;
}

/** Everything counted for one backend. */
interface Counters {
  /** "type\0result\0code" → probes. */
  readonly probes: Map<string, number>;
  /** Probe type → durations. */
  readonly durations: Map<string, Hist>;
  /** "from\0to" → transitions. */
  readonly transitions: Map<string, number>;
}

/** What the state gauges need of a backend, read at scrape time. */
export interface BackendGaugeView {
  readonly name: string;
  readonly state: BackendState;
  readonly counter: number;
  readonly enabled: boolean;
  readonly lastProbeAtMs?: number;
}

/** Label value escaping of the text format: backslash, quote, newline. */
export function escapeLabel(v: string): string {
  return /[\\"\n]/.test(v)
    ? v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")
    : v;
}

/** A sample value as the text format spells it. */
function num(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** Per-backend counters, fed by the checker's probe observer. */
export class BackendSeries {
  #by = new Map<string, Counters>();

  #of(backend: string): Counters {
    let c = this.#by.get(backend);
    if (c === undefined) {
      c = { probes: new Map(), durations: new Map(), transitions: new Map() };
      this.#by.set(backend, c);
    }
    return c;
  }

  /** Counts one probe and its duration. */
  probe(
    backend: string,
    type: string,
    ok: boolean,
    code: string,
    seconds: number,
  ): void {
    const c = this.#of(backend);
    const key = `${type}\0${ok ? "success" : "failure"}\0${code}`;
    c.probes.set(key, (c.probes.get(key) ?? 0) + 1);
    let h = c.durations.get(type);
    if (h === undefined) {
      h = {
        counts: new Array(DURATION_BUCKETS.length + 1).fill(0),
        sum: 0,
        count: 0,
      };
      c.durations.set(type, h);
    }
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]) i++;
    h.counts[i]++;
    h.sum += seconds;
    h.count++;
  }

  /** Counts one state transition. */
  transition(backend: string, from: string, to: string): void {
    const c = this.#of(backend);
    const key = `${from}\0${to}`;
    c.transitions.set(key, (c.transitions.get(key) ?? 0) + 1);
  }

  /** Drops the series of backends that left the config. */
  forget(names: Iterable<string>): void {
    for (const n of names) this.#by.delete(n);
  }

  /** Probes counted for a backend, by "type/result/code" (tests, API). */
  probeCounts(backend: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of this.#by.get(backend)?.probes ?? []) {
      out[k.replaceAll("\0", "/")] = v;
    }
    return out;
  }

  /**
   * The exposition of every per-backend family, in chunks of at most
   * `chunk` backends, waiting one macrotask between chunks so probes and
   * API calls run during a long scrape.
   */
  async *write(
    gauges: readonly BackendGaugeView[],
    nowMs: number,
    chunk = 250,
    pause: () => Promise<void> = macrotask,
  ): AsyncGenerator<string> {
    const families: {
      head: string;
      rows: (g: BackendGaugeView, out: string[]) => void;
    }[] = [
      {
        head: family(
          "maglev_backend_state",
          "gauge",
          "Backend state: 1 for the current state, 0 for the others.",
        ),
        rows(g, out) {
          const b = escapeLabel(g.name);
          for (const s of BACKEND_STATES) {
            out.push(
              `maglev_backend_state{backend="${b}",state="${s}"} ${
                g.state === s ? 1 : 0
              }\n`,
            );
          }
        },
      },
      {
        head: family(
          "maglev_backend_health",
          "gauge",
          "Rise/fall health counter of the backend (up when >= rise).",
        ),
        rows(g, out) {
          out.push(
            `maglev_backend_health{backend="${
              escapeLabel(g.name)
            }"} ${g.counter}\n`,
          );
        },
      },
      {
        head: family(
          "maglev_backend_enabled",
          "gauge",
          "1 if the backend is enabled, 0 if an operator or the config disabled it.",
        ),
        rows(g, out) {
          out.push(
            `maglev_backend_enabled{backend="${escapeLabel(g.name)}"} ${
              g.enabled ? 1 : 0
            }\n`,
          );
        },
      },
      {
        head: family(
          "maglev_backend_last_probe_age_seconds",
          "gauge",
          "Seconds since the backend's last completed probe.",
        ),
        rows(g, out) {
          if (g.lastProbeAtMs === undefined) return;
          out.push(
            `maglev_backend_last_probe_age_seconds{backend="${
              escapeLabel(g.name)
            }"} ${num(Math.max(0, nowMs - g.lastProbeAtMs) / 1000)}\n`,
          );
        },
      },
      {
        head: family(
          "maglev_probe_total",
          "counter",
          "Probes run, by backend, probe type, result (success/failure) and result code.",
        ),
        rows: (g, out) => {
          const c = this.#by.get(g.name);
          if (!c) return;
          const b = escapeLabel(g.name);
          for (const [k, v] of c.probes) {
            const [type, result, code] = k.split("\0");
            out.push(
              `maglev_probe_total{backend="${b}",type="${type}",result="${result}",code="${
                escapeLabel(code)
              }"} ${v}\n`,
            );
          }
        },
      },
      {
        head: family(
          "maglev_probe_duration_seconds",
          "histogram",
          "Wall time of one probe, connect to verdict.",
        ),
        rows: (g, out) => {
          const c = this.#by.get(g.name);
          if (!c) return;
          const b = escapeLabel(g.name);
          for (const [type, h] of c.durations) {
            const l = `backend="${b}",type="${type}"`;
            let acc = 0;
            for (let i = 0; i < DURATION_BUCKETS.length; i++) {
              acc += h.counts[i];
              out.push(
                `maglev_probe_duration_seconds_bucket{${l},le="${
                  DURATION_BUCKETS[i]
                }"} ${acc}\n`,
              );
            }
            out.push(
              `maglev_probe_duration_seconds_bucket{${l},le="+Inf"} ${h.count}\n`,
              `maglev_probe_duration_seconds_sum{${l}} ${num(h.sum)}\n`,
              `maglev_probe_duration_seconds_count{${l}} ${h.count}\n`,
            );
          }
        },
      },
      {
        head: family(
          "maglev_backend_transitions_total",
          "counter",
          "Backend state transitions, by from and to state.",
        ),
        rows: (g, out) => {
          const c = this.#by.get(g.name);
          if (!c) return;
          const b = escapeLabel(g.name);
          for (const [k, v] of c.transitions) {
            const [from, to] = k.split("\0");
            out.push(
              `maglev_backend_transitions_total{backend="${b}",from="${from}",to="${to}"} ${v}\n`,
            );
          }
        },
      },
    ];
    let first = true;
    for (const f of families) {
      for (let i = 0; i < gauges.length || i === 0; i += chunk) {
        if (!first) await pause();
        first = false;
        const out: string[] = i === 0 ? [f.head] : [];
        const end = Math.min(gauges.length, i + chunk);
        for (let j = i; j < end; j++) f.rows(gauges[j], out);
        yield out.join("");
      }
    }
  }
}

function family(name: string, type: string, help: string): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
}

/** One trip through the event loop's timer phase (lets due probes start). */
function macrotask(): Promise<void> {
  return new Promise((r) => setTimeout(r, 0));
}
