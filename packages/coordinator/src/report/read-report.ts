import { readFile } from 'node:fs/promises'
import {
  ADDRESS_FAMILIES, AGENT_NAME_PATTERN, HOST_PATTERN, ID_PATTERN, PROTOS, PortcheckError, STATUSES, familyOf, problemsError,
  type AddressFamily, type Problem
} from '@portcheck/protocol'
import { DROP_SITES, dropRuleProblem } from './drop-site.js'
import { hasDualStackPairs } from './family-text.js'
import { remedy } from './remedy.js'
import type { CheckReport, RunReport } from './report.js'

/** Flow ids and role ids as catalogs write them (catalogs/schema.json), checked loosely. */
const CATALOG_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
/** Reasons are kebab-case words (packages/protocol/src/verdicts.ts). */
const REASON = /^[a-z][a-z-]{0,40}$/
/** Most problems listed before giving up on a file. */
const MAX_PROBLEMS = 20

type Json = Record<string, unknown>

function isObject (v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/**
 * Checks one check entry, pushing what is wrong. Names, addresses and ids are held to their
 * patterns because fixes write them into scripts; free text (detail, purpose) is not.
 */
function checkProblems (c: unknown, path: string, problem: (path: string, message: string) => void): void {
  if (!isObject(c)) { problem(path, 'expected an object'); return }
  const str = (k: string, re: RegExp | null, nullable: boolean): void => {
    const v = c[k]
    if (v === null && nullable) return
    if (typeof v !== 'string' || (re !== null && !re.test(v))) problem(`${path}.${k}`, `expected ${re === null ? 'a string' : 'a valid name'}${nullable ? ' or null' : ''}, not ${JSON.stringify(v)}`)
  }
  str('from', AGENT_NAME_PATTERN, true)
  str('to', AGENT_NAME_PATTERN, true)
  str('fromRole', CATALOG_ID, false)
  str('toRole', CATALOG_ID, false)
  str('fromAddress', HOST_PATTERN, true)
  str('toAddress', HOST_PATTERN, true)
  str('reason', REASON, true)
  if (c.family !== undefined && c.family !== null && !ADDRESS_FAMILIES.includes(c.family as never)) problem(`${path}.family`, `expected ipv4, ipv6 or null, not ${JSON.stringify(c.family)}`)
  if (c.targetAddress !== undefined) str('targetAddress', HOST_PATTERN, true)
  str('detail', null, true)
  if (!PROTOS.includes(c.protocol as never)) problem(`${path}.protocol`, `expected tcp or udp, not ${JSON.stringify(c.protocol)}`)
  for (const k of ['port', 'portEnd']) {
    if (k === 'portEnd' && c[k] === undefined) continue
    const v = c[k]
    if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 65535) problem(`${path}.${k}`, `expected a port from 1 to 65535, not ${JSON.stringify(v)}`)
  }
  if (!Array.isArray(c.flowIds) || !c.flowIds.every((f) => typeof f === 'string' && CATALOG_ID.test(f))) problem(`${path}.flowIds`, 'expected a list of flow ids')
  if (typeof c.required !== 'boolean') problem(`${path}.required`, 'expected true or false')
  if (c.status !== null && !STATUSES.includes(c.status as never)) problem(`${path}.status`, `expected pass, blocked, inconclusive, skipped or null, not ${JSON.stringify(c.status)}`)
  if (c.agentHosts !== undefined && !(Array.isArray(c.agentHosts) && c.agentHosts.every((h) => typeof h === 'string' && AGENT_NAME_PATTERN.test(h)))) problem(`${path}.agentHosts`, 'expected a list of host names')
  if (c.droppedAt !== undefined && !DROP_SITES.includes(c.droppedAt as never)) problem(`${path}.droppedAt`, `expected source, network or target, not ${JSON.stringify(c.droppedAt)}`)
  if (c.rule !== undefined) {
    const why = dropRuleProblem(c.rule)
    if (why !== null) problem(`${path}.rule`, why)
  }
}

/**
 * The family a report written before checks had one would have given a check (it had one address
 * per host): the family of its addresses, that of the one IP address beside a name, none for an
 * external end, a check within one host, or two names.
 */
function legacyFamily (c: CheckReport): AddressFamily | null {
  if (c.fromAddress === null || c.toAddress === null || c.from === c.to) return null
  const a = familyOf(c.fromAddress)
  const b = familyOf(c.toAddress)
  if (a !== null && b !== null) return a === b ? a : null
  return a ?? b
}

/** The hosts of `names` among a check's ends, for reports written before checks named them. */
function endsAmong (c: CheckReport, names: readonly string[]): string[] {
  return [c.from, c.to].filter((h) => h !== null && names.includes(h)) as string[]
}

/**
 * Parses a saved run report (`portcheck run --format json`, `GET /api/runs/:id`, `export.json`).
 * Checks what fixes, diffs and re-runs rely on, and fills in what reports written before they
 * existed lack: each check's `remedy`, `purpose`, `ref`, `family`, `targetAddress` and
 * `agentHosts` (from the report's `agents.missing` and `agents.lost`), and `rerunOf`. Throws PC_ERR_REPORT_INVALID naming the
 * file, the field and what is wrong.
 */
export function parseReport (text: string, file: string): RunReport {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (err) {
    throw new PortcheckError('PC_ERR_REPORT_INVALID', `${file} is not a portcheck report: ${(err as Error).message}`)
  }
  const problems: Problem[] = []
  const problem = (path: string, message: string): void => { if (problems.length < MAX_PROBLEMS) problems.push({ file, path, message }) }
  if (!isObject(data)) throw new PortcheckError('PC_ERR_REPORT_INVALID', `${file} is not a portcheck report: expected a JSON object (portcheck run --format json)`)
  if (typeof data.id !== 'string' || !ID_PATTERN.test(data.id)) problem('id', 'expected a run id')
  if (typeof data.catalog !== 'string' || !CATALOG_ID.test(data.catalog)) problem('catalog', 'expected a catalog id')
  if (!Array.isArray(data.checks)) problem('checks', 'expected the list of checks (a report written by portcheck run --format json, not a summary)')
  else data.checks.forEach((c, i) => checkProblems(c, `checks[${i}]`, problem))
  const agents = isObject(data.agents) ? data.agents : {}
  const names = (k: string): string[] => {
    const v = agents[k]
    if (v === undefined) return []
    if (Array.isArray(v) && v.every((h) => typeof h === 'string' && AGENT_NAME_PATTERN.test(h))) return v as string[]
    problem(`agents.${k}`, 'expected a list of host names')
    return []
  }
  const missing = names('missing')
  const lost = names('lost')
  const launchErrors = agents.launchErrors
  if (launchErrors !== undefined && !(isObject(launchErrors) && Object.entries(launchErrors).every(([k, v]) => AGENT_NAME_PATTERN.test(k) && typeof v === 'string'))) {
    problem('agents.launchErrors', 'expected host names, each with the error of its launch')
  }
  if (problems.length > 0) throw problemsError('PC_ERR_REPORT_INVALID', `${file} is not a valid portcheck report:`, problems)

  const report = data as unknown as RunReport
  report.catalogTitle = typeof report.catalogTitle === 'string' ? report.catalogTitle : report.catalog
  report.rerunOf ??= null
  report.localization ??= null
  for (const c of report.checks) {
    c.notes ??= []
    c.purpose ??= null
    c.ref ??= null
    if (c.family === undefined) c.family = legacyFamily(c)
    if (c.targetAddress === undefined) c.targetAddress = c.toAddress !== null && familyOf(c.toAddress) !== null ? c.toAddress : null
    if (c.agentHosts === undefined && c.status === 'inconclusive' && (c.reason === 'agent-missing' || c.reason === 'agent-lost')) {
      const hosts = endsAmong(c, c.reason === 'agent-missing' ? missing : lost)
      if (hosts.length > 0) c.agentHosts = hosts
    }
    if (c.remedy === undefined) c.remedy = remedy(c)
  }
  // From the checks, whatever the file says: they are what every text shows.
  report.dualStack = hasDualStackPairs(report.checks)
  return report
}

/** Reads and parses a saved run report; see {@link parseReport}. */
export async function readReport (file: string): Promise<RunReport> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new PortcheckError('PC_ERR_REPORT_INVALID', `cannot read report ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err })
  }
  return parseReport(text, file)
}
