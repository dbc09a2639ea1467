import { readdirSync, readFileSync, existsSync } from 'node:fs'
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
  '.png': 'image/png',
  '.ico': 'image/x-icon'
}

/**
 * The page loads nothing from outside the coordinator, and this policy makes the browser
 * enforce it: scripts, styles, images and connections to this origin only.
 */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/**
 * Where the dashboard's files are: `dist/dashboard/` in the package, as scripts/bundle-dashboard.js
 * builds it. The same path from `src/server/` (tests run the sources) and from `dist/server/`.
 */
export function dashboardDir (): string {
  return fileURLToPath(new URL('../../dist/dashboard/', import.meta.url))
}

/**
 * Serves the dashboard: `/` and its assets under `/assets/`, read once into memory. The page
 * itself holds no data and no secret; everything comes from the API, with the token.
 */
export async function dashboardRoutes (app: FastifyInstance): Promise<void> {
  const dir = dashboardDir()
  const files = new Map<string, { body: Buffer, type: string }>()
  if (existsSync(dir)) {
    for (const name of readdirSync(dir)) {
      const type = TYPES[extname(name)]
      if (type !== undefined) files.set(name, { body: readFileSync(dir + name), type })
    }
  }
  const send = (name: string, reply: import('fastify').FastifyReply): import('fastify').FastifyReply => {
    const f = files.get(name)
    if (f === undefined) return reply.code(404).type('text/plain').send('not found')
    return reply
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-cache')
      .type(f.type)
      .send(f.body)
  }
  app.get('/', { config: { access: 'none' } }, async (_req, reply) => send('index.html', reply))
  app.get<{ Params: { file: string } }>('/assets/:file', { config: { access: 'none' } }, async (req, reply) => send(req.params.file, reply))
}
