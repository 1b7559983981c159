import type { RefObject } from "preact";
import { useEffect, useRef } from "preact/hooks";

/**
 * Adds `className` to the element for `ms` each time `value` changes (never
 * on the first render: a page load is not news), restarting its CSS
 * animation even when changes come faster than it runs.
 */
export function useRestartClass<T extends HTMLElement>(
  value: unknown,
  className: string,
  ms: number,
): RefObject<T | null> {
  const ref = useRef<T>(null);
  const prev = useRef<unknown>(value);
  useEffect(() => {
    if (Object.is(prev.current, value)) return;
    prev.current = value;
    const el = ref.current;
    if (el === null) return;
    el.classList.remove(className);
    void el.offsetWidth; // forces a style flush, so the animation restarts
    el.classList.add(className);
    const t = setTimeout(() => el.classList.remove(className), ms);
    return () => clearTimeout(t);
  }, [value]);
  return ref;
}
