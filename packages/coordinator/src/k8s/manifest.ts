import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet'
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap'
import type { INamespace } from 'kubernetes-models/v1/Namespace'
import type { ISecret } from 'kubernetes-models/v1/Secret'
import { PortcheckError, type InventoryHost, type Problem } from '@portcheck/protocol'
import type { Inputs } from '../api.js'
import { inputError } from '../catalog/input-error.js'
import { SourceFile } from '../catalog/source-file.js'
import { buildPlan } from '../plan/expand.js'
import { quote } from '../quote.js'
import { agentCredential } from '../security/credentials.js'
import { agentPodTemplate, type CredentialSource } from './agent-pod.js'
import type { CoordinatorAddress } from './coordinator-address.js'
import { FETCH_AGENT_SCRIPT, FETCH_SCRIPT_KEY } from './fetch-agent-script.js'
import { isLabelName, isLabelValue, nodeNameProblem, objectName } from './k8s-names.js'

/** The image of the agent's pods unless `--image` says otherwise: the official Node.js 20 image (the agent needs Node.js 20.19 or later). */
export const DEFAULT_IMAGE = 'node:20-alpine'

/** The namespace the manifest creates unless `--namespace` says otherwise. */
export const DEFAULT_NAMESPACE = 'portcheck'

/** Where the credentials go: a Secret per node (each pod can read its own only), or one for all. */
export const SECRET_LAYOUTS = ['per-host', 'shared'] as const
export type SecretLayout = typeof SECRET_LAYOUTS[number]

/** The name prefix of the DaemonSets and Secrets, and the `app.kubernetes.io/name` of every object. */
const APP = 'portcheck-agent'

/** Namespaces the manifest will not take over: it sets its namespace's pod-security level to privileged. */
const SHARED_NAMESPACES = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease'])

/** A namespace name: a DNS-1123 label. */
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/

/** Any object of the manifest, as far as a caller needs to know it. */
export interface ManifestObject {
  apiVersion: string
  kind: string
  metadata?: { name?: string, namespace?: string, labels?: Record<string, string>, annotations?: Record<string, string> }
}

/** Options of {@link buildAgentManifest}. */
export interface AgentManifestOptions {
  /** The catalog and inventory, loaded and validated (`loadInputs`). */
  inputs: Inputs
  coordinator: CoordinatorAddress
  /** The coordinator's TLS pin (`sha256:HEX`); null for an `--insecure` coordinator. */
  pin: string | null
  /** The coordinator's join token: each node's credential is derived from it, and it is not itself in the manifest. */
  token: string
  /** Default {@link DEFAULT_NAMESPACE}. */
  namespace?: string
  /** Default {@link DEFAULT_IMAGE}. */
  image?: string
  /** Default `per-host`. */
  secrets?: SecretLayout
  /** Plan optional flows too, to know which nodes listen below 1024. Default false, as `run`. */
  includeOptional?: boolean
}

/** A manifest: the objects in `kubectl apply` order, and what the header comment says. */
export interface AgentManifest {
  objects: ManifestObject[]
  /** Per host name, the ports below 1024 its agent listens on (`tcp/22`): those agents run as root with CAP_NET_BIND_SERVICE only. */
  lowPorts: Map<string, string[]>
  /** The lines of the manifest's header comment. */
  notes: string[]
}

/** Per host, the ports below 1024 the plan has it listen on. */
function lowPortsByHost (o: AgentManifestOptions): Map<string, string[]> {
  const { catalog, inventory } = o.inputs
  const plan = buildPlan({ catalog: catalog.catalog, hosts: inventory.inventory.hosts, settings: inventory.settings, includeOptional: o.includeOptional === true })
  const sets = new Map<string, Set<string>>()
  for (const c of plan.checks) {
    if (c.skip !== null || c.to === null || c.port >= 1024) continue
    const set = sets.get(c.to) ?? new Set<string>()
    set.add(`${c.protocol}/${c.port}`)
    sets.set(c.to, set)
  }
  const byPort = (a: string, b: string): number => Number(a.split('/')[1]) - Number(b.split('/')[1]) || a.localeCompare(b)
  return new Map([...sets].map(([host, set]) => [host, [...set].sort(byPort)]))
}

/** Checks what Kubernetes requires of the inventory and the options; throws with every problem. */
async function checkInputs (o: AgentManifestOptions, namespace: string, image: string): Promise<void> {
  if (!NAMESPACE_NAME.test(namespace)) throw new PortcheckError('PC_ERR_USAGE', `--namespace ${quote(namespace)}: not a namespace name (lower-case letters, digits and "-", at most 63 characters)`)
  if (SHARED_NAMESPACES.has(namespace)) throw new PortcheckError('PC_ERR_USAGE', `--namespace ${namespace}: the manifest sets its namespace's pod-security level to privileged (the agent needs the host network): give it a namespace of its own, e.g. ${DEFAULT_NAMESPACE}`)
  if (image.length === 0 || /\s/.test(image)) throw new PortcheckError('PC_ERR_USAGE', `--image ${quote(image)}: not an image reference`)
  const file = o.inputs.inventory.file
  const read = await SourceFile.read(file)
  const problems: Problem[] = []
  o.inputs.inventory.inventory.hosts.forEach((h, i) => {
    const why = nodeNameProblem(h.name)
    if (why === null) return
    const at = ['hosts', i, 'name']
    const message = `${quote(h.name)} ${why}; each agent is named after its node (spec.nodeName), so host names must be the node names \`kubectl get nodes\` lists`
    problems.push(read.source?.problem(at, message) ?? { file, path: `hosts[${i}].name`, message })
  })
  if (problems.length > 0) throw inputError('PC_ERR_INVENTORY_INVALID', `inventory ${file} cannot be run on Kubernetes:`, problems)
}

/** Labels and annotations that say which host a pod stands for. */
function hostMetadata (host: InventoryHost, low: readonly string[] | undefined): { labels: Record<string, string>, annotations: Record<string, string> } {
  const labels: Record<string, string> = {}
  if (isLabelValue(host.name)) labels['portcheck.io/host'] = host.name
  // `kubectl get pods -l role.portcheck.io/gateway` lists a role's agents.
  for (const role of host.roles) if (isLabelName(role)) labels[`role.portcheck.io/${role}`] = 'true'
  const annotations: Record<string, string> = { 'portcheck.io/roles': host.roles.join(','), 'portcheck.io/address': host.address }
  if (low !== undefined) annotations['portcheck.io/ports-below-1024'] = low.join(' ')
  return { labels, annotations }
}

/**
 * Builds the objects that run a portcheck agent on every node of the inventory: a Namespace
 * (pod-security level privileged: the agent needs the host network), a ConfigMap with the
 * script that fetches the agent from the coordinator, the credentials in Secrets, and DaemonSets. With `per-host` (default), each node has its own Secret and
 * DaemonSet, pinned to it by name, so a node's pod, and its kubelet, can read that node's
 * credential only; with `shared`, one Secret holds every credential and one DaemonSet runs on
 * every node of the inventory, each pod reading its node's file (every node can read every
 * credential). Throws PC_ERR_INVENTORY_INVALID (with file, line and field) for a host name that
 * cannot be a node name, PC_ERR_USAGE for a bad namespace or image.
 */
export async function buildAgentManifest (o: AgentManifestOptions): Promise<AgentManifest> {
  const namespace = o.namespace ?? DEFAULT_NAMESPACE
  const image = o.image ?? DEFAULT_IMAGE
  const layout = o.secrets ?? 'per-host'
  await checkInputs(o, namespace, image)
  const hosts = o.inputs.inventory.inventory.hosts
  const lowPorts = lowPortsByHost(o)
  const common = { 'app.kubernetes.io/name': APP, 'app.kubernetes.io/part-of': 'portcheck' }
  const ns: INamespace = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: namespace, labels: { 'app.kubernetes.io/part-of': 'portcheck', 'pod-security.kubernetes.io/enforce': 'privileged' } }
  }
  const fetchScript: IConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `${APP}-fetch`, namespace, labels: common },
    data: { [FETCH_SCRIPT_KEY]: FETCH_AGENT_SCRIPT }
  }
  const objects: ManifestObject[] = [ns, fetchScript]
  const secret = (name: string, data: Record<string, string>, labels: Record<string, string>): ISecret =>
    ({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name, namespace, labels: { ...common, ...labels } }, stringData: data })
  const daemonSet = (name: string, nodes: string[], credential: CredentialSource, meta: { labels: Record<string, string>, annotations: Record<string, string> }, low: boolean): IDaemonSet => {
    const selector = { ...common, 'portcheck.io/agent': name }
    return {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name, namespace, labels: { ...selector, ...meta.labels } },
      spec: {
        selector: { matchLabels: selector },
        template: agentPodTemplate({ nodes, image, coordinator: o.coordinator, pin: o.pin, credential, fetchScript: `${APP}-fetch`, lowPorts: low, labels: { ...selector, ...meta.labels }, annotations: meta.annotations })
      }
    }
  }
  if (layout === 'per-host') {
    for (const host of hosts) {
      const name = objectName(APP, host.name)
      const meta = hostMetadata(host, lowPorts.get(host.name))
      objects.push(secret(name, { credential: agentCredential(o.token, host.name) }, meta.labels))
      objects.push(daemonSet(name, [host.name], { kind: 'own', secret: name }, meta, lowPorts.has(host.name)))
    }
  } else {
    const name = APP
    objects.push(secret(`${APP}-credentials`, Object.fromEntries(hosts.map((h) => [h.name, agentCredential(o.token, h.name)])), {}))
    const annotations: Record<string, string> = { 'portcheck.io/hosts': hosts.map((h) => h.name).join(',') }
    objects.push(daemonSet(name, hosts.map((h) => h.name), { kind: 'shared', secret: `${APP}-credentials` }, { labels: {}, annotations }, lowPorts.size > 0))
  }
  return { objects, lowPorts, notes: manifestNotes(o, namespace, layout, lowPorts) }
}

/** The header comment: what the manifest is, what it assumes of the cluster, and what it holds. */
function manifestNotes (o: AgentManifestOptions, namespace: string, layout: SecretLayout, lowPorts: Map<string, string[]>): string[] {
  const { catalog, inventory } = o.inputs
  const hosts = inventory.inventory.hosts
  const notes = [
    `portcheck agents for ${catalog.catalog.title} (${catalog.catalog.id}): ${hosts.length} node(s) of ${inventory.file}.`,
    `Apply: kubectl apply -f FILE. Remove every object and pod: kubectl delete namespace ${namespace}`,
    '',
    'Host names are Kubernetes node names: each agent is named after its node (spec.nodeName)',
    'and its credential is good for that name only (compare with `kubectl get nodes`). Host',
    'addresses must be the nodes\' own (INTERNAL-IP in `kubectl get nodes -o wide`): agents run',
    'on the host network and are checked to run where the inventory says.',
    '',
    layout === 'per-host'
      ? 'Credentials: one Secret per node, used by that node\'s DaemonSet only, so a node\'s pod (and kubelet) can read its own credential only.'
      : 'Credentials: one Secret holds every node\'s, mounted in every pod: any node of the inventory can read the credential of every other (--secret per-host avoids it).',
    'This file holds those credentials: keep it as you keep passwords.',
    '',
    `Each pod's init container fetches the agent from ${o.coordinator.bundleUrl}` + (o.pin !== null ? `,\nchecking the coordinator's TLS key against ${o.pin}.` : ' in clear (--insecure).'),
    `The agents connect out to ${o.coordinator.agentUrl}: start the coordinator there (portcheck run or serve)`,
    'with the join token and TLS key this manifest was made with (its state directory).'
  ]
  const low = [...lowPorts].map(([h, ports]) => `${h} (${ports.join(', ')})`)
  notes.push('', low.length === 0
    ? 'Every agent runs as uid 1000 without any capability: no node listens below port 1024.'
    : `Agents run as uid 1000 without any capability, except where a port below 1024 is checked: as root with\nCAP_NET_BIND_SERVICE only${layout === 'shared' ? ' (all of them, one DaemonSet)' : ''}: ${low.join(', ')}.`)
  return notes.flatMap((n) => n.split('\n'))
}
