// Agents: the line under the summary (how many are connected, which are missing) and the
// agents view, with each inventory host's agent, whether it runs at the host's inventory
// address, and the command that joins a missing one.
import type { AgentRecord, AgentsResponse, HostAgentState, HostAgentStatus, LaunchState } from '../../src/server/api-types.js'
import { placementFindings, placementNote } from './agent-placement.js'
import { api } from './api.js'
import { copyText } from './copy.js'
import { $, h } from './dom.js'
import { setView } from './filters.js'
import { ago } from './format.js'
import { state } from './state.js'

/** Loads the agents, and renders the line under the summary. */
export async function loadAgents (): Promise<void> {
  const data = await api<AgentsResponse>('/api/agents')
  setAgents(data)
  renderAgentsLine()
}

/** Takes a fresh agents list into the state. */
export function setAgents (data: AgentsResponse): void {
  state.agents = data
  state.hostInfo = new Map(data.hosts.map((x) => [x.name, x]))
}

/** A list of names, the first five only. */
function names (list: string[]): string {
  return `${list.slice(0, 5).join(', ')}${list.length > 5 ? ` and ${list.length - 5} more` : ''}`
}

/** "4 of 5 agents connected · missing: db2", and the badge on the Agents view button. */
export function renderAgentsLine (): void {
  const data = state.agents
  if (data === null) return
  const hosts = data.hosts
  const connected = hosts.filter((x) => x.state === 'connected').length
  const missing = hosts.filter((x) => x.state === 'missing').map((x) => x.name)
  const lost = hosts.filter((x) => x.state === 'lost').map((x) => x.name)
  const misplaced = hosts.filter((x) => placementFindings(x).length > 0).map((x) => x.name)
  const ok = connected === hosts.length
  const parts: Array<Node | string> = [h('span', { class: `st ${ok ? 'st-pass' : 'st-inconclusive'}` }, h('span', { class: 'icon', 'aria-hidden': 'true', text: ok ? '●' : '○' }), ` ${connected} of ${hosts.length} agents connected`)]
  if (missing.length > 0) parts.push(h('span', { text: ` · missing: ${names(missing)}` }))
  if (lost.length > 0) parts.push(h('span', { text: ` · lost: ${names(lost)}` }))
  if (misplaced.length > 0) parts.push(h('span', { class: 'agents-misplaced', text: ` · not at the inventory address: ${names(misplaced)}` }))
  const launchFailed = hosts.filter((x) => x.state !== 'connected' && x.launch?.state === 'failed').map((x) => x.name)
  if (launchFailed.length > 0) parts.push(h('span', { class: 'agents-launch-failed', text: ` · launch over SSH failed: ${names(launchFailed)}` }))
  if (data.refused.length > 0) parts.push(h('span', { class: 'agents-refused', text: ` · ${data.refused.length} refused: not in the inventory` }))
  parts.push(' ', h('button', { type: 'button', class: 'btn-link', text: 'agents ›', onclick: () => setView('agents') }))
  $('agents-line').replaceChildren(...parts)
  const badgeEl = $('agents-badge')
  badgeEl.textContent = ok ? `${connected}/${hosts.length}` : `${connected}/${hosts.length} ○`
  badgeEl.className = `badge-count${ok ? '' : ' badge-warn'}`
}

/** When an agent was last heard from: the time it left, for one that is gone. */
function seenAt (a: AgentRecord, hostState: HostAgentState): number {
  return hostState === 'connected' ? a.lastSeen : a.disconnectedAt ?? a.lastSeen
}

function seenText (a: AgentRecord, hostState: HostAgentState): string {
  return hostState === 'connected' ? ago(a.lastSeen) : `${ago(seenAt(a, hostState))} (left)`
}

const STATE_BADGES: Readonly<Record<HostAgentState, [cls: string, icon: string, text: string]>> = {
  connected: ['pass', '●', 'connected'],
  missing: ['inconclusive', '○', 'missing'],
  lost: ['blocked', '✘', 'lost']
}

function stateBadge (s: HostAgentState): HTMLElement {
  const [cls, ic, text] = STATE_BADGES[s]
  return h('span', { class: `st st-${cls}` }, h('span', { class: 'icon', 'aria-hidden': 'true', text: ic }), ` ${text}`)
}

/** A launch state in words, for a host whose agent the coordinator starts over SSH. */
const LAUNCH_WORDS: Readonly<Record<LaunchState, string>> = {
  queued: 'waiting for a launch slot',
  connecting: 'connecting',
  copying: 'copying the agent',
  starting: 'starting the agent',
  running: 'agent started',
  failed: 'failed',
  stopping: 'stopping the agent',
  stopped: 'agent stopped, its files removed'
}

/** How the launch over SSH goes, under the agent's state; nothing once its agent is connected. */
function launchHint (x: HostAgentStatus): HTMLElement | null {
  const l = x.launch
  if (l === null || (x.state === 'connected' && l.state === 'running')) return null
  const text = l.state === 'failed' ? `launch over SSH failed: ${l.error ?? 'no reason given'}` : `launch over SSH: ${LAUNCH_WORDS[l.state]}`
  return h('div', { class: `hint launch launch-${l.state}`, 'data-launch': l.state, text })
}

/** Where the agent's control connection comes from, flagged when the agent is not where the inventory says. */
function placementCell (x: HostAgentStatus): HTMLTableCellElement {
  const a = x.agent
  if (a === null) return h('td', { class: 'mono' }, '–')
  const findings = placementFindings(x)
  const note = placementNote(x)
  return h('td', { class: 'mono' }, `${a.remoteAddress}${a.bind.length > 0 ? ` (bind ${a.bind.join(', ')})` : ''}`,
    findings.length > 0
      ? h('div', { class: 'placement-warning' },
        h('span', { class: 'st st-inconclusive' }, h('span', { class: 'icon', 'aria-hidden': 'true', text: '!' }), ' not at its inventory address'),
        findings.map((f) => h('div', { class: 'hint', text: f })))
      : note !== null ? h('div', { class: 'hint placement-note', text: note }) : null)
}

/** One join command with its Copy button. */
function joinLine (command: string, cls: string, label: string): HTMLElement {
  const code = h('code', { class: cls, text: command })
  const copy = h('button', { type: 'button', class: 'btn btn-small', text: 'Copy', 'aria-label': label })
  copy.addEventListener('click', () => void copyText(command, code, copy))
  return h('div', { class: 'join' }, code, copy)
}

function hostRow (x: HostAgentStatus): HTMLTableRowElement {
  const a = x.agent
  const forms = [joinLine(x.joinCommand, 'join-cmd', `Copy the join command for ${x.name}`)]
  // The standalone agent, for a node without Node.js of the coordinator's platform.
  if (x.executableJoinCommand !== null) {
    forms.push(h('div', { class: 'hint', text: `without Node.js (${state.agents?.executableTarget ?? ''}):` }),
      joinLine(x.executableJoinCommand, 'join-exe-cmd', `Copy the join command for ${x.name} without Node.js`))
  }
  // The viewer token gets the command with a placeholder instead of the join token.
  const hidden = state.access === 'read' ? h('div', { class: 'hint', text: 'The token is hidden from read-only access: put in the join token.' }) : null
  const join = x.state === 'connected'
    ? h('details', { class: 'join-details' }, h('summary', { text: 'join command' }), forms, hidden)
    : h('div', {}, forms, hidden)
  return h('tr', { 'data-host': x.name, 'data-state': x.state, 'data-placement': placementFindings(x).length > 0 ? 'misplaced' : null },
    h('th', { scope: 'row' }, x.name),
    h('td', { class: 'mono', text: x.addresses.join(', ') }),
    h('td', { text: x.roles.join(', ') }),
    h('td', {}, stateBadge(x.state), a !== null && a.lostReason !== null && a.lostReason !== '' ? h('div', { class: 'hint', text: a.lostReason }) : null, launchHint(x)),
    h('td', { text: a?.version ?? '–' }),
    placementCell(x),
    h('td', {}, a !== null ? `${a.hostname} · ${a.platform}` : '–'),
    h('td', { title: a !== null ? new Date(a.lastSeen).toISOString() : '', 'data-seen': a !== null ? seenAt(a, x.state) : null, 'data-left': x.state !== 'connected' }, a !== null ? seenText(a, x.state) : 'never'),
    h('td', {}, join))
}

/** The agents view: every inventory host with its agent, then agents the inventory does not list. */
export function renderAgentsView (): void {
  const data = state.agents
  const panel = $('view-panel')
  if (data === null) return
  const unexpected = data.refused.length === 0
    ? null
    : h('section', { class: 'unexpected' }, h('h3', { text: 'Agents refused: their name is not in the inventory' }),
      h('p', { class: 'hint', text: 'These agents joined with a name the inventory does not list: a typo in --name, or a host missing from the inventory. They take part in no check.' }),
      h('ul', {}, data.refused.map((a) => h('li', { class: 'mono', text: `${a.name} · from ${a.remoteAddress} · ${new Date(a.at).toISOString().slice(11, 19)} · ${a.why}` }))))
  panel.replaceChildren(
    h('p', { class: 'hint' }, 'Agents connect out to ', h('code', { text: data.agentUrl ?? '–' }), '. On a host whose agent is missing, run its join command (it carries the token: treat it like a password).'),
    h('div', { class: 'matrix-scroll' }, h('table', { class: 'agents-table' },
      h('caption', { class: 'sr-only', text: 'Inventory hosts and their agents' }),
      h('thead', {}, h('tr', {}, ['Host', 'Address', 'Roles', 'Agent', 'Version', 'Connected from', 'Host / platform', 'Last seen', 'Join'].map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', {}, data.hosts.map(hostRow)))),
    ...(unexpected !== null ? [unexpected] : []))
  $('app').setAttribute('aria-busy', 'false')
}

/** Keeps "last seen" moving between refreshes, and refreshes the agents view now and then. */
export function startAgentsClock (): void {
  setInterval(() => {
    for (const td of document.querySelectorAll<HTMLElement>('td[data-seen]')) td.textContent = `${ago(Number(td.dataset.seen))}${td.hasAttribute('data-left') ? ' (left)' : ''}`
  }, 5000)
  // Heartbeats move "last seen" without any event: refresh the agents view now and then.
  setInterval(() => {
    if (state.booted && state.view === 'agents' && !document.hidden) void loadAgents().then(renderAgentsView).catch(() => {})
  }, 15_000)
}
