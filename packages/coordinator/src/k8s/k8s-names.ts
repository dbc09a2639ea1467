import { createHash } from 'node:crypto'

/**
 * A Kubernetes node name: a DNS-1123 subdomain (lower-case letters, digits, `-` and `.`, each
 * dot-separated label starting and ending with a letter or digit), at most 253 characters.
 * Node objects are validated with this rule (apimachinery `IsDNS1123Subdomain`).
 */
const NODE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

/** Longest node name, in characters (DNS-1123 subdomain). */
const NODE_NAME_MAX = 253

/**
 * Longest name portcheck gives an object (63 characters): names also appear as label values
 * (`portcheck.io/host`), and a pod's generated name keeps at most 58 characters of its
 * DaemonSet's, so shorter names read the same everywhere.
 */
export const OBJECT_NAME_MAX = 63

/** A label value: at most 63 characters, alphanumerics, `-`, `_` and `.`, starting and ending with an alphanumeric. */
const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/

/** Why `name` cannot be a Kubernetes node name, or null if it can. */
export function nodeNameProblem (name: string): string | null {
  if (name.length > NODE_NAME_MAX) return `is ${name.length} characters long: a Kubernetes node name has at most ${NODE_NAME_MAX}`
  if (NODE_NAME.test(name)) return null
  if (name !== name.toLowerCase() && NODE_NAME.test(name.toLowerCase())) return `is not a Kubernetes node name: node names are lower-case (${JSON.stringify(name.toLowerCase())}?)`
  return 'is not a Kubernetes node name: lower-case letters, digits, "-" and ".", each part between dots starting and ending with a letter or digit'
}

/**
 * The name of an object made for one node, `PREFIX-NODE`, kept within {@link OBJECT_NAME_MAX}
 * characters: a longer one is cut and ends in 8 hex digits of the node name's SHA-256, so two
 * long node names sharing a start still get different objects.
 */
export function objectName (prefix: string, node: string): string {
  const whole = `${prefix}-${node}`
  if (whole.length <= OBJECT_NAME_MAX) return whole
  const hash = createHash('sha256').update(node).digest('hex').slice(0, 8)
  const room = OBJECT_NAME_MAX - prefix.length - hash.length - 2
  // A cut node name may end in "-" or ".", which a name may not have before the next "-".
  return `${prefix}-${node.slice(0, room).replace(/[-.]+$/, '')}-${hash}`
}

/** True if `value` can be a label's value (node names of up to 63 characters can). */
export function isLabelValue (value: string): boolean {
  return LABEL_VALUE.test(value)
}

/** True if `name` can be the name part of a label key (a role id ending in `-` cannot). */
export function isLabelName (name: string): boolean {
  // The name part of a key (after `prefix/`) follows the rule of a value, and may not be empty.
  return LABEL_VALUE.test(name)
}
