// DOM building. The server's CSP forbids inline scripts and styles: nothing here writes
// `style="..."` or HTML strings with data in them; it builds nodes and sets classes.
import { STATUS, type ShownStatus } from './statuses.js'

/** The page's element with this id, checked to be of the expected kind. */
export function $ (id: string): HTMLElement
export function $<T extends HTMLElement> (id: string, kind: { new (): T, prototype: T }): T
export function $ (id: string, kind: { new (): HTMLElement, prototype: HTMLElement } = HTMLElement): HTMLElement {
  const el = document.getElementById(id)
  if (el === null) throw new Error(`#${id} missing`)
  if (!(el instanceof kind)) throw new Error(`#${id} is not a ${kind.name}`)
  return el
}

/** An event handler given to {@link h}; `currentTarget` is the element built. */
export type Handler = (event: Event & { currentTarget: HTMLElement }) => void

/** Attributes for {@link h}: class, text, data-*, aria-*, on<event> handlers, booleans; null, undefined and false are left out. */
export type Attrs = Record<string, string | number | boolean | null | undefined | Handler>

/** A child for {@link h}: a node, or text; null, undefined and false are left out. */
export type Child = Node | string | number | null | undefined | false

/** Creates an element with attributes and children. */
export function h<K extends keyof HTMLElementTagNameMap> (tag: K, attrs: Attrs = {}, ...children: Array<Child | readonly Child[]>): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue
    if (typeof v === 'function') {
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v as unknown as EventListener)
    } else if (k === 'class') el.className = String(v)
    else if (k === 'text') el.textContent = String(v)
    else if (v === true) el.setAttribute(k, '')
    else el.setAttribute(k, String(v))
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue
    el.append(typeof c === 'number' ? String(c) : c)
  }
  return el
}

/** An icon for a status, hidden from screen readers (the text next to it says the status). */
export const icon = (status: ShownStatus): HTMLSpanElement => h('span', { class: 'icon', 'aria-hidden': 'true', text: STATUS[status].icon })

/** A status badge: icon, text and colour. */
export function badge (status: ShownStatus, text?: string): HTMLSpanElement {
  return h('span', { class: `st st-${status}` }, icon(status), ' ', text ?? STATUS[status].label)
}

let noticeTimer: ReturnType<typeof setTimeout> | undefined
/** A one-line message above the summary, or none (null); `forMs` hides it after a while. */
export function showNotice (text: string | null, forMs = 0): void {
  const n = $('notice')
  clearTimeout(noticeTimer)
  n.textContent = text ?? ''
  n.hidden = text === null
  if (forMs > 0) noticeTimer = setTimeout(() => { n.hidden = true }, forMs)
}
