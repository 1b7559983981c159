/** @jsxImportSource preact */
import { signal } from "@preact/signals";
import { getCookie, setCookie } from "../cookies.ts";
import { frontendHealth, vipLabel } from "../format.ts";
import type { FrontendJson } from "../proto.ts";
import { admin, type ScopeView } from "../store.ts";
import { propose } from "./ConfirmDialog.tsx";
import { HealthIcon, StateBadge } from "./Badges.tsx";
import { Flash } from "./Flash.tsx";
import { PoolTable } from "./PoolTable.tsx";

const ZIPPY_COOKIE = "maglev_zippy_open";

/**
 * Open/closed state of every card, "scope/frontend" → open. Cards not in the
 * cookie start closed, as in the original dashboard: a daemon with many
 * frontends shows a short list of health summaries first, and the cookie
 * remembers the cards the operator opened.
 */
const zippy = signal<Readonly<Record<string, boolean>>>(readZippy());

function readZippy(): Record<string, boolean> {
  try {
    const raw = getCookie(ZIPPY_COOKIE);
    const v: unknown = raw === undefined ? {} : JSON.parse(raw);
    return typeof v === "object" && v !== null
      ? v as Record<string, boolean>
      : {};
  } catch {
    return {};
  }
}

function toggle(key: string, open: boolean): void {
  zippy.value = { ...zippy.value, [key]: open };
  setCookie(ZIPPY_COOKIE, JSON.stringify(zippy.value));
}

/**
 * The alarm of a tripped min-healthy guard: which backends it holds at their
 * last good weights, and (admin page) the button to let the failures
 * through. Shown in the open card; the card's head keeps its usual badges.
 */
function GuardBanner(props: { view: ScopeView; f: FrontendJson }) {
  const { view, f } = props;
  const g = f.guard!;
  const pct = (x: number | undefined) => `${Math.round((x ?? 0) * 100)}%`;
  const held = g.heldBackends ?? [];
  return (
    <div class="guard-banner" role="alert" data-guard="tripped">
      <strong>Mass-failure guard holding</strong>{" "}
      {held.join(", ") || "backends"}{" "}
      at their last good weights: the failures would have left {pct(g.share)}
      {" "}
      of the frontend's weight (min-healthy {pct(g.minHealthy)}).
      {admin.value && (
        <button
          type="button"
          class="primary"
          data-action="confirm-guard"
          onClick={() =>
            propose({
              request: {
                scope: view.scope.id,
                action: "confirm-guard",
                frontend: f.name ?? "",
              },
              frontend: f,
              // No pool or backend: the guard is the frontend's.
              pool: {},
              backend: undefined,
              currentWeight: 0,
            })}
        >
          Confirm failures
        </button>
      )}
    </div>
  );
}

/** A frontend (VIP) as a collapsible card holding its pools. */
export function FrontendCard(props: { view: ScopeView; f: FrontendJson }) {
  const { view, f } = props;
  const name = f.name ?? "?";
  const key = `${view.scope.id}/${name}`;
  const open = zippy.value[key] ?? false;
  const health = frontendHealth(f);
  const bodyId = `fe-${view.scope.id}-${name}`.replace(/[^\w-]/g, "_");
  return (
    <section class={`card h-${health.kind}`} data-frontend={name}>
      <h3 class="card-head">
        <button
          type="button"
          class="zippy"
          aria-expanded={open}
          aria-controls={bodyId}
          onClick={() => toggle(key, !open)}
        >
          <span class="chev" aria-hidden="true">{open ? "▾" : "▸"}</span>
          <Flash value={health.kind}>
            <HealthIcon health={health} />
          </Flash>
          <span class="fe-name">{name}</span>
          <span class="vip">{vipLabel(f)}</span>
          <Flash value={f.state ?? "unknown"} class="fe-state">
            <StateBadge state={f.state} />
          </Flash>
        </button>
      </h3>
      {open && (
        <div id={bodyId} class="card-body">
          {f.guard?.tripped && <GuardBanner view={view} f={f} />}
          {f.description && <p class="desc">{f.description}</p>}
          <p class="meta">
            active pool: <strong>{f.activePool || "none"}</strong>
            {f.encap && <>{" · "}{f.encap}</>}
            {f.srcIpSticky && " · sticky"}
            {f.flushOnDown && " · flush on down"}
          </p>
          {(f.pools ?? []).map((p) => (
            <PoolTable key={p.name} view={view} frontend={f} pool={p} />
          ))}
        </div>
      )}
    </section>
  );
}
