/** @jsxImportSource preact */
import type { ActionRequest } from "../../src/web/types.ts";
import { lastTransitionMs, lbBuckets } from "../format.ts";
import type { BackendJson, FrontendJson, PoolJson } from "../proto.ts";
import { admin, type ScopeView } from "../store.ts";
import { Heartbeat } from "./Heartbeat.tsx";
import { StateBadge } from "./Badges.tsx";
import { propose } from "./ConfirmDialog.tsx";
import { Flash } from "./Flash.tsx";
import { Since } from "./Since.tsx";

function Actions(
  props: {
    scope: string;
    frontend: FrontendJson;
    pool: PoolJson;
    name: string;
    weight: number;
    backend: BackendJson | undefined;
  },
) {
  const { scope, frontend, pool, name, weight, backend } = props;
  const paused = backend?.state === "paused";
  const enabled = backend?.enabled ?? backend?.state !== "disabled";
  const ask = (request: ActionRequest) =>
    propose({ request, frontend, pool, backend, currentWeight: weight });
  const simple = (action: "pause" | "resume" | "enable" | "disable") => (
    <button
      type="button"
      class="act"
      aria-label={`${action} ${name}`}
      data-action={action}
      onClick={() => ask({ scope, action, backend: name })}
    >
      {action}
    </button>
  );
  return (
    <span class="actions">
      {simple(paused ? "resume" : "pause")}
      {simple(enabled ? "disable" : "enable")}
      <button
        type="button"
        class="act"
        aria-label={`set weight of ${name} in pool ${pool.name ?? ""}`}
        data-action="set-weight"
        onClick={() =>
          ask({
            scope,
            action: "set-weight",
            frontend: frontend.name ?? "",
            pool: pool.name ?? "",
            backend: name,
            weight,
          })}
      >
        weight…
      </button>
    </span>
  );
}

/**
 * One pool's members: configured vs effective weight vs what VPP really
 * does (its LB buckets, with their share) side by side, which is where
 * misbehaviour shows.
 */
export function PoolTable(
  props: { view: ScopeView; frontend: FrontendJson; pool: PoolJson },
) {
  const { view, frontend, pool } = props;
  const scope = view.scope.id;
  const active = frontend.activePool === pool.name;
  const isAdmin = admin.value;
  return (
    <table class="pool">
      <caption>
        pool <strong>{pool.name}</strong>
        {active && <span class="badge st-active">active</span>}
      </caption>
      <thead>
        <tr>
          <th scope="col">Backend</th>
          <th scope="col">State</th>
          <th scope="col">Weight</th>
          <th scope="col">Effective</th>
          <th scope="col" title="new-flow buckets VPP gives the backend">
            LB buckets
          </th>
          <th scope="col">Since</th>
          {isAdmin && <th scope="col">Actions</th>}
        </tr>
      </thead>
      <tbody>
        {(pool.backends ?? []).map((m) => {
          const name = m.name ?? "";
          const b = view.backends.find((x) => x.name === name);
          const state = m.state ?? b?.state ?? "unknown";
          const lb = lbBuckets(view.lbState, frontend, name);
          const weight = m.weight ?? 0;
          return (
            <tr key={name} data-backend={name}>
              <th scope="row" data-label="Backend">
                <Heartbeat scope={scope} backend={name} />
                {name}
              </th>
              <td data-label="State" class="c-state">
                <Flash value={state}>
                  <StateBadge state={state} />
                </Flash>
              </td>
              <td data-label="Weight" class="c-weight">
                <Flash value={weight}>
                  {weight}
                  {m.weightOverridden && (
                    <span title="set by an operator" aria-label="overridden">
                      *
                    </span>
                  )}
                </Flash>
              </td>
              <td data-label="Effective" class="c-eff">
                <Flash value={m.effectiveWeight ?? 0}>
                  {m.effectiveWeight ?? 0}
                </Flash>
              </td>
              <td
                data-label="LB buckets"
                class="c-buckets"
                title={lb.title || undefined}
              >
                <span>
                  <Flash value={lb.text} class="buckets">{lb.text}</Flash>
                  {lb.buckets !== undefined && (
                    <small class="share">{lb.share}</small>
                  )}
                </span>
              </td>
              <td data-label="Since" class="c-since">
                <Since atMs={lastTransitionMs(b)} />
              </td>
              {isAdmin && (
                <td data-label="Actions">
                  <Actions
                    scope={scope}
                    frontend={frontend}
                    pool={pool}
                    name={name}
                    weight={weight}
                    backend={b}
                  />
                </td>
              )}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
