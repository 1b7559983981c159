/** @jsxImportSource preact */
import type { ComponentChildren } from "preact";
import { useRestartClass } from "./restartClass.ts";

/**
 * Wraps a value that changes live so the change catches the eye: it flashes
 * when `value` differs from the previous render, never on the first one.
 */
export function Flash(
  props: { value: unknown; children: ComponentChildren; class?: string },
) {
  const ref = useRestartClass<HTMLSpanElement>(props.value, "flash", 1600);
  return <span ref={ref} class={props.class}>{props.children}</span>;
}
