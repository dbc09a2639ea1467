// The page's state: what the API said last, and what the operator chose to see. Every module
// reads and writes this one object; rendering functions turn it into DOM.
import type { RunState } from '../../src/report/report.js'
import type { Access, AgentsResponse, CatalogResponse, DashboardEvent, HostAgentStatus, RunListEntry } from '../../src/server/api-types.js'
import type { AddressFamily } from '@portcheck/protocol'
import type { ShownStatus, StatusFilter } from './statuses.js'

/** The views of the main panel. */
export type View = 'role' | 'host' | 'agents' | 'history'

/** Each view's name, as its button and the panel's label say it. */
export const VIEW_LABELS: Readonly<Record<View, string>> = { role: 'Role matrix', host: 'Host matrix', agents: 'Agents', history: 'History' }

/** The global filters, as the controls hold them ('' is "any"). */
export interface Filters {
  status: StatusFilter | ''
  protocol: 'tcp' | 'udp' | ''
  role: string
  /** The port as typed, once valid. */
  port: string
  required: boolean
}

/** What a details panel lists: the checks of a matrix cell or port, or every check of a status. */
export type DetailSpec =
  | { kind: 'status', status: 'blocked' | 'inconclusive' }
  | {
    kind: 'role' | 'host'
    from: string
    to: string
    protocol?: 'tcp' | 'udp'
    port?: number
    /** Set when a port was clicked: null for a single port, the last port of a range. */
    portEnd?: number | null
    /** Set when a port of one family was clicked (a dual-stack run). */
    family?: AddressFamily | null
  }

/** The open details panel, and how far its checks are loaded. */
export interface DetailState {
  spec: DetailSpec
  /** Where focus returns on close: the clicked element, or one with the same data-key after a re-render. */
  originKey: string | null
  originEl: HTMLElement | null
  /** The statuses to load, worst first, each paged separately. */
  statuses: readonly ShownStatus[]
  /** Index in `statuses` of the one being loaded, and the offset in it. */
  si: number
  offset: number
  totals: Partial<Record<ShownStatus, number>>
  /** Null until the per-status totals are known. */
  total: number | null
  loaded: number
}

/** The last progress event of the run in progress. */
export type LiveProgress = Omit<Extract<DashboardEvent, { type: 'run' }>, 'type'>

export const state = {
  token: null as string | null,
  /** The same-origin proof writes carry when the coordinator needs no token (loopback); from /api/session. */
  csrf: null as string | null,
  /** 'full' (join token, or no token needed) or 'read' (viewer token). */
  access: 'full' as Access,
  catalog: null as CatalogResponse | null,
  agents: null as AgentsResponse | null,
  runs: [] as RunListEntry[],
  /** The run shown; with `follow`, always the newest one. */
  runId: null as string | null,
  follow: true,
  view: 'role' as View,
  filters: { status: '', protocol: '', role: '', port: '', required: false } as Filters,
  hostPage: { offset: 0, limit: 50 },
  live: null as LiveProgress | null,
  detail: null as DetailState | null,
  busy: false,
  wsOpen: false,
  booted: false,
  /** Host name -> inventory entry and agent, for tooltips. */
  hostInfo: new Map<string, HostAgentStatus>(),
  /** Run id -> how many optional checks it skipped. */
  optionalSkipped: new Map<string, number>()
}

/** The run shown, if the coordinator still has it. */
export function shownRun (): RunListEntry | null {
  return state.runs.find((r) => r.id === state.runId) ?? null
}

/** Whether a run has ended (done, or aborted). */
export function isFinal (run: { state: RunState }): boolean {
  return run.state === 'done' || run.state === 'aborted'
}

/** The run in progress, if any. */
export function runningRun (): RunListEntry | null {
  return state.runs.find((r) => !isFinal(r)) ?? null
}
