/**
 * The live view of `maglev tester` as lines of text: a pure function of the
 * model's views, the screen size and the style, so what the screen shows
 * is unit-tested as strings. The terminal code (screen.ts) only writes the
 * lines.
 */
import type { Anomaly, AnomalyKind } from "./anomaly.ts";
import type { VipView } from "./model.ts";
import type { TallyEntry } from "./tally.ts";

/** Settings shown in the view's title lines. */
export interface FrameSettings {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly keepAlive: boolean;
  /** The tallied response header, if any. */
  readonly header?: string;
  readonly rollingWindowMs: number;
  /** Frontends matched but not probed (listed on exit). */
  readonly skipped: number;
}

/** Everything one frame shows. */
export interface FrameView {
  readonly nowMs: number;
  readonly startedMs: number;
  readonly settings: FrameSettings;
  readonly vips: readonly VipView[];
  /** Newest first. */
  readonly anomalies: readonly Anomaly[];
}

/** How to draw. */
export interface RenderStyle {
  /** ANSI colours (off with NO_COLOR, or for tests). */
  readonly color: boolean;
  /** Minutes east of UTC for wall-clock times (the local zone). */
  readonly utcOffsetMin: number;
}

/** A screen size in character cells. */
export interface Size {
  readonly columns: number;
  readonly rows: number;
}

const SGR = {
  bold: "1",
  dim: "2",
  red: "31",
  green: "32",
  yellow: "33",
  cyan: "36",
} as const;

/** A run of text with one style. */
interface Seg {
  readonly text: string;
  readonly sgr?: string;
}

/**
 * Joins segments into one line of at most `width` visible characters
 * (cut with "…"), with SGR codes when `color`.
 */
export function fitLine(
  segs: readonly Seg[],
  width: number,
  color: boolean,
): string {
  let out = "";
  let left = Math.max(0, width);
  for (const s of segs) {
    if (left <= 0) break;
    let chars = Array.from(s.text);
    if (chars.length > left) {
      chars = chars.slice(0, Math.max(0, left - 1));
      chars.push("…");
    }
    left -= chars.length;
    const text = chars.join("");
    out += color && s.sgr && text !== ""
      ? `\x1b[${s.sgr}m${text}\x1b[0m`
      : text;
  }
  return out;
}

/** Visible length of a plain string, in code points. */
function len(s: string): number {
  return Array.from(s).length;
}

/** Pads or cuts to exactly `w` characters (left-aligned). */
function col(s: string, w: number): string {
  const n = len(s);
  if (n > w) return Array.from(s).slice(0, Math.max(0, w - 1)).join("") + "…";
  return s + " ".repeat(w - n);
}

/** Right-aligns to `w` characters. */
function rcol(s: string, w: number): string {
  const n = len(s);
  return n >= w ? s : " ".repeat(w - n) + s;
}

/** Milliseconds for a latency column: 0.42, 12.3, 184. */
export function formatMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return "-";
  if (ms < 10) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return ms.toFixed(0);
}

/** A duration for people: 900ms, 12s, 3m05s, 2h03m. */
export function formatSpan(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** Wall-clock time `HH:MM:SS` (with `.mmm` when `millis`) in the given zone. */
export function formatClock(
  atMs: number,
  utcOffsetMin: number,
  millis = false,
): string {
  const d = new Date(atMs + utcOffsetMin * 60_000);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const hms = `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${
    p(d.getUTCSeconds())
  }`;
  return millis ? `${hms}.${p(d.getUTCMilliseconds(), 3)}` : hms;
}

const KIND_TEXT: Record<AnomalyKind, string> = {
  "timeout": "timeout",
  "http-error": "HTTP error",
  "network-error": "network error",
  "latency-spike": "latency spike",
};

const KIND_SGR: Record<AnomalyKind, string> = {
  "timeout": SGR.yellow,
  "http-error": SGR.red,
  "network-error": SGR.red,
  "latency-spike": SGR.yellow,
};

// Column widths of the numeric part of a VIP row.
const W_NUM = 9;
const W_FAIL = 7;
const W_LAST = 22;
const W_LAT = 8;
const MAX_NAME = 32;
const TALLY_INDENT = "    ";
const MAX_TALLY_LINES = 3;

/** The lines of one frame: exactly `size.rows` of them, none wider than the screen. */
export function renderFrame(
  view: FrameView,
  size: Size,
  style: RenderStyle,
): string[] {
  const width = Math.max(20, size.columns);
  const rows = Math.max(6, size.rows);
  const c = style.color;
  const line = (segs: Seg[]) => fitLine(segs, width, c);
  const out: string[] = [];

  // Title.
  const s = view.settings;
  const title = `maglev tester · ${view.vips.length} VIP${
    view.vips.length === 1 ? "" : "s"
  } · every ${formatSpan(s.intervalMs)} ±10% · timeout ${
    formatSpan(s.timeoutMs)
  } · ${s.keepAlive ? "keep-alive" : "new connection per probe"}`;
  const clock = formatClock(view.nowMs, style.utcOffsetMin);
  const gap = width - len(title) - len(clock);
  out.push(line([
    { text: title, sgr: SGR.bold },
    ...(gap >= 2 ? [{ text: " ".repeat(gap) + clock }] : []),
  ]));
  const sub = [
    `running ${formatSpan(view.nowMs - view.startedMs)}`,
    `latency: successful probes of the last ${
      formatSpan(s.rollingWindowMs)
    }, ms`,
    s.header ? `tally: ${s.header}` : "no --header tally",
    ...(s.skipped > 0
      ? [`${s.skipped} frontend${s.skipped === 1 ? "" : "s"} skipped`]
      : []),
    "q quits",
  ].join(" · ");
  out.push(line([{ text: sub, sgr: SGR.dim }]));
  out.push("");

  // VIP table.
  const vipW = Math.min(
    MAX_NAME + 16,
    Math.max(3, ...view.vips.map((v) => len(v.target.key))),
  );
  const feW = Math.min(
    MAX_NAME,
    Math.max(8, ...view.vips.map((v) => len(v.target.frontends.join(",")))),
  );
  out.push(line([{
    text: `${col("VIP", vipW)}  ${col("FRONTEND", feW)}${
      rcol("PROBES", W_NUM)
    }${rcol("FAIL", W_FAIL)}  ${col("LAST", W_LAST)}${rcol("p50", W_LAT)}${
      rcol("p95", W_LAT)
    }${rcol("p99", W_LAT)}${rcol("max", W_LAT)}`,
    sgr: SGR.bold,
  }]));

  const blocks = view.vips.map((v) =>
    vipBlock(v, vipW, feW, view.nowMs, s.header, width, c)
  );
  // Rows left once the anomaly panel has its minimum (heading + 3).
  const panelMin = 1 + 1 + Math.min(3, Math.max(1, view.anomalies.length));
  let budget = rows - out.length - panelMin;
  let shown = 0;
  for (const b of blocks) {
    // Unless it is the last, leave room for the "more VIPs" line.
    const need = b.length + (shown < blocks.length - 1 ? 1 : 0);
    if (need > budget) break;
    out.push(...b);
    budget -= b.length;
    shown++;
  }
  if (shown < blocks.length) {
    out.push(line([{
      text: `… ${
        blocks.length - shown
      } more VIPs not shown: a taller window, or --filter`,
      sgr: SGR.dim,
    }]));
  }

  // Anomaly panel: whatever rows are left.
  out.push("");
  out.push(line([{ text: "Anomalies (newest first)", sgr: SGR.bold }]));
  const room = rows - out.length;
  if (view.anomalies.length === 0) {
    out.push(line([{ text: "none", sgr: SGR.dim }]));
  } else {
    for (const a of view.anomalies.slice(0, Math.max(0, room))) {
      out.push(line(anomalySegs(a, style)));
    }
  }
  while (out.length < rows) out.push("");
  return out.slice(0, rows);
}

/** A VIP's row and its tally lines. */
function vipBlock(
  v: VipView,
  vipW: number,
  feW: number,
  nowMs: number,
  header: string | undefined,
  width: number,
  color: boolean,
): string[] {
  const last = v.last;
  const lastText = last === undefined
    ? "-"
    : last.status !== undefined && last.ok
    ? `HTTP ${last.status}`
    : last.text;
  const lat = v.latency;
  const row = fitLine(
    [
      { text: `${col(v.target.key, vipW)}  ` },
      { text: col(v.target.frontends.join(","), feW), sgr: SGR.cyan },
      { text: rcol(String(v.probes), W_NUM) },
      {
        text: rcol(String(v.failures), W_FAIL),
        sgr: v.failures > 0 ? SGR.red : undefined,
      },
      { text: "  " },
      {
        text: col(lastText, W_LAST),
        sgr: last === undefined ? undefined : last.ok ? SGR.green : SGR.red,
      },
      {
        text: rcol(formatMs(lat?.p50), W_LAT) +
          rcol(formatMs(lat?.p95), W_LAT) +
          rcol(formatMs(lat?.p99), W_LAT) + rcol(formatMs(lat?.max), W_LAT),
      },
    ],
    width,
    color,
  );
  if (header === undefined) return [row];
  return [row, ...tallyLines(v.tally, header, nowMs, width, color)];
}

/** The tally as chips (`b1 412 34%`, `b3 120 drained 12s`), wrapped. */
function tallyLines(
  tally: readonly TallyEntry[],
  header: string,
  nowMs: number,
  width: number,
  color: boolean,
): string[] {
  const lead = `${TALLY_INDENT}${header}:`;
  if (tally.length === 0) {
    return [fitLine(
      [{ text: lead, sgr: SGR.dim }, {
        text: " no answers yet",
        sgr: SGR.dim,
      }],
      width,
      color,
    )];
  }
  const lines: Seg[][] = [[{ text: lead, sgr: SGR.dim }]];
  let used = len(lead);
  for (const e of tally) {
    const receiving = e.state === "receiving";
    const text = receiving
      ? `${e.value} ${e.total} ${Math.round(e.share * 100)}%`
      : `${e.value} ${e.total} drained ${formatSpan(nowMs - e.lastMs)}`;
    const seg = { text, sgr: receiving ? SGR.green : SGR.dim };
    if (used + 2 + len(text) > width && used > len(TALLY_INDENT) + 2) {
      if (lines.length === MAX_TALLY_LINES) break;
      lines.push([{ text: TALLY_INDENT + " " }]);
      used = len(TALLY_INDENT) + 1;
    }
    lines[lines.length - 1].push({ text: "  " }, seg);
    used += 2 + len(text);
  }
  return lines.map((segs) => fitLine(segs, width, color));
}

/** One anomaly entry: time, kind, VIP, text, and the repeat count. */
function anomalySegs(a: Anomaly, style: RenderStyle): Seg[] {
  const segs: Seg[] = [
    { text: formatClock(a.firstMs, style.utcOffsetMin, true) + "  " },
    { text: col(KIND_TEXT[a.kind], 15), sgr: KIND_SGR[a.kind] },
    { text: `${a.vip} ` },
    { text: `(${a.frontends.join(",")})  `, sgr: SGR.cyan },
    { text: a.text },
  ];
  if (a.count > 1) {
    segs.push({
      text: `  ×${a.count} until ${
        formatClock(a.lastMs, style.utcOffsetMin, true)
      }`,
      sgr: SGR.dim,
    });
  }
  return segs;
}
