/** Children an element is built with: text is always text (never parsed as HTML). */
export type Child = Node | string | number | null | undefined | false;

type Listeners = Readonly<Record<string, (event: Event) => void>>;

/** Attributes by name, and `on`: listeners by event type. */
export type Attrs = { readonly on?: Listeners } & { readonly [name: string]: string | number | boolean | undefined | Listeners };

/** An element with attributes (`class`, `href`, `data-*`, …, an `on` map of listeners) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: readonly Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'on' || value === undefined || value === false || typeof value === 'object') continue;
    el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const [type, listener] of Object.entries(attrs.on ?? {})) el.addEventListener(type, listener);
  append(el, children);
  return el;
}

/** Appends children, skipping empty ones. */
export function append(el: Element, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'number' ? String(child) : child);
  }
}

/** Replaces an element's children. */
export function replace(el: Element, ...children: readonly Child[]): void {
  el.replaceChildren();
  append(el, children);
}
