import { open } from 'node:fs/promises'
import type { Argv } from 'yargs'
import { PIN_PATTERN, PortcheckError } from '@portcheck/protocol'
import { loadInputs } from '../api.js'
import { parseCoordinatorAddress } from '../k8s/coordinator-address.js'
import { formatManifest } from '../k8s/format-manifest.js'
import { buildAgentManifest, DEFAULT_IMAGE, DEFAULT_NAMESPACE, SECRET_LAYOUTS, type SecretLayout } from '../k8s/manifest.js'
import { quote } from '../quote.js'
import { examples, setOverrides, withInputs } from './options.js'
import { loadSecurity, withSecurity } from './security-options.js'

/** `portcheck k8s manifest`: the objects that run an agent on every node of a Kubernetes cluster. */
export function k8sCommand (y: Argv): Argv {
  return y.command('k8s', 'run the agents on a Kubernetes cluster', (k) => k
    .command('manifest', 'print a Namespace, the credentials in Secrets and DaemonSets that run an agent on every node of the inventory', (a) => withSecurity(withInputs(a))
      .option('coordinator', { type: 'string', demandOption: true, describe: 'the address agents reach the coordinator at, wss://HOST:PORT as in the join commands (ws:// with --insecure)' })
      .option('token', { type: 'string', describe: 'the coordinator\'s join token, from which each node\'s credential is derived; default: $PORTCHECK_TOKEN, else the state directory\'s (created if missing)' })
      .option('pin', { type: 'string', describe: 'the coordinator\'s TLS pin (sha256:HEX); default: that of --tls-cert, else of the state directory\'s key (created if missing)' })
      .option('namespace', { type: 'string', default: DEFAULT_NAMESPACE, describe: 'the namespace the manifest creates and puts everything in' })
      .option('image', { type: 'string', default: DEFAULT_IMAGE, describe: 'image of the agent\'s pods: Node.js 20.19 or later with /bin/sh; the agent itself is fetched from the coordinator' })
      .option('secret', { type: 'string', choices: SECRET_LAYOUTS, default: 'per-host', describe: 'per-host: a Secret and a DaemonSet per node, each node can read its own credential only; shared: one of each, every node can read every credential' })
      .option('output', { alias: 'o', type: 'string', describe: 'write to this file (mode 0600: it holds credentials) instead of stdout' })
      .epilogue(examples([
        ['agents on every node of the inventory (host names = node names),\nfor a coordinator started on 198.18.0.5 with the same state directory', 'portcheck k8s manifest -i apic.yaml --coordinator wss://198.18.0.5:7070 \\\n  | kubectl apply -f -'],
        ['then, on 198.18.0.5: the check, as the agents join', 'portcheck run -i apic.yaml'],
        ['remove every agent, Secret and pod', 'kubectl delete namespace portcheck']
      ])),
    async (args) => {
      const address = parseCoordinatorAddress(args.coordinator, args.insecure)
      const pin = args.pin
      if (pin !== undefined) {
        if (!PIN_PATTERN.test(pin)) throw new PortcheckError('PC_ERR_USAGE', `--pin ${quote(pin)}: expected sha256: and 64 hex digits, as the join commands print it`)
        if (args.insecure) throw new PortcheckError('PC_ERR_USAGE', '--pin and --insecure contradict each other')
        if (args['tls-cert'] !== undefined) throw new PortcheckError('PC_ERR_USAGE', '--pin and --tls-cert: give one (the pin of --tls-cert is computed)')
      }
      const inputs = await loadInputs({ ...(args.catalog !== undefined ? { catalog: args.catalog } : {}), inventory: args.inventory, set: setOverrides(args) })
      // With --pin, the TLS key is elsewhere: load the token only.
      const security = await loadSecurity({
        insecure: args.insecure || pin !== undefined,
        ...(args.token !== undefined ? { token: args.token } : {}),
        ...(args['state-dir'] !== undefined ? { 'state-dir': args['state-dir'] } : {}),
        ...(args['tls-cert'] !== undefined ? { 'tls-cert': args['tls-cert'] } : {}),
        ...(args['tls-key'] !== undefined ? { 'tls-key': args['tls-key'] } : {})
      })
      const manifest = await buildAgentManifest({
        inputs,
        coordinator: address,
        pin: pin ?? security.tls?.pin ?? null,
        token: security.token,
        namespace: args.namespace,
        image: args.image,
        secrets: args.secret as SecretLayout,
        includeOptional: args['include-optional']
      })
      const text = formatManifest(manifest)
      if (args.output !== undefined && args.output !== '-') {
        const file = await open(args.output, 'w', 0o600)
        try {
          // An existing file keeps its mode on open: narrow it before the credentials go in.
          await file.chmod(0o600)
          await file.writeFile(text)
        } finally {
          await file.close()
        }
        process.stderr.write(`portcheck: manifest for ${inputs.inventory.inventory.hosts.length} node(s) written to ${args.output}; it holds their credentials. Apply it with: kubectl apply -f ${args.output}\n`)
      } else process.stdout.write(text)
    })
    .demandCommand(1, 'name a k8s command: manifest'))
}
