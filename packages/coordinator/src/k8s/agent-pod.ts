import type { IContainer } from 'kubernetes-models/v1/Container'
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar'
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec'
import type { IResourceRequirements } from 'kubernetes-models/v1/ResourceRequirements'
import type { ISecurityContext } from 'kubernetes-models/v1/SecurityContext'
import type { IVolume } from 'kubernetes-models/v1/Volume'
import type { CoordinatorAddress } from './coordinator-address.js'
import { AGENT_DIR, AGENT_LAUNCHER, FETCH_SCRIPT_DIR, FETCH_SCRIPT_FILE, FETCH_SCRIPT_KEY } from './fetch-agent-script.js'

/**
 * The user the containers run as (uid and gid 1000): `node` in the official Node.js images.
 * The agent runs as root only on a node that must listen below port 1024 (see {@link agentPodTemplate}).
 */
export const AGENT_UID = 1000

/**
 * The agent container's resources. Requests: 50 millicores, 64 MiB (an idle agent holds about
 * 49 MB, one in a 50-host run about 60 MB: docs/benchmarks.md). Limits: one core, so a probe
 * burst is never throttled into a late answer, and 256 MiB.
 */
export const AGENT_RESOURCES: IResourceRequirements = {
  requests: { cpu: '50m', memory: '64Mi' },
  limits: { cpu: '1', memory: '256Mi' }
}

/** The init container's resources: it only downloads one file of about 150 kB. */
export const FETCH_RESOURCES: IResourceRequirements = {
  requests: { cpu: '10m', memory: '32Mi' },
  limits: { cpu: '500m', memory: '128Mi' }
}

/** Where the shared Secret's files are mounted (`--secret shared`): one file per node name. */
export const CREDENTIALS_DIR = '/etc/portcheck/credentials'

/** How a pod gets its node's credential. */
export type CredentialSource =
  /** A Secret of its own, key `credential`, as `PORTCHECK_TOKEN` (one DaemonSet per node). */
  | { kind: 'own', secret: string }
  /** The shared Secret mounted as files named after the nodes; the pod reads its node's. */
  | { kind: 'shared', secret: string }

/** What {@link agentPodTemplate} builds a pod from. */
export interface AgentPodOptions {
  /** The nodes (by name) the pod may run on: one per host, or every host of the inventory. */
  nodes: readonly string[]
  /** The image of both containers: Node.js 20 or later with `/bin/sh` (default of the CLI: node:20-alpine). */
  image: string
  coordinator: CoordinatorAddress
  /** The coordinator's TLS pin; null for an `--insecure` coordinator. */
  pin: string | null
  credential: CredentialSource
  /** The name of the ConfigMap holding the init container's script (`FETCH_AGENT_SCRIPT`, under the key `FETCH_SCRIPT_KEY`). */
  fetchScript: string
  /** The agent must listen on a port below 1024 on (one of) these nodes: it then runs as root with CAP_NET_BIND_SERVICE only. */
  lowPorts: boolean
  /** Labels of the pod (its DaemonSet's selector among them). */
  labels: Record<string, string>
  annotations: Record<string, string>
}

/**
 * The hardening both containers share: no privilege escalation, no capability, a read-only root
 * file system (the agent writes nothing; the bundle is on the pod's own volume).
 */
function hardened (extra: ISecurityContext = {}): ISecurityContext {
  return { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] }, ...extra }
}

/**
 * The agent's own security context. A non-root process cannot use a capability added in the
 * pod spec (Kubernetes grants no ambient capabilities: kubernetes/kubernetes#56374), and the
 * unprivileged-port sysctl cannot be set for a pod on the host's network; so an agent that must
 * listen below 1024 runs as root, with CAP_NET_BIND_SERVICE as its only capability.
 */
function agentSecurity (lowPorts: boolean): ISecurityContext {
  return lowPorts
    ? hardened({ runAsUser: 0, runAsGroup: 0, runAsNonRoot: false, capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } })
    : hardened()
}

/** The env of the agent container: where the coordinator is, and which node this is. */
function agentEnv (o: AgentPodOptions): IEnvVar[] {
  const env: IEnvVar[] = [
    // The agent's --name is the node's name: its credential is bound to that name.
    { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
    { name: 'PORTCHECK_COORDINATOR', value: o.coordinator.agentUrl }
  ]
  if (o.pin !== null) env.push({ name: 'PORTCHECK_PIN', value: o.pin })
  if (o.credential.kind === 'own') env.push({ name: 'PORTCHECK_TOKEN', valueFrom: { secretKeyRef: { name: o.credential.secret, key: 'credential' } } })
  return env
}

/** The agent container: runs the launcher the init container wrote, as the node's host. */
function agentContainer (o: AgentPodOptions): IContainer {
  const insecure = o.pin === null ? ['--insecure'] : []
  const mounts = [{ name: 'agent', mountPath: AGENT_DIR, readOnly: true }]
  const rest = { env: agentEnv(o), resources: AGENT_RESOURCES, securityContext: agentSecurity(o.lowPorts) }
  if (o.credential.kind === 'own') {
    return { name: 'agent', image: o.image, command: ['node', AGENT_LAUNCHER], args: ['--name', '$(NODE_NAME)', ...insecure], ...rest, volumeMounts: mounts }
  }
  // Every pod mounts every credential, and reads its own node's (the trade-off of one Secret).
  const file = `${CREDENTIALS_DIR}/$NODE_NAME`
  const script = [
    `if [ ! -r "${file}" ]; then echo "portcheck: node $NODE_NAME has no credential in the Secret ${o.credential.secret}: it is not a host of the inventory this manifest was made from" >&2; exit 2; fi`,
    // "$$(" is how a pod spec writes "$(": the kubelet expands $(NAME) in commands itself.
    `PORTCHECK_TOKEN="$$(cat "${file}")"`,
    'export PORTCHECK_TOKEN',
    `exec node ${AGENT_LAUNCHER} --name "$NODE_NAME"${insecure.map((a) => ' ' + a).join('')}`
  ].join('\n') + '\n'
  return { name: 'agent', image: o.image, command: ['/bin/sh', '-c', script], ...rest, volumeMounts: [...mounts, { name: 'credentials', mountPath: CREDENTIALS_DIR, readOnly: true }] }
}

/** The init container: fetches the agent from the coordinator into the pod's volume. */
function fetchContainer (o: AgentPodOptions): IContainer {
  return {
    name: 'fetch-agent',
    image: o.image,
    command: ['node', FETCH_SCRIPT_FILE],
    env: [
      { name: 'PORTCHECK_AGENT_URL', value: o.coordinator.bundleUrl },
      { name: 'PORTCHECK_PIN', value: o.pin ?? '' },
      { name: 'PORTCHECK_AGENT_DIR', value: AGENT_DIR }
    ],
    volumeMounts: [{ name: 'agent', mountPath: AGENT_DIR }, { name: 'fetch-agent', mountPath: FETCH_SCRIPT_DIR, readOnly: true }],
    resources: FETCH_RESOURCES,
    securityContext: hardened()
  }
}

/**
 * The pod of a portcheck agent: on the host's network (the agent must listen and probe on the
 * node's own addresses), on the named nodes only, whatever their taints (control-plane nodes
 * included), without a service account token (the agent never talks to the Kubernetes API).
 */
export function agentPodTemplate (o: AgentPodOptions): IPodTemplateSpec {
  const volumes: IVolume[] = [
    { name: 'agent', emptyDir: { sizeLimit: '64Mi' } },
    { name: 'fetch-agent', configMap: { name: o.fetchScript, items: [{ key: FETCH_SCRIPT_KEY, path: FETCH_SCRIPT_KEY }], defaultMode: 0o444 } }
  ]
  if (o.credential.kind === 'shared') volumes.push({ name: 'credentials', secret: { secretName: o.credential.secret, defaultMode: 0o440 } })
  return {
    metadata: { labels: o.labels, annotations: o.annotations },
    spec: {
      hostNetwork: true,
      // On the host's network a pod gets the node's resolver unless told otherwise.
      dnsPolicy: 'ClusterFirstWithHostNet',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      // The agent closes its listeners on SIGTERM in well under a second.
      terminationGracePeriodSeconds: 10,
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            // The node's name, not a label: the inventory names nodes, and a name cannot drift.
            nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [...o.nodes] }] }]
          }
        }
      },
      tolerations: [{ operator: 'Exists' }],
      securityContext: { runAsNonRoot: true, runAsUser: AGENT_UID, runAsGroup: AGENT_UID, fsGroup: AGENT_UID, seccompProfile: { type: 'RuntimeDefault' } },
      initContainers: [fetchContainer(o)],
      containers: [agentContainer(o)],
      volumes
    }
  }
}
