// Page frame: the top bar with the language switch, and i18n-aware text nodes that follow the
// language without the page being rebuilt.
import { lang, onLangChange, setLang, t, type Key } from '../i18n';
import { h } from './dom';

/** A span whose text follows the language. */
export function tx(key: Key, params?: Record<string, string | number>): HTMLSpanElement {
  const el = h('span', { dataset: { i18n: key } }, t(key, params));
  if (params) el.dataset.i18nParams = JSON.stringify(params);
  return el;
}

/** Sets the i18n key of an element created with tx (or any element) and its text. */
export function setTx(el: HTMLElement, key: Key, params?: Record<string, string | number>): void {
  el.dataset.i18n = key;
  if (params) el.dataset.i18nParams = JSON.stringify(params);
  else delete el.dataset.i18nParams;
  el.textContent = t(key, params);
}

/** Marks an input's placeholder / an element's title as translated. */
export function i18nAttr<E extends HTMLElement>(el: E, attr: 'placeholder' | 'title' | 'aria-label', key: Key): E {
  el.dataset[`i18n${attr === 'aria-label' ? 'Aria' : attr === 'title' ? 'Title' : 'Ph'}`] = key;
  el.setAttribute(attr, t(key));
  return el;
}

export function applyI18n(root: ParentNode = document): void {
  for (const el of root.querySelectorAll<HTMLElement>('[data-i18n]')) {
    const params = el.dataset.i18nParams ? (JSON.parse(el.dataset.i18nParams) as Record<string, string>) : undefined;
    el.textContent = t(el.dataset.i18n as Key, params);
  }
  for (const el of root.querySelectorAll<HTMLElement>('[data-i18n-ph]')) el.setAttribute('placeholder', t(el.dataset.i18nPh as Key));
  for (const el of root.querySelectorAll<HTMLElement>('[data-i18n-title]')) el.setAttribute('title', t(el.dataset.i18nTitle as Key));
  for (const el of root.querySelectorAll<HTMLElement>('[data-i18n-aria]')) el.setAttribute('aria-label', t(el.dataset.i18nAria as Key));
}

onLangChange(() => applyI18n());

export function langSwitch(): HTMLElement {
  const mk = (l: 'en' | 'zh', label: string) =>
    h('button.lang', {
      type: 'button',
      'aria-pressed': String(lang() === l),
      dataset: { lang: l },
      onclick: () => setLang(l),
    }, label);
  const box = h('div.langswitch', { role: 'group', 'aria-label': 'Language / 语言' }, mk('en', 'EN'), mk('zh', '中文'));
  onLangChange(() => {
    for (const b of box.querySelectorAll<HTMLButtonElement>('button')) b.setAttribute('aria-pressed', String(b.dataset.lang === lang()));
  });
  return box;
}

/** The top bar: brand, a title, middle items and right items; then the language switch. */
export function topbar(title: Node | string, middle: Node[] = [], right: Node[] = []): HTMLElement {
  return h(
    'header.topbar',
    {},
    h('a.brand', { href: '#/' }, 'classcast'),
    h('div.title', {}, title),
    h('div.middle', {}, ...middle),
    h('div.right', {}, ...right, langSwitch()),
  );
}

export type StatusKind = 'ok' | 'warn' | 'bad' | 'idle';

export function statusPill(key: Key, kind: StatusKind = 'idle'): HTMLElement {
  const el = h('span.pill', { dataset: { kind } }, tx(key));
  return el;
}

export function setPill(el: HTMLElement, key: Key, kind: StatusKind, params?: Record<string, string | number>): void {
  el.dataset.kind = kind;
  const span = el.querySelector<HTMLElement>('span') ?? el;
  setTx(span, key, params);
}
