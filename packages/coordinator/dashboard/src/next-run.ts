// "Options for the next run": include optional flows, the catalog's settings, the probe
// timeout. Only what differs from the coordinator's values goes into the request.
import type { SettingValue } from '@portcheck/protocol'
import type { CatalogSetting, RunRequest } from '../../src/server/api-types.js'
import { $, h } from './dom.js'
import { state } from './state.js'

/** A field per catalog setting, holding its current value. */
export function renderNextRunForm (): void {
  const box = $('settings-fields')
  box.replaceChildren()
  for (const s of state.catalog?.settings ?? []) {
    const id = `opt-set-${s.name}`
    const input = settingInput(s, id)
    const def = s.default !== undefined ? `default ${String(s.default)}` : 'no default'
    const scope = s.scope === 'host' ? '; per host: a value here applies to hosts that set none' : ''
    const help = h('span', { class: 'hint', id: `${id}-help`, text: `${s.description} (${s.type}, ${def}${scope})` })
    input.setAttribute('aria-describedby', `${id}-help`)
    box.append(s.type === 'boolean'
      ? h('div', { class: 'setting' }, h('label', { class: 'cb', for: id }, input, ' ', h('code', { text: s.name })), help)
      : h('div', { class: 'setting' }, h('label', { class: 'field', for: id }, h('code', { text: s.name }), input), help))
  }
}

function settingInput (s: CatalogSetting, id: string): HTMLInputElement | HTMLSelectElement {
  if (s.type === 'boolean') return h('input', { type: 'checkbox', id, 'data-setting': s.name, checked: s.value === true })
  if (Array.isArray(s.enum) && s.enum.length > 0) {
    return h('select', { id, 'data-setting': s.name }, s.enum.map((v) => h('option', { value: v, text: v, selected: v === s.value })))
  }
  const numeric = s.type === 'number' || s.type === 'port'
  return h('input', {
    type: numeric ? 'number' : 'text',
    id,
    'data-setting': s.name,
    value: s.value !== undefined ? String(s.value) : '',
    placeholder: s.value === undefined ? 'not set' : null,
    ...(s.type === 'port' ? { min: 1, max: 65535 } : {})
  })
}

/** The request body for "Start run": only the settings that differ from the coordinator's. */
export function nextRunBody (): RunRequest {
  const body: RunRequest = { includeOptional: $('opt-include-optional', HTMLInputElement).checked }
  const settings: Record<string, SettingValue> = {}
  for (const s of state.catalog?.settings ?? []) {
    const el = document.querySelector(`[data-setting="${CSS.escape(s.name)}"]`)
    if (!(el instanceof HTMLInputElement || el instanceof HTMLSelectElement)) continue
    let v: SettingValue | undefined
    if (s.type === 'boolean') v = (el as HTMLInputElement).checked
    else if (s.type === 'number' || s.type === 'port') v = el.value.trim() === '' ? undefined : Number(el.value)
    else v = el.value.trim() === '' ? undefined : el.value.trim()
    if (v !== undefined && v !== s.value) settings[s.name] = v
  }
  if (Object.keys(settings).length > 0) body.settings = settings
  const timeout = $('opt-timeout', HTMLInputElement)
  const ms = Number(timeout.value)
  if (timeout.value.trim() !== '' && Number.isInteger(ms)) body.timeoutMs = ms
  return body
}
