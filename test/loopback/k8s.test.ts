import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import t, { type Test } from 'tap'
import { parseAllDocuments } from 'yaml'
import { loadInputs } from '../../packages/coordinator/src/api.js'
import { AGENT_BUNDLE_PATH } from '../../packages/coordinator/src/agent-dist/agent-routes.js'
import { createSelfSigned, type TlsMaterial } from '../../packages/coordinator/src/security/certificate.js'
import { loadOrCreateTls, loadOrCreateToken } from '../../packages/coordinator/src/security/state-dir.js'
import { buildCoordinator, type Coordinator } from '../../packages/coordinator/src/server/coordinator.js'
import { runPod, type ContainerProcess, type PodRun } from '../support/kubelet.js'
import { silent } from '../support/loopback.js'
import { runCli } from '../support/run-cli.js'

// `portcheck k8s manifest`, applied without a cluster: test/support/kubelet.ts runs its pods as
// a kubelet would, as local processes (the pods use the host's network). Loopback addresses
// 127.72.0.x belong to this file.

// The bundle must run from its own file, as the coordinator serves it (branch dist makes it so:
// before, it reads ../package.json for its version and fails with MODULE_NOT_FOUND).
const BUNDLE = readFileSync('packages/agent/dist/portcheck-agent.mjs')

/** An inventory whose host names are the "nodes" the pods run on. */
function writeInventory (dir: string): string {
  const file = path.join(dir, 'cluster.yaml')
  writeFileSync(file, `catalog: ${path.resolve('examples/demo/catalog.yaml')}\nhosts:\n` +
    '  - { name: node-a, address: 127.72.0.11, roles: [app] }\n' +
    '  - { name: node-b, address: 127.72.0.12, roles: [db] }\n')
  return file
}

/** A coordinator as `portcheck run` starts one on a state directory: it serves the agent bundle the build made. */
async function startCoordinator (t: Test, inventory: string, state: string): Promise<Coordinator> {
  const inputs = await loadInputs({ inventory })
  const c = await buildCoordinator({
    catalog: inputs.catalog,
    hosts: inputs.inventory.inventory.hosts,
    settings: inputs.inventory.settings,
    token: await loadOrCreateToken(state),
    tls: await loadOrCreateTls(state, ['127.0.0.1']),
    logger: silent,
    heartbeatMs: 1000
  })
  if (!c.routes.some((r) => r.method === 'GET' && r.url === AGENT_BUNDLE_PATH)) throw new Error(`the coordinator does not serve ${AGENT_BUNDLE_PATH}`)
  await c.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => c.close())
  return c
}

function parse (text: string): Array<Record<string, any>> {
  return parseAllDocuments(text).map((d) => d.toJS() as Record<string, any>)
}

/** Stops a pod's containers at teardown (SIGTERM, as the kubelet does), and returns their exit codes then. */
function stopAtEnd (t: Test, pod: PodRun): void {
  t.teardown(async () => {
    for (const c of pod.containers) c.child.kill('SIGTERM')
    await Promise.all(pod.containers.map((c) => c.exited))
  })
}

/** Waits until `cond` holds; fails after 15 s, or once `agent` has exited, with the agent's stderr. */
async function waitFor (what: string, cond: () => boolean, agent?: ContainerProcess): Promise<void> {
  const until = Date.now() + 15_000
  while (!cond()) {
    if (agent?.child.exitCode != null) throw new Error(`the agent exited (${agent.child.exitCode}) before ${what}; its log:\n${agent.stderr()}`)
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}; the agent's log:\n${agent?.stderr() ?? ''}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

t.test('the printed manifest, run as a kubelet would: each node\'s pod fetches the agent and joins under its node\'s name', async (t) => {
  const dir = t.testdir()
  const state = path.join(dir, 'state')
  const inventory = writeInventory(dir)
  const c = await startCoordinator(t, inventory, state)
  const url = c.agentUrl as string
  const env = { PORTCHECK_STATE_DIR: state }

  const perHost = await runCli(['k8s', 'manifest', '-i', inventory, '--coordinator', url, '-o', path.join(dir, 'per-host.yaml')], env)
  t.equal(perHost.code, 0, perHost.stderr)
  t.equal(perHost.stdout, '', 'the manifest goes to the file only')
  t.match(perHost.stderr, /manifest for 2 node\(s\) written to .*per-host\.yaml; it holds their credentials/)
  t.equal(statSync(path.join(dir, 'per-host.yaml')).mode & 0o777, 0o600, 'only its owner can read it')
  const objects = parse(readFileSync(path.join(dir, 'per-host.yaml'), 'utf8'))
  await t.rejects(runPod(objects, 'portcheck-agent-node-a', 'node-b', { dir: path.join(dir, 'wrong') }), /would not run on node node-b/, 'node-a\'s DaemonSet is for node-a only')

  const podA = await runPod(objects, 'portcheck-agent-node-a', 'node-a', { dir: path.join(dir, 'pod-a') })
  stopAtEnd(t, podA)
  t.strictSame(podA.init.map((i) => [i.name, i.code]), [['fetch-agent', 0]], podA.init[0]?.stderr ?? '')
  t.match(podA.init[0]?.stderr, `fetched the agent (${BUNDLE.length} bytes) from https://127.0.0.1:`)
  t.strictSame(readFileSync(path.join(podA.volumes.agent ?? '', 'portcheck-agent.mjs')), BUNDLE, 'the bundle, byte for byte')
  await waitFor('node-a joined', () => c.hub.get('node-a') !== undefined, podA.containers[0])
  t.pass('node-a joined with its own Secret\'s credential')

  // The other layout: one Secret, one DaemonSet; node-b's pod reads node-b's file.
  const shared = await runCli(['k8s', 'manifest', '-i', inventory, '--coordinator', url, '--secret', 'shared'], env)
  t.equal(shared.code, 0, shared.stderr)
  const sharedObjects = parse(shared.stdout)
  const podB = await runPod(sharedObjects, 'portcheck-agent', 'node-b', { dir: path.join(dir, 'pod-b') })
  stopAtEnd(t, podB)
  t.equal(podB.init[0]?.code, 0, podB.init[0]?.stderr ?? '')
  await waitFor('node-b joined', () => c.hub.get('node-b') !== undefined, podB.containers[0])
  t.strictSame(await c.waitForAgents(1000), [], 'every host of the inventory has its agent')

  // Pod deletion: SIGTERM, and the agents leave cleanly.
  for (const p of [podA, podB]) p.containers[0]?.child.kill('SIGTERM')
  t.strictSame(await Promise.all([podA, podB].map((p) => p.containers[0]?.exited)), [0, 0], 'both agents stop on SIGTERM with exit 0')
  await waitFor('the agents to leave', () => c.hub.connectedNames().length === 0)
})

t.test('a node the inventory does not name: the shared DaemonSet\'s pod says so and stops', async (t) => {
  const dir = t.testdir()
  const state = path.join(dir, 'state')
  const inventory = writeInventory(dir)
  const c = await startCoordinator(t, inventory, state)
  const r = await runCli(['k8s', 'manifest', '-i', inventory, '--coordinator', c.agentUrl as string, '--secret', 'shared'], { PORTCHECK_STATE_DIR: state })
  const objects = parse(r.stdout)
  // As if the DaemonSet's node affinity had been edited to reach node-c.
  const ds = objects.find((o) => o.kind === 'DaemonSet')
  ds?.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].values.push('node-c')
  const pod = await runPod(objects, 'portcheck-agent', 'node-c', { dir: path.join(dir, 'pod') })
  stopAtEnd(t, pod)
  t.equal(await pod.containers[0]?.exited, 2)
  t.match(pod.containers[0]?.stderr(), 'portcheck: node node-c has no credential in the Secret portcheck-agent-credentials: it is not a host of the inventory this manifest was made from')
})

/** An HTTPS server with `tls`'s key answering every request with `answer`; closed at teardown. */
async function serve (t: Test, tls: TlsMaterial, answer: (res: import('node:http').ServerResponse) => void): Promise<string> {
  const server = https.createServer({ key: tls.key, cert: tls.cert }, (_req, res) => answer(res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  return `wss://127.0.0.1:${(server.address() as AddressInfo).port}`
}

t.test('the fetch step refuses what is not the coordinator\'s agent, and leaves no file', async (t) => {
  const dir = t.testdir()
  const state = path.join(dir, 'state')
  const inventory = writeInventory(dir)
  const tls = await loadOrCreateTls(state, ['127.0.0.1'])
  const manifest = async (url: string, extra: string[] = []): Promise<Array<Record<string, any>>> => {
    const r = await runCli(['k8s', 'manifest', '-i', inventory, '--coordinator', url, ...extra], { PORTCHECK_STATE_DIR: state })
    t.equal(r.code, 0, r.stderr)
    return parse(r.stdout)
  }
  const fetchOnly = async (objects: Array<Record<string, any>>, name: string): Promise<PodRun> => {
    const pod = await runPod(objects, 'portcheck-agent-node-a', 'node-a', { dir: path.join(dir, name) })
    stopAtEnd(t, pod)
    t.equal(pod.containers.length, 0, `${name}: the agent container never starts`)
    t.notOk(existsSync(path.join(pod.volumes.agent ?? '', 'portcheck-agent.mjs')), `${name}: no agent file`)
    return pod
  }

  const impostor = await createSelfSigned(['127.0.0.1'])
  const wrongKey = await fetchOnly(await manifest(await serve(t, impostor, (res) => res.end(BUNDLE))), 'wrong-key')
  t.equal(wrongKey.init[0]?.code, 1)
  t.match(wrongKey.init[0]?.stderr, `presented a key whose pin is ${impostor.pin}, not ${tls.pin}: it is not the coordinator this manifest was made for`)

  const notFound = await fetchOnly(await manifest(await serve(t, tls, (res) => { res.statusCode = 404; res.end('no') })), 'not-found')
  t.equal(notFound.init[0]?.code, 1)
  t.match(notFound.init[0]?.stderr, /\/agent\/portcheck-agent\.mjs answered HTTP 404: this coordinator does not serve the agent/)

  const huge = Buffer.alloc(17 * 1024 * 1024, 0x20)
  const tooBig = await fetchOnly(await manifest(await serve(t, tls, (res) => res.end(huge))), 'too-big')
  t.equal(tooBig.init[0]?.code, 1)
  t.match(tooBig.init[0]?.stderr, 'sent more than 16 MiB: not the agent')

  // A coordinator not up yet: refused, then served; the fetch step waits for it (5 s apart).
  const later = https.createServer({ key: tls.key, cert: tls.cert }, (_req, res) => res.end(BUNDLE))
  await new Promise<void>((resolve) => later.listen(0, '127.0.0.1', resolve))
  const port = (later.address() as AddressInfo).port
  await new Promise((resolve) => later.close(resolve))
  t.teardown(() => { later.closeAllConnections(); later.close() })
  const objects = await manifest(`wss://127.0.0.1:${port}`)
  setTimeout(() => later.listen(port, '127.0.0.1'), 1000)
  const pod = await runPod(objects, 'portcheck-agent-node-a', 'node-a', { dir: path.join(dir, 'later') })
  stopAtEnd(t, pod)
  t.equal(pod.init[0]?.code, 0, pod.init[0]?.stderr ?? '')
  t.match(pod.init[0]?.stderr, /cannot fetch https:\/\/127\.0\.0\.1:\d+\/agent\/portcheck-agent\.mjs: ECONNREFUSED .*; trying again in 5 s\n.*fetched the agent/s)
})

t.test('bad input: exit 2, what is wrong, no manifest and no file', async (t) => {
  const dir = t.testdir()
  const state = path.join(dir, 'state')
  const inventory = path.join(dir, 'bad.yaml')
  writeFileSync(inventory, `catalog: ${path.resolve('examples/demo/catalog.yaml')}\nhosts:\n  - { name: Node_A, address: 127.72.0.11, roles: [app] }\n`)
  const out = path.join(dir, 'out.yaml')
  const bad = await runCli(['k8s', 'manifest', '-i', inventory, '--coordinator', 'wss://127.0.0.1:7070', '-o', out], { PORTCHECK_STATE_DIR: state })
  t.equal(bad.code, 2)
  t.match(bad.stderr, `portcheck: PC_ERR_INVENTORY_INVALID: inventory ${inventory} cannot be run on Kubernetes:\n  ${inventory}:3:13: hosts[0].name: "Node_A" is not a Kubernetes node name`)
  t.equal(bad.stdout, '')
  t.notOk(existsSync(out), 'no manifest file')

  for (const [args, re] of [
    [['--coordinator', '127.0.0.1:7070'], /--coordinator "127\.0\.0\.1:7070": expected wss:\/\/HOST:PORT/],
    [['--coordinator', 'wss://127.0.0.1:7070', '--pin', 'sha256:xyz'], /--pin "sha256:xyz": expected sha256: and 64 hex digits/],
    [['--coordinator', 'wss://127.0.0.1:7070', '--secret', 'none'], /Invalid values:\s+Argument: secret, Given: "none", Choices: "per-host", "shared"/],
    [[], /Missing required argument: coordinator/]
  ] as const) {
    const r = await runCli(['k8s', 'manifest', '-i', 'examples/ibm-api-connect.yaml', ...args], { PORTCHECK_STATE_DIR: state })
    t.equal(r.code, 2, args.join(' '))
    t.match(r.stderr, re)
    t.equal(r.stdout, '')
  }
})
