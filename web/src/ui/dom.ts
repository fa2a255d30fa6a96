// A tiny element builder: h('button.primary', {onclick}, 'text'). Pages are plain DOM so the app
// stays light on old classroom PCs.
type Child = Node | string | number | false | null | undefined;
type Props = Partial<Record<string, unknown>> & { dataset?: Record<string, string>; style?: Partial<CSSStyleDeclaration> };

export function h<K extends keyof HTMLElementTagNameMap>(
  tagAndClasses: K | `${K}.${string}` | `${K}#${string}`,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const [tagId, ...classes] = tagAndClasses.split('.');
  const [tag, id] = tagId!.split('#');
  const el = document.createElement(tag as K);
  if (id) el.id = id;
  if (classes.length) el.className = classes.join(' ');
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'style') Object.assign(el.style, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v as EventListener);
    else if (k in el && k !== 'list') (el as unknown as Record<string, unknown>)[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

/** Replaces el's children. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

let toastBox: HTMLElement | undefined;

/** A short message at the bottom of the screen. */
export function toast(text: string, kind: 'info' | 'error' = 'info'): void {
  if (!toastBox) {
    toastBox = h('div.toasts', { role: 'status' });
    document.body.append(toastBox);
  }
  const el = h('div.toast', { className: `toast ${kind}` }, text);
  toastBox.append(el);
  setTimeout(() => el.remove(), 5000);
}

export function params(): URLSearchParams {
  const hash = location.hash.replace(/^#/, '');
  const q = hash.indexOf('?');
  return new URLSearchParams(q >= 0 ? hash.slice(q + 1) : '');
}
