/** @jsxImportSource preact */
import { signal } from "@preact/signals";
import { useEffect, useRef, useState } from "preact/hooks";
import {
  actionLabel,
  actionTarget,
  describeAction,
  type ProposedAction,
} from "../actions.ts";
import { postAction } from "../store.ts";

/** The action waiting for confirmation, if any. */
export const proposed = signal<ProposedAction | undefined>(undefined);

/** Asks for confirmation of an operator action (admin page only). */
export function propose(p: ProposedAction): void {
  proposed.value = p;
}

/**
 * The one modal `<dialog>` of the page: states what the action does to
 * traffic, lets the operator adjust the weight for set-weight, and shows the
 * daemon's error when it refuses. Native `<dialog>` gives focus trapping and
 * Escape for free.
 */
export function ConfirmDialog() {
  const ref = useRef<HTMLDialogElement>(null);
  const p = proposed.value;
  const [weight, setWeight] = useState(0);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");

  useEffect(() => {
    const d = ref.current;
    if (d === null) return;
    if (p !== undefined) {
      setError("");
      setBusy(false);
      if (p.request.action === "set-weight") setWeight(p.request.weight);
      if (!d.open) d.showModal();
    } else if (d.open) d.close();
  }, [p]);

  if (p === undefined) {
    return (
      <dialog ref={ref} onClose={() => (proposed.value = undefined)}></dialog>
    );
  }
  const req = p.request.action === "set-weight"
    ? { ...p.request, weight }
    : p.request;
  const text = describeAction({ ...p, request: req });
  const confirm = async () => {
    setBusy(true);
    const r = await postAction(req);
    setBusy(false);
    if (r.ok) proposed.value = undefined;
    else setError(r.error ?? "failed");
  };
  return (
    <dialog
      ref={ref}
      class="confirm"
      aria-labelledby="confirm-title"
      aria-describedby="confirm-text"
      onClose={() => (proposed.value = undefined)}
    >
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          void confirm();
        }}
      >
        <h2 id="confirm-title">
          {actionLabel(req.action)} {actionTarget(req)}?
        </h2>
        {req.action === "set-weight" && (
          <p>
            <label>
              New weight (0–100){" "}
              <input
                type="number"
                min={0}
                max={100}
                step={1}
                required
                value={weight}
                onInput={(e) => {
                  const v = Number(e.currentTarget.value);
                  if (Number.isInteger(v) && v >= 0 && v <= 100) setWeight(v);
                }}
              />
            </label>
          </p>
        )}
        <p id="confirm-text">{text}</p>
        {error !== "" && <p class="error" role="alert">{error}</p>}
        <div class="buttons">
          <button
            type="button"
            onClick={() => (proposed.value = undefined)}
            disabled={busy}
          >
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy} autofocus>
            {busy ? "Working…" : actionLabel(req.action)}
          </button>
        </div>
      </form>
    </dialog>
  );
}
