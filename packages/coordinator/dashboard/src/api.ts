// The coordinator's API, as the page calls it: every request with the token as a Bearer
// header, errors turned into ApiError with the API's code. The response shapes are the
// coordinator's own declarations (src/server/api-types.ts), imported as types only.
import type { ApiErrorBody } from '../../src/server/api-types.js'
import { state } from './state.js'
import { askToken } from './token.js'

/** An API call that failed: HTTP status (0 when the coordinator cannot be reached), code, message and details. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly details: string[]

  constructor (status: number, error: Partial<ApiErrorBody['error']> | undefined) {
    super(error?.message ?? `HTTP ${status}`)
    this.status = status
    this.code = error?.code ?? `HTTP_${status}`
    this.details = Array.isArray(error?.details) ? error.details : []
  }
}

/** Whether an error is the API's 401: the token dialog is already open, nothing else to say. */
export const isUnauthorized = (err: unknown): boolean => err instanceof ApiError && err.status === 401

export function authHeaders (): Record<string, string> {
  if (state.token !== null) return { authorization: `Bearer ${state.token}` }
  return state.csrf !== null ? { 'x-portcheck-csrf': state.csrf } : {}
}

/**
 * Calls the API and returns its JSON, typed as the caller says the route returns; on 401 asks
 * for a token and throws.
 */
export async function api<T> (path: string, { method = 'GET', body }: { method?: 'GET' | 'POST', body?: unknown } = {}): Promise<T> {
  const headers = authHeaders()
  if (body !== undefined) headers['content-type'] = 'application/json'
  let res: Response
  try {
    res = await fetch(path, { method, headers, cache: 'no-store', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) })
  } catch (err) {
    throw new ApiError(0, { code: 'PC_ERR_NETWORK', message: `the coordinator cannot be reached (${(err as Error).message})` })
  }
  const text = await res.text()
  let data: unknown = null
  try { data = text === '' ? null : JSON.parse(text) } catch { data = null }
  const error = (data as Partial<ApiErrorBody> | null)?.error
  if (res.status === 401) {
    askToken(state.token !== null ? 'The coordinator refused this token. Enter a valid one.' : null)
    throw new ApiError(401, error ?? { code: 'PC_ERR_UNAUTHORIZED', message: 'a token is required' })
  }
  if (!res.ok) throw new ApiError(res.status, error ?? { message: text.slice(0, 200) || `HTTP ${res.status}` })
  return data as T
}

/** The API path of the shown run, with a suffix. */
export function runPath (suffix = ''): string {
  return `/api/runs/${encodeURIComponent(state.runId ?? '')}${suffix}`
}

/** The global filters as API query fields (cell filters passed in `extra` win; empty ones remove the field). */
export function filterQuery (extra: Record<string, string | number | null | undefined> = {}, { status = true } = {}): URLSearchParams {
  const q = new URLSearchParams()
  const f = state.filters
  if (status && f.status !== '') q.set('status', f.status)
  if (f.protocol !== '') q.set('protocol', f.protocol)
  if (f.role !== '') q.set('role', f.role)
  if (f.port !== '') q.set('port', f.port)
  if (f.required) q.set('required', 'true')
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined || v === null || v === '') q.delete(k)
    else q.set(k, String(v))
  }
  return q
}

/** An error in one line, with the API's code when there is one. */
export function describeError (err: unknown): string {
  if (err instanceof ApiError) return `${err.message} (${err.code})`
  return String((err as Error | null)?.message ?? err)
}
