/**
 * What the pod's init container runs (a ConfigMap's file, with the agent's image's `node`): fetches the single-file
 * agent from the coordinator into the pod's volume. Written for any Node.js 20 with nothing
 * installed, so it uses Node's own `https` (undici is not in the image). Test:
 * packages/coordinator/test/k8s-pod.test.ts runs it against real TLS servers.
 *
 * - The coordinator's key is checked against `PORTCHECK_PIN` (the join commands' pin: the
 *   SHA-256 of its DER SubjectPublicKeyInfo) before a byte of the answer is used: the
 *   certificate is self-signed, so the pin, not a CA, says it is the right coordinator.
 * - A coordinator that is not up yet (refused, timed out, HTTP 5xx or 429) is tried again
 *   every 5 s for 10 minutes, so applying the manifest before starting the coordinator works;
 *   a wrong pin, another HTTP status or an answer over 16 MiB stops at once (exit 1).
 * - The file appears whole (written beside, then renamed), with a launcher that runs the
 *   bundle's `main` as `portcheck-agent`'s bin does.
 */
export const FETCH_AGENT_SCRIPT = `'use strict'
// portcheck: fetch the agent from the coordinator into $PORTCHECK_AGENT_DIR, checking the
// coordinator's TLS key against $PORTCHECK_PIN first.
const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const url = new URL(process.env.PORTCHECK_AGENT_URL)
const pin = process.env.PORTCHECK_PIN || ''
const dir = process.env.PORTCHECK_AGENT_DIR
const MAX_BYTES = 16 * 1024 * 1024
const RETRY_MS = 5000
const GIVE_UP_MS = 600000
const started = Date.now()
const say = (m) => process.stderr.write('portcheck fetch-agent: ' + m + '\\n')
const stop = (m) => { say(m); process.exit(1) }
const write = (name, data) => {
  const tmp = path.join(dir, '.' + name + '.tmp')
  fs.writeFileSync(tmp, data)
  fs.renameSync(tmp, path.join(dir, name))
}
function retry (why) {
  if (Date.now() - started > GIVE_UP_MS) stop('cannot fetch ' + url.href + ': ' + why + '; gave up after 10 minutes')
  say('cannot fetch ' + url.href + ': ' + why + '; trying again in 5 s')
  setTimeout(attempt, RETRY_MS)
}
function attempt () {
  const tls = url.protocol === 'https:'
  if (tls && pin === '') stop('no PORTCHECK_PIN: cannot tell the coordinator from another server')
  const get = require(tls ? 'node:https' : 'node:http').get
  // The request and its answer may both fail: retry once per attempt.
  let over = false
  const again = (why) => { if (!over) { over = true; retry(why) } }
  // With a pin, the key is checked below, on the connection the answer came on.
  const req = get(url, { rejectUnauthorized: !tls, timeout: 30000 }, (res) => {
    if (tls) {
      const cert = res.socket.getPeerX509Certificate()
      const got = cert ? 'sha256:' + crypto.createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('hex') : 'none'
      if (got !== pin) stop(url.host + ' presented a key whose pin is ' + got + ', not ' + pin + ': it is not the coordinator this manifest was made for (or that coordinator was re-installed): make the manifest again')
    }
    if (res.statusCode !== 200) {
      res.resume()
      if (res.statusCode >= 500 || res.statusCode === 429) return again('HTTP ' + res.statusCode)
      stop(url.href + ' answered HTTP ' + res.statusCode + (res.statusCode === 404 ? ': this coordinator does not serve the agent (a portcheck older than the manifest?)' : ''))
    }
    const chunks = []
    let size = 0
    res.on('data', (c) => {
      size += c.length
      if (size > MAX_BYTES) stop(url.href + ' sent more than 16 MiB: not the agent')
      chunks.push(c)
    })
    res.on('error', (e) => again(e.message))
    res.on('end', () => {
      if (!res.complete) return again('the answer was cut short')
      write('portcheck-agent.mjs', Buffer.concat(chunks))
      write('agent.mjs', "import { main } from './portcheck-agent.mjs'\\nprocess.exitCode = await main(process.argv.slice(2))\\n")
      say('fetched the agent (' + size + ' bytes) from ' + url.href + (tls ? ', key ' + pin : ''))
    })
  })
  req.on('timeout', () => req.destroy(new Error('no answer in 30 s')))
  req.on('error', (e) => again((e.code ? e.code + ' ' : '') + e.message))
}
attempt()
`

/** Where the pod's volume holding the agent is mounted, in both containers. */
export const AGENT_DIR = '/opt/portcheck'

/** The ConfigMap key holding {@link FETCH_AGENT_SCRIPT}, also its file name in the init container. */
export const FETCH_SCRIPT_KEY = 'fetch-agent.cjs'

/** Where the init container mounts the script's ConfigMap. */
export const FETCH_SCRIPT_DIR = '/opt/portcheck-fetch'

/** The script's path in the init container. */
export const FETCH_SCRIPT_FILE = `${FETCH_SCRIPT_DIR}/${FETCH_SCRIPT_KEY}`

/** The file the main container runs: the launcher the init container writes beside the bundle. */
export const AGENT_LAUNCHER = `${AGENT_DIR}/agent.mjs`
