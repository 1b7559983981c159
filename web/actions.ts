/**
 * Operator actions and the plain-words sentence the confirmation dialog shows
 * for each: what happens to traffic, not which RPC is called.
 */
import type { ActionRequest } from "../src/web/types.ts";
import type { BackendJson, FrontendJson, PoolJson } from "./proto.ts";

/** A backend action proposed from one pool row (the row gives context). */
export interface ProposedAction {
  readonly request: ActionRequest;
  readonly frontend: FrontendJson;
  readonly pool: PoolJson;
  readonly backend: BackendJson | undefined;
  /** Current configured weight of the pool member (for set-weight). */
  readonly currentWeight: number;
}

function others(p: ProposedAction, name: string): string[] {
  return (p.pool.backends ?? [])
    .filter((m) =>
      m.name !== name && (m.effectiveWeight ?? 0) > 0 && m.state === "up"
    )
    .map((m) => m.name ?? "?");
}

function whereFlowsGo(p: ProposedAction, name: string): string {
  const pool = p.pool.name ?? "?";
  const rest = others(p, name);
  if (rest.length > 0) {
    return `new flows go to the remaining backends of pool ${pool} (${
      rest.join(", ")
    }).`;
  }
  return `pool ${pool} has no other serving backend, so frontend ${
    p.frontend.name ?? "?"
  } falls back to its next pool, or goes down if there is none.`;
}

function alsoUsedBy(p: ProposedAction): string {
  const fs = (p.backend?.frontends ?? []).filter((f) => f !== p.frontend.name);
  return fs.length === 0
    ? ""
    : ` This applies everywhere it is used, also in ${fs.join(", ")}.`;
}

/** Says in plain words what confirming the action does to traffic. */
export function describeAction(p: ProposedAction): string {
  const r = p.request;
  if (r.action === "confirm-guard") {
    const held = p.frontend.guard?.heldBackends ?? [];
    return `Let the failures through in frontend ${r.frontend}: ` +
      `${held.join(", ") || "the held backends"} lose the weight the ` +
      `guard kept for ${held.length === 1 ? "it" : "them"} and get what ` +
      `their health checks say (0 while down); new flows go to the ` +
      `backends that are up. The guard rearms from there.`;
  }
  const name = r.backend;
  switch (r.action) {
    case "pause":
      return `Pause ${name}: health checks stop and it keeps its current ` +
        `weight, so traffic is unchanged, but it no longer reacts to ` +
        `failures until resumed.${alsoUsedBy(p)}`;
    case "resume":
      return `Resume ${name}: health checks start again and its weight ` +
        `follows their results; if it is found down, its weight drops to 0.` +
        alsoUsedBy(p);
    case "disable":
      return `Disable ${name}: its weight drops to 0 and existing ` +
        `connections are flushed; ${whereFlowsGo(p, name)}${alsoUsedBy(p)}`;
    case "enable":
      return `Enable ${name}: it is probed again and gets its weight back ` +
        `once healthy; until then traffic is unchanged.${alsoUsedBy(p)}`;
    case "set-weight": {
      const pool = r.pool;
      const head = `Set the weight of ${name} in pool ${pool} of ` +
        `frontend ${r.frontend} from ${p.currentWeight} to ${r.weight}: `;
      if (r.weight === p.currentWeight) return head + "nothing changes.";
      if (r.weight === 0) {
        return head + `it gets no new flows (existing ones stay); ` +
          whereFlowsGo(p, name);
      }
      return head +
        `it gets a ${
          r.weight > p.currentWeight ? "bigger" : "smaller"
        } share of new flows in this pool; existing flows stay where they are.`;
    }
  }
}

/** Short button caption for an action. */
export function actionLabel(a: ActionRequest["action"]): string {
  if (a === "confirm-guard") return "Confirm failures";
  return a === "set-weight" ? "Set weight" : a[0].toUpperCase() + a.slice(1);
}

/** What an action is about, for the dialog's title. */
export function actionTarget(r: ActionRequest): string {
  return r.action === "confirm-guard" ? `in ${r.frontend}` : r.backend;
}
