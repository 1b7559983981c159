/** @jsxImportSource preact */
import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

/**
 * Wraps a value that changes live so the change catches the eye: it flashes
 * when `value` differs from the previous render, never on the first one (a
 * page load is not news).
 */
export function Flash(
  props: { value: unknown; children: ComponentChildren; class?: string },
) {
  const ref = useRef<HTMLSpanElement>(null);
  const prev = useRef<unknown>(props.value);
  useEffect(() => {
    if (Object.is(prev.current, props.value)) return;
    prev.current = props.value;
    const el = ref.current;
    if (el === null) return;
    el.classList.remove("flash");
    void el.offsetWidth; // restart the animation
    el.classList.add("flash");
    const t = setTimeout(() => el.classList.remove("flash"), 1600);
    return () => clearTimeout(t);
  }, [props.value]);
  return <span ref={ref} class={props.class}>{props.children}</span>;
}
