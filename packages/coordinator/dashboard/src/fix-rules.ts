// "What to open", the rules: for the shown run, what `portcheck fix` writes in the chosen format,
// for each host that needs rules and for all of them in one file, each with a copy button.
import { FIX_FORMAT_NAMES, type FixFormat } from '../../src/fix/fix-formats.js'
import type { FixResponse, FixText } from '../../src/server/api-types.js'
import { api, describeError, isUnauthorized, runPath } from './api.js'
import { copyText } from './copy.js'
import { h } from './dom.js'
import { shownRun } from './state.js'

/** What each format is for, in the format picker. */
const FORMAT_LABEL: Record<FixFormat, string> = {
  nftables: 'nftables (nft -f)',
  iptables: 'iptables (iptables-restore)',
  firewalld: 'firewalld (rich rules)',
  ufw: 'ufw',
  aws: 'AWS security groups (JSON)',
  azure: 'Azure NSG (az)',
  gcp: 'Google Cloud firewall (gcloud)',
  csv: 'change request (CSV)'
}

let format: FixFormat = 'nftables'
let seq = 0

/** A text with its copy button, under a heading. */
function block (title: string, sub: string, fix: FixText, label: string, host: string | null): HTMLElement {
  const text = fix.text
  const pre = h('pre', { class: 'fix-text', tabindex: 0, text })
  const copy = h('button', { type: 'button', class: 'btn btn-small fix-copy', text: 'Copy', 'aria-label': label })
  copy.addEventListener('click', () => void copyText(text, pre, copy))
  return h('div', { class: 'fix-host', ...(host !== null ? { 'data-host': host } : {}) },
    h('div', { class: 'fix-host-head' }, h('strong', { text: title }), h('span', { class: 'hint', text: sub }), copy),
    pre,
    fix.aside.length > 0 ? h('ul', { class: 'fix-aside hint' }, ...fix.aside.map((line) => h('li', { text: line }))) : null)
}

/**
 * Renders the rules of the shown run into `body` (a later call wins over one still loading).
 * Nothing while the run goes on: the rules follow from final verdicts.
 */
export async function loadFixRules (body: HTMLElement): Promise<void> {
  const mine = ++seq
  const run = shownRun()
  if (run === null || run.verdict === null || run.summary.blocked === 0) { body.replaceChildren(); return }
  const picker = h('select', { id: 'fix-format', 'aria-label': 'Format of the rules' }, ...FIX_FORMAT_NAMES.map((f) => h('option', { value: f, text: FORMAT_LABEL[f], selected: f === format })))
  picker.addEventListener('change', () => {
    format = picker.value as FixFormat
    void loadFixRules(body)
  })
  const head = h('div', { class: 'fix-rules-head' }, h('h3', { text: 'Rules to apply' }), picker)
  try {
    const data = await api<FixResponse>(runPath(`/fix?format=${format}`))
    if (mine !== seq) return
    const what = data.scope === 'host' ? 'on the host itself' : 'in front of the host (its security group, its firewall rules)'
    const hosts = data.hosts.map((x) => block(x.host, `${x.address !== null && x.address !== x.host ? `${x.address} · ` : ''}${x.rules} rule${x.rules === 1 ? '' : 's'} ${what}`, x, `Copy the ${format} rules for ${x.host}`, x.host))
    const none = data.hosts.length === 0 ? h('p', { class: 'hint', text: `No ${format} rule opens a blocked flow of this run${data.scope === 'host' ? ': the drops are in the network, or need investigating' : ': the drops are on the hosts themselves, or need investigating'}.` }) : null
    const all = data.hosts.length > 1 ? h('details', { class: 'fix-all' }, h('summary', { text: 'Every host in one file' }), block('All hosts', `portcheck fix --format ${format}`, data.all, `Copy the ${format} rules for every host`, null)) : null
    body.replaceChildren(head, h('p', { class: 'hint' }, 'What ', h('code', { text: `portcheck fix --format ${format} --host HOST` }), ' writes for this run.'), ...hosts, ...(none !== null ? [none, block('Notes', `portcheck fix --format ${format}`, data.all, `Copy the ${format} notes`, null)] : []), ...(all !== null ? [all] : []))
  } catch (err) {
    if (mine === seq && !isUnauthorized(err)) body.replaceChildren(head, h('p', { class: 'error-text', text: describeError(err) }))
  }
}
