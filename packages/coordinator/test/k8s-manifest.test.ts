import path from 'node:path'
import t from 'tap'
import { parseAllDocuments } from 'yaml'
import { DaemonSet, type IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet'
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap'
import { Namespace } from 'kubernetes-models/v1/Namespace'
import { Secret, type ISecret } from 'kubernetes-models/v1/Secret'
import { loadInputs } from '../src/api.js'
import { parseCoordinatorAddress } from '../src/k8s/coordinator-address.js'
import { formatManifest } from '../src/k8s/format-manifest.js'
import { objectName } from '../src/k8s/k8s-names.js'
import { buildAgentManifest, type AgentManifestOptions } from '../src/k8s/manifest.js'
import { buildPlan } from '../src/plan/expand.js'
import { credentialMatches } from '../src/security/credentials.js'
import { expectError, writeFiles } from './helpers.js'

const APIC = path.resolve('examples/ibm-api-connect.yaml')
const TOKEN = 'k8s-test-join-token-0123456789abcdefghijklmnop'
const PIN = 'sha256:' + 'ab'.repeat(32)
const COORDINATOR = parseCoordinatorAddress('wss://198.18.0.5:7070', false)

/**
 * Validates one object against the Kubernetes schemas of kubernetes-models (Kubernetes 1.33)
 * by its kind; throws on a kind the manifest must not contain.
 */
function validate (obj: { kind?: unknown }): void {
  switch (obj.kind) {
    case 'Namespace': new Namespace(obj as never).validate(); break
    case 'ConfigMap': new ConfigMap(obj as never).validate(); break
    case 'Secret': new Secret(obj as never).validate(); break
    case 'DaemonSet': new DaemonSet(obj as never).validate(); break
    default: throw new Error(`unexpected kind ${String(obj.kind)}`)
  }
}

/** The manifest as kubectl reads it: the printed YAML, parsed document by document. */
async function printed (opts: Partial<AgentManifestOptions> = {}, inventory = APIC): Promise<Array<Record<string, any>>> {
  const inputs = await loadInputs({ inventory })
  const text = formatManifest(await buildAgentManifest({ inputs, coordinator: COORDINATOR, pin: PIN, token: TOKEN, ...opts }))
  return parseAllDocuments(text).map((d) => {
    if (d.errors.length > 0) throw new Error(`invalid YAML printed: ${d.errors[0]?.message ?? ''}`)
    return d.toJS() as Record<string, any>
  })
}

/** Writes the one inventory of `files` and returns its path. */
function writeInventory (dir: string, files: { 'hosts.yaml': string }): string {
  return writeFiles(dir, files)['hosts.yaml'] ?? ''
}

const podSpec = (ds: IDaemonSet): any => ds.spec?.template.spec

t.test('the validator refuses what the API server would: the check below can fail', async (t) => {
  const [, , , ds] = await printed()
  const broken = structuredClone(ds) as any
  broken.spec.template.spec.hostNetwork = 'yes'
  broken.spec.template.spec.containers[0].resources.limits.memory = 'lots'
  t.throws(() => validate(broken), /hostNetwork must be boolean/)
  const noContainers = structuredClone(ds) as any
  delete noContainers.spec.template.spec.containers
  t.throws(() => validate(noContainers), /must have required property containers/)
})

t.test('API Connect: a Namespace, the fetch script, and a Secret and a DaemonSet per node, all valid', async (t) => {
  const objects = await printed()
  for (const obj of objects) t.doesNotThrow(() => validate(obj), `${String(obj.kind)} ${String(obj.metadata?.name)} is valid`)
  const hosts = ['apic-mgmt1', 'apic-portal1', 'apic-analytics1', 'apic-gw1', 'apic-gw2']
  t.strictSame(objects.map((o) => `${String(o.kind)}/${String(o.metadata?.name)}`), [
    'Namespace/portcheck',
    'ConfigMap/portcheck-agent-fetch',
    ...hosts.flatMap((h) => [`Secret/portcheck-agent-${h}`, `DaemonSet/portcheck-agent-${h}`])
  ])
  t.ok(objects.slice(1).every((o) => o.metadata?.namespace === 'portcheck'), 'everything but the namespace is in it')
  t.equal(objects[0]?.metadata?.labels?.['pod-security.kubernetes.io/enforce'], 'privileged', 'host network needs the privileged level')

  const inputs = await loadInputs({ inventory: APIC })
  const plan = buildPlan({ catalog: inputs.catalog.catalog, hosts: inputs.inventory.inventory.hosts, settings: inputs.inventory.settings })
  for (const host of hosts) {
    const secret = objects.find((o) => o.kind === 'Secret' && o.metadata?.name === `portcheck-agent-${host}`) as ISecret
    const ds = objects.find((o) => o.kind === 'DaemonSet' && o.metadata?.name === `portcheck-agent-${host}`) as IDaemonSet
    t.ok(credentialMatches(secret.stringData?.credential ?? '', TOKEN, host), `${host}: its Secret holds its own credential`)
    t.notOk(JSON.stringify(objects).includes(TOKEN), 'the join token itself is nowhere')
    const spec = podSpec(ds)
    t.strictSame(spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms,
      [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [host] }] }], `${host}: pinned to its node by name`)
    t.equal(spec.hostNetwork, true)
    t.equal(spec.dnsPolicy, 'ClusterFirstWithHostNet')
    t.strictSame(spec.tolerations, [{ operator: 'Exists' }], 'runs on tainted (control-plane) nodes too')
    t.equal(spec.automountServiceAccountToken, false)
    const refs = JSON.stringify(spec).match(/"(?:name|secretName)":"portcheck-agent-apic-[a-z0-9-]+"/g) ?? []
    t.strictSame([...new Set(refs)], [`"name":"portcheck-agent-${host}"`], `${host}: its pod refers to its own Secret only`)
    const agent = spec.containers[0]
    t.strictSame(agent.args, ['--name', '$(NODE_NAME)'])
    t.strictSame(agent.env.find((e: any) => e.name === 'NODE_NAME').valueFrom, { fieldRef: { fieldPath: 'spec.nodeName' } })
    t.equal(agent.env.find((e: any) => e.name === 'PORTCHECK_PIN').value, PIN)
    t.equal(agent.env.find((e: any) => e.name === 'PORTCHECK_COORDINATOR').value, 'wss://198.18.0.5:7070')
    t.equal(spec.initContainers[0].env.find((e: any) => e.name === 'PORTCHECK_AGENT_URL').value, 'https://198.18.0.5:7070/agent/portcheck-agent.mjs')
    t.ok(agent.resources.limits.cpu !== undefined && agent.resources.limits.memory !== undefined, 'limits set')
    // Root only where the plan has the node listen below 1024, with that one capability.
    const low = plan.checks.some((c) => c.skip === null && c.to === host && c.port < 1024)
    t.strictSame(agent.securityContext.capabilities, low ? { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } : { drop: ['ALL'] }, `${host}: capabilities`)
    t.equal(agent.securityContext.runAsUser, low ? 0 : undefined, `${host}: ${low ? 'root' : 'the pod\'s uid 1000'}`)
    t.equal(spec.securityContext.runAsUser, 1000)
    t.equal(agent.securityContext.allowPrivilegeEscalation, false)
    const roles = inputs.inventory.inventory.hosts.find((h) => h.name === host)?.roles ?? []
    t.strictSame(Object.keys(ds.spec?.template.metadata?.labels ?? {}).filter((l) => l.startsWith('role.portcheck.io/')), roles.map((r) => `role.portcheck.io/${r}`), `${host}: a label per role`)
  }
  t.equal(objects.filter((o) => o.kind === 'DaemonSet' && podSpec(o as IDaemonSet).containers[0].securityContext.runAsUser === 0).length, 3, 'management, portal and analytics listen on 443; the gateways on nothing below 1024')
})

t.test('--secret shared: one Secret with every node\'s credential, one DaemonSet on every node', async (t) => {
  const objects = await printed({ secrets: 'shared' })
  for (const obj of objects) t.doesNotThrow(() => validate(obj), `${String(obj.kind)} ${String(obj.metadata?.name)} is valid`)
  t.strictSame(objects.map((o) => `${String(o.kind)}/${String(o.metadata?.name)}`), ['Namespace/portcheck', 'ConfigMap/portcheck-agent-fetch', 'Secret/portcheck-agent-credentials', 'DaemonSet/portcheck-agent'])
  const secret = objects[2] as ISecret
  const hosts = Object.keys(secret.stringData ?? {})
  t.strictSame(hosts, ['apic-mgmt1', 'apic-portal1', 'apic-analytics1', 'apic-gw1', 'apic-gw2'])
  for (const h of hosts) t.ok(credentialMatches(secret.stringData?.[h] ?? '', TOKEN, h), `${h}'s credential`)
  const spec = podSpec(objects[3] as IDaemonSet)
  t.strictSame(spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].values, hosts)
  t.strictSame(spec.volumes.find((v: any) => v.name === 'credentials').secret, { secretName: 'portcheck-agent-credentials', defaultMode: 0o440 })
  t.equal(spec.containers[0].command[0], '/bin/sh')
  t.match(spec.containers[0].command[2], /"\$\$\(cat "\/etc\/portcheck\/credentials\/\$NODE_NAME"\)"/, 'reads its node\'s file; $$ is the kubelet\'s escape for $')
  t.equal(spec.containers[0].securityContext.runAsUser, 0, 'one DaemonSet: root with NET_BIND_SERVICE if any node needs it')
})

t.test('--insecure: plain URLs, no pin, and the agent told so', async (t) => {
  const objects = await printed({ pin: null, coordinator: parseCoordinatorAddress('ws://198.18.0.5:7070', true) })
  for (const obj of objects) validate(obj)
  const spec = podSpec(objects[3] as IDaemonSet)
  t.strictSame(spec.containers[0].args, ['--name', '$(NODE_NAME)', '--insecure'])
  t.notOk(spec.containers[0].env.some((e: any) => e.name === 'PORTCHECK_PIN'))
  t.equal(spec.initContainers[0].env.find((e: any) => e.name === 'PORTCHECK_AGENT_URL').value, 'http://198.18.0.5:7070/agent/portcheck-agent.mjs')
})

t.test('a namespace and an image of the operator\'s choosing; long node names', async (t) => {
  const dir = t.testdir()
  const long = 'ip-198-18-30-21.a-very-long-regional-compute-domain.example.internal'
  const file = writeInventory(dir, {
    'hosts.yaml': `catalog: ${path.resolve('examples/demo/catalog.yaml')}\nhosts:\n  - { name: ${long}, address: 198.18.30.21, roles: [app] }\n  - { name: ${long}x, address: 198.18.30.22, roles: [db] }\n`
  })
  const objects = await printed({ namespace: 'netcheck', image: 'registry.example/node:20.19-alpine' }, file)
  for (const obj of objects) validate(obj)
  const names = objects.filter((o) => o.kind === 'DaemonSet').map((o) => String(o.metadata?.name))
  t.equal(names.length, 2)
  t.not(names[0], names[1], 'two long names sharing a start get different objects')
  t.ok(names.every((n) => n.length <= 63 && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(n)), `names fit: ${names.join(', ')}`)
  t.equal(names[0], objectName('portcheck-agent', long))
  t.ok(objects.every((o) => o.kind === 'Namespace' ? o.metadata?.name === 'netcheck' : o.metadata?.namespace === 'netcheck'))
  const spec = podSpec(objects[3] as IDaemonSet)
  t.strictSame([spec.initContainers[0].image, spec.containers[0].image], ['registry.example/node:20.19-alpine', 'registry.example/node:20.19-alpine'])
  t.equal(spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].values[0], long, 'the full node name, even where the object name is cut')
})

t.test('host names that cannot be node names: every one, with file, line and what to do', async (t) => {
  const dir = t.testdir()
  const file = writeInventory(dir, {
    'hosts.yaml': 'catalog: ibm-api-connect\nhosts:\n  - { name: APIC-Mgmt1, address: 198.18.30.11, roles: [management] }\n  - { name: apic_portal1, address: 198.18.30.12, roles: [portal] }\n  - { name: apic-gw1, address: 198.18.30.21, roles: [gateway] }\n'
  })
  const inputs = await loadInputs({ inventory: file })
  const err = await expectError(() => buildAgentManifest({ inputs, coordinator: COORDINATOR, pin: PIN, token: TOKEN }))
  t.equal(err.code, 'PC_ERR_INVENTORY_INVALID')
  t.match(err.message, `inventory ${file} cannot be run on Kubernetes:`)
  t.match(err.message, `${file}:3:13: hosts[0].name: "APIC-Mgmt1" is not a Kubernetes node name: node names are lower-case ("apic-mgmt1"?)`)
  t.match(err.message, `${file}:4:13: hosts[1].name: "apic_portal1" is not a Kubernetes node name: lower-case letters, digits, "-" and "."`)
  t.match(err.message, 'host names must be the node names `kubectl get nodes` lists')
  t.equal(err.problems.length, 2)
})

t.test('bad options: namespace, image', async (t) => {
  const inputs = await loadInputs({ inventory: APIC })
  const base = { inputs, coordinator: COORDINATOR, pin: PIN, token: TOKEN }
  for (const [opts, re] of [
    [{ namespace: 'kube-system' }, /--namespace kube-system: the manifest sets its namespace's pod-security level to privileged/],
    [{ namespace: 'Port_Check' }, /--namespace "Port_Check": not a namespace name/],
    [{ image: 'node 20' }, /--image "node 20": not an image reference/]
  ] as const) {
    const err = await expectError(() => buildAgentManifest({ ...base, ...opts }))
    t.equal(err.code, 'PC_ERR_USAGE')
    t.match(err.message, re)
  }
})

t.test('--coordinator: what is refused, and why', async (t) => {
  for (const [value, insecure, re] of [
    ['198.18.0.5:7070', false, /expected wss:\/\/HOST:PORT/],
    ['wss://198.18.0.5', false, /name the port, as the join commands do \(e\.g\. wss:\/\/198\.18\.0\.5:7070\)/],
    ['ws://198.18.0.5:7070', false, /a plain address needs --insecure/],
    ['wss://198.18.0.5:7070', true, /a TLS address contradicts --insecure/],
    ['wss://198.18.0.5:7070/agent', false, /only a scheme, a host and a port/],
    ['ftp://198.18.0.5:21', false, /unsupported scheme ftp/]
  ] as const) {
    t.throws(() => parseCoordinatorAddress(value, insecure), { code: 'PC_ERR_USAGE', message: re }, value)
  }
  t.strictSame(parseCoordinatorAddress('https://[2001:2::5]:443', false), { agentUrl: 'wss://[2001:2::5]:443', bundleUrl: 'https://[2001:2::5]:443/agent/portcheck-agent.mjs' }, 'the dashboard\'s address works too; a default port written out is kept')
})
