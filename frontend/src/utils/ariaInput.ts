import type { Directive } from 'vue'

type Attrs = Record<string, string | undefined>

function apply(el: HTMLElement, attrs: Attrs) {
  const target = el.matches('input, textarea') ? el : el.querySelector<HTMLElement>('input:not([type="hidden"]), textarea')
  if (!target) return
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined) target.removeAttribute(k)
    else target.setAttribute(k, v)
  }
}

/**
 * `v-aria-input="{ 'aria-invalid': …, 'aria-describedby': … }"`: puts ARIA attributes on the
 * control's own input. Some Element Plus components (select, input-number, date picker) keep
 * them on their wrapper, where screen readers do not connect them to the focused input.
 */
export const vAriaInput: Directive<HTMLElement, Attrs> = {
  mounted: (el, { value }) => apply(el, value),
  updated: (el, { value }) => apply(el, value),
}
