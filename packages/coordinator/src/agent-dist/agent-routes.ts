import { open } from 'node:fs/promises'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { AgentArtifacts, Artifact } from './artifacts.js'
import { TARGET_PATTERN, unservedTargetReason } from './target.js'

/** Where the agent's npm package is served. */
export const AGENT_TARBALL_PATH = '/agent/portcheck-agent.tgz'
/** Where the agent's single-file bundle is served. */
export const AGENT_BUNDLE_PATH = '/agent/portcheck-agent.mjs'
/** Where the standalone agents are served, under `/<platform>-<arch>`. */
export const AGENT_BIN_PATH = '/agent/bin'
/** Downloads served at once, at most: a ~100 MB executable each is the costliest thing anyone may ask of the coordinator without a token. */
export const MAX_AGENT_DOWNLOADS = 64
/** How long a request for the executable may wait for it to be made, in ms (its making is bounded by its own steps' timeouts). */
const BUILD_WAIT_MS = 600_000

/** Options of {@link agentRoutes}. */
export interface AgentRoutesOptions {
  artifacts: AgentArtifacts
  /** Downloads at once, at most (default MAX_AGENT_DOWNLOADS). */
  maxDownloads?: number
}

/** A refusal in plain text: these routes are fetched by curl, whose user reads the body. */
async function refuse (reply: FastifyReply, status: 404 | 503, message: string): Promise<FastifyReply> {
  return await reply.code(status).type('text/plain; charset=utf-8').header('cache-control', 'no-store').send(`PC_ERR_AGENT_DIST: ${message}\n`)
}

/**
 * Serves the agent to the nodes, with no token (the files hold no secret; the join command's
 * curl checks the coordinator's key): the npm package, the single-file bundle and the standalone
 * executable of this coordinator's platform. Bounded: at most `maxDownloads` at once.
 */
export async function agentRoutes (app: FastifyInstance, options: AgentRoutesOptions): Promise<void> {
  const { artifacts } = options
  const max = options.maxDownloads ?? MAX_AGENT_DOWNLOADS
  let downloads = 0

  const serve = async (req: FastifyRequest, reply: FastifyReply, artifact: Artifact | (() => Promise<Artifact>), type: string, name: string): Promise<FastifyReply> => {
    if (downloads >= max) {
      return await refuse(reply.header('retry-after', '5'), 503, `${max} downloads of the agent are in progress: try again in a few seconds`)
    }
    downloads++
    let counted = true
    const release = (): void => { if (counted) { counted = false; downloads-- } }
    reply.raw.once('close', release)
    let file: Artifact
    if (typeof artifact === 'function') {
      // The first request for the executable waits while it is made: longer than an idle socket may.
      req.raw.socket.setTimeout(BUILD_WAIT_MS)
      file = await artifact()
      req.raw.socket.setTimeout(app.server.timeout)
    } else file = artifact
    if (file.path === null) {
      release()
      return await refuse(reply, 503, file.reason)
    }
    let handle
    try {
      handle = await open(file.path, 'r')
    } catch (err) {
      release()
      return await refuse(reply, 503, `${file.path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    }
    req.log.debug({ file: name, remote: req.ip }, 'agent downloaded')
    return await reply
      .type(type)
      .header('content-length', String(file.bytes))
      .header('content-disposition', `attachment; filename="${name}"`)
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'no-cache')
      .send(handle.createReadStream())
  }

  app.get(AGENT_TARBALL_PATH, { config: { access: 'none' } }, async (req, reply) => await serve(req, reply, artifacts.tarball, 'application/gzip', 'portcheck-agent.tgz'))
  app.get(AGENT_BUNDLE_PATH, { config: { access: 'none' } }, async (req, reply) => await serve(req, reply, artifacts.bundle, 'text/javascript; charset=utf-8', 'portcheck-agent.mjs'))
  app.get<{ Params: { target: string } }>(`${AGENT_BIN_PATH}/:target`, { config: { access: 'none' } }, async (req, reply) => {
    const target = req.params.target
    if (!TARGET_PATTERN.test(target)) return await refuse(reply, 404, `"${target.slice(0, 40)}" is not a target: expected <platform>-<arch>, e.g. ${artifacts.target}`)
    const unserved = unservedTargetReason(target, artifacts.target)
    if (unserved !== null) return await refuse(reply, 404, unserved)
    return await serve(req, reply, async () => await artifacts.executable(target), 'application/octet-stream', 'portcheck-agent')
  })
}
