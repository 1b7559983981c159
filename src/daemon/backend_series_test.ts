import assert from "node:assert/strict";
import { assertPromtoolClean } from "../../tests/helpers/promtool.ts";
import {
  type BackendGaugeView,
  BackendSeries,
  escapeLabel,
} from "./backend_series.ts";

async function collect(gen: AsyncGenerator<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const part of gen) out.push(part);
  return out;
}

const views = (names: string[]): BackendGaugeView[] =>
  names.map((name, i) => ({
    name,
    state: i % 2 === 0 ? "up" : "down",
    counter: i,
    enabled: true,
    lastProbeAtMs: i === 0 ? undefined : 1000,
  }));

Deno.test("backend series: counters, cumulative histogram buckets, sum and count", async () => {
  const s = new BackendSeries();
  s.probe("a", "http", true, "L7OK", 0.0005);
  s.probe("a", "http", true, "L7OK", 0.003);
  s.probe("a", "http", false, "L4TOUT", 3);
  s.transition("a", "unknown", "up");
  const text = (await collect(s.write(views(["a"]), 2000))).join("");
  const line = (re: RegExp) => {
    const m = text.match(re);
    assert.ok(m, `no line ${re} in:\n${text}`);
    return m[0];
  };
  line(
    /^maglev_probe_total\{backend="a",type="http",result="success",code="L7OK"\} 2$/m,
  );
  line(
    /^maglev_probe_total\{backend="a",type="http",result="failure",code="L4TOUT"\} 1$/m,
  );
  // 0.0005 ≤ 0.001; 0.003 ≤ 0.005; 3 only in +Inf.
  line(
    /^maglev_probe_duration_seconds_bucket\{backend="a",type="http",le="0.001"\} 1$/m,
  );
  line(
    /^maglev_probe_duration_seconds_bucket\{backend="a",type="http",le="0.005"\} 2$/m,
  );
  line(
    /^maglev_probe_duration_seconds_bucket\{backend="a",type="http",le="2.5"\} 2$/m,
  );
  line(
    /^maglev_probe_duration_seconds_bucket\{backend="a",type="http",le="\+Inf"\} 3$/m,
  );
  line(
    /^maglev_probe_duration_seconds_sum\{backend="a",type="http"\} 3.0035$/m,
  );
  line(/^maglev_probe_duration_seconds_count\{backend="a",type="http"\} 3$/m);
  line(
    /^maglev_backend_transitions_total\{backend="a",from="unknown",to="up"\} 1$/m,
  );
  line(/^maglev_backend_state\{backend="a",state="up"\} 1$/m);
  line(/^maglev_backend_state\{backend="a",state="down"\} 0$/m);
  // No probe yet: no age series (rather than a made-up age).
  assert.doesNotMatch(text, /maglev_backend_last_probe_age_seconds\{/);
  assert.deepEqual(s.probeCounts("a"), {
    "http/success/L7OK": 2,
    "http/failure/L4TOUT": 1,
  });
});

Deno.test("backend series: chunks pause between them and add up to the whole", async () => {
  const s = new BackendSeries();
  const names = ["a", "b", "c", "d", "e"];
  for (const n of names) s.probe(n, "tcp", true, "L4OK", 0.01);
  let pauses = 0;
  const pause = () => {
    pauses++;
    return Promise.resolve();
  };
  const small = await collect(s.write(views(names), 5000, 2, pause));
  const whole = await collect(s.write(views(names), 5000, 1000, pause));
  // 7 families; 3 chunks each for 5 backends by 2, 1 each by 1000.
  assert.equal(small.length, 21);
  assert.equal(whole.length, 7);
  assert.equal(pauses, 20 + 6);
  assert.equal(small.join(""), whole.join(""));
  // Each family's HELP/TYPE appears once, before its samples.
  const text = whole.join("");
  assert.equal(text.match(/^# TYPE maglev_backend_state gauge$/gm)?.length, 1);
  assert.ok(
    text.indexOf("# TYPE maglev_probe_total counter") <
      text.indexOf("maglev_probe_total{"),
  );
});

Deno.test("backend series: forgotten backends lose their series, the exposition stays valid", async () => {
  const s = new BackendSeries();
  s.probe("gone", "icmp", true, "L3OK", 0.001);
  s.probe("kept", "icmp", true, "L3OK", 0.001);
  s.forget(["gone"]);
  // Still listed (its gauges come from the checker), but no counters left.
  const text = (await collect(s.write(views(["gone", "kept"]), 5000))).join("");
  assert.doesNotMatch(text, /maglev_probe_total\{backend="gone"/);
  assert.doesNotMatch(
    text,
    /maglev_probe_duration_seconds_count\{backend="gone"/,
  );
  assert.match(text, /maglev_probe_total\{backend="kept"/);
  await assertPromtoolClean(text);
  // With no backends at all: only HELP/TYPE lines, still valid.
  await assertPromtoolClean(
    (await collect(new BackendSeries().write([], 0))).join(""),
  );
});

Deno.test("backend series: label values are escaped; promtool accepts odd names", async () => {
  assert.equal(escapeLabel('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  assert.equal(escapeLabel("plain-name_1.x"), "plain-name_1.x");
  const s = new BackendSeries();
  const odd = 'we"ird\\name';
  s.probe(odd, "http", false, "L7STS", 0.2);
  const text = (await collect(s.write(views([odd]), 5000))).join("");
  assert.match(text, /backend="we\\"ird\\\\name"/);
  await assertPromtoolClean(text);
});
