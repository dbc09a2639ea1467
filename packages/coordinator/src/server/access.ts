import { randomBytes } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import os from 'node:os'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { bearerToken, tokenMatches } from '../security/token.js'
import type { Access } from './api-types.js'

/**
 * Who may call a route: anyone (`none`: the dashboard's static files, health), the viewer token
 * or better (`read`), or the join token (`full`). Every route declares it in its `config`; a
 * route that does not is `full` (closed by default).
 */
export type RouteAccess = 'none' | 'read' | 'full'

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess
  }
  interface FastifyRequest {
    /** What the request may do; set by the access hook before any handler runs. */
    access: Access
  }
}

/** The header the dashboard proves it is same-origin with, when no token is required (loopback). */
export const CSRF_HEADER = 'x-portcheck-csrf'

/** What the access rules need to know of the coordinator. */
export interface AccessPolicy {
  readonly token: string
  readonly viewerToken: string | null
  /** No token needed (a coordinator on loopback only): reads are free, writes need a same-origin proof. */
  requireAuth: boolean
  /** The per-process token the dashboard sends back in {@link CSRF_HEADER}. */
  readonly csrfToken: string
  /** Names and addresses this coordinator answers to, lower case, without port. */
  hosts: ReadonlySet<string>
  /** Its port, to recognise its own origin. */
  port: number
}

/** A fresh CSRF token. */
export function newCsrfToken (): string {
  return randomBytes(18).toString('base64url')
}

/**
 * Every name and address a coordinator listening on `listenHost` answers to: the listen address,
 * the advertised one, loopback names, and, when it listens on every address, every interface
 * address and the host name. A `Host` header naming anything else is a DNS-rebinding attempt.
 */
export function ownHosts (listenHost: string, advertise: string | null, extra: readonly string[] = []): Set<string> {
  const hosts = new Set<string>(['localhost', '127.0.0.1', '::1', listenHost, ...extra])
  if (advertise !== null) hosts.add(advertise)
  if (listenHost === '0.0.0.0' || listenHost === '::') {
    hosts.add(os.hostname())
    for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) hosts.add(a.address)
  }
  return new Set([...hosts].map((h) => h.toLowerCase()))
}

/** The host part of a `Host` header (no port, no brackets), lower case; null if malformed. */
export function hostOf (header: string | undefined): string | null {
  if (header === undefined || header.length === 0 || header.length > 300) return null
  const h = header.toLowerCase()
  if (h.startsWith('[')) {
    const end = h.indexOf(']')
    return end === -1 ? null : h.slice(1, end)
  }
  const colon = h.lastIndexOf(':')
  // More than one colon without brackets is a bare IPv6 address, which a Host header may not be.
  if (colon !== -1 && h.indexOf(':') !== colon) return null
  return colon === -1 ? h : h.slice(0, colon)
}

/** True if the request's Host is one of the coordinator's own names or addresses. */
export function hostAllowed (policy: AccessPolicy, headers: IncomingHttpHeaders): boolean {
  const host = hostOf(headers.host)
  return host !== null && policy.hosts.has(host)
}

/**
 * True if the request's `Origin`, when it has one, is the coordinator itself: a page of another
 * origin must not drive it from a browser. Requests without `Origin` (curl, agents) pass.
 */
export function originAllowed (policy: AccessPolicy, headers: IncomingHttpHeaders): boolean {
  const origin = headers.origin
  if (origin === undefined) return true
  let url: URL
  try {
    url = new URL(origin)
  } catch {
    return false
  }
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port)
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  return (url.protocol === 'https:' || url.protocol === 'http:') && port === policy.port && policy.hosts.has(host.toLowerCase())
}

/** What a presented token grants: the join token everything, the viewer token reading; null: nothing. */
export function tokenAccess (policy: AccessPolicy, presented: string | undefined): Access | null {
  if (presented !== undefined && tokenMatches(presented, policy.token)) return 'full'
  if (presented !== undefined && policy.viewerToken !== null && tokenMatches(presented, policy.viewerToken)) return 'read'
  return null
}

/**
 * What a request may do, or why it is refused. A refusal's `message` goes to the client; its
 * `kind` (a fixed sentence) and `fields` go to the refusal log, which counts refusals by kind:
 * what a client sent (its Host header) must never become a kind, or each new value would be
 * logged at once and remembered for ever.
 */
export type Decision = { access: Access } | { status: 401 | 403 | 421, code: 'PC_ERR_UNAUTHORIZED' | 'PC_ERR_FORBIDDEN' | 'PC_ERR_HOST', message: string, kind: string, fields?: Record<string, unknown> }

/** A refusal whose log kind is its message (a fixed sentence). */
const refusal = (status: 401 | 403, code: 'PC_ERR_UNAUTHORIZED' | 'PC_ERR_FORBIDDEN', message: string): Decision => ({ status, code, message, kind: message })

/**
 * Decides one request against the access its matched route asks for. Without a required token
 * (loopback), reads are free but writes need a same-origin proof: the CSRF header and, if the
 * browser sent one, a same-origin `Origin`. A token always works, from anywhere.
 */
export function decide (policy: AccessPolicy, need: RouteAccess, method: string, headers: IncomingHttpHeaders, presented: string | undefined): Decision {
  if (!hostAllowed(policy, headers)) {
    const host = String(headers.host ?? '').slice(0, 100)
    return { status: 421, code: 'PC_ERR_HOST', message: `this coordinator does not answer to "${host}": use one of its own names or addresses`, kind: 'a Host header that names none of the coordinator\'s names or addresses', fields: { host } }
  }
  const writes = method !== 'GET' && method !== 'HEAD'
  if (need === 'none') return { access: 'read' }
  const granted = tokenAccess(policy, presented)
  if (granted !== null) {
    if (need === 'full' && granted !== 'full') return refusal(403, 'PC_ERR_FORBIDDEN', 'the viewer token is read-only')
    if (!originAllowed(policy, headers)) return refusal(403, 'PC_ERR_FORBIDDEN', 'cross-origin requests are refused')
    return { access: granted }
  }
  if (presented !== undefined || policy.requireAuth) return refusal(401, 'PC_ERR_UNAUTHORIZED', 'a valid token is required: Authorization: Bearer TOKEN')
  // Loopback without a token: a browser page of another origin must not read nor write.
  if (!originAllowed(policy, headers)) return refusal(403, 'PC_ERR_FORBIDDEN', 'cross-origin requests are refused')
  if (need === 'full' && writes) {
    const csrf = headers[CSRF_HEADER]
    if (typeof csrf !== 'string' || !tokenMatches(csrf, policy.csrfToken)) {
      return refusal(403, 'PC_ERR_FORBIDDEN', `a same-origin proof is required: the ${CSRF_HEADER} header from GET /api/session, or a token`)
    }
  }
  return { access: 'full' }
}

/**
 * Installs the access rules on the whole app: one `onRequest` hook that decides on the route the
 * router matched (never on the raw URL, whose spellings are many), before any handler runs.
 */
export function installAccess (app: FastifyInstance, policy: AccessPolicy, onRefused: (req: FastifyRequest, kind: string, fields?: Record<string, unknown>) => void): void {
  app.decorateRequest('access', 'read')
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    // A request no route matched reveals nothing but a 404, and needs nothing: its Host still must be ours.
    const need: RouteAccess = req.is404 ? 'none' : req.routeOptions.config.access ?? 'full'
    const d = decide(policy, need, req.method, req.headers, bearerToken(req.raw))
    if ('access' in d) { req.access = d.access; return }
    onRefused(req, d.kind, d.fields)
    return await reply.code(d.status).send({ error: { code: d.code, message: d.message } })
  })
}
