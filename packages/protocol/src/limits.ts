/**
 * Versions, paths, sizes and patterns the agent and the coordinator must agree on.
 */

/** Bumped on any incompatible change to the control messages or the data-port format. */
export const PROTOCOL_VERSION = 6

/** The HTTP path agents upgrade to a WebSocket on. */
export const AGENT_WS_PATH = '/agent'

/** A TLS pin as join commands print it: `sha256:` and the 64 hex digits of the SHA-256 of the coordinator's DER SubjectPublicKeyInfo. */
export const PIN_PATTERN = /^sha256:[0-9a-f]{64}$/

/** Largest frame the coordinator accepts from an agent, in bytes (1 MiB). */
export const MAX_AGENT_FRAME_BYTES = 1024 * 1024
/** Largest frame an agent accepts from the coordinator, in bytes (8 MiB). */
export const MAX_COORDINATOR_FRAME_BYTES = 8 * 1024 * 1024
/** Most probe orders in one `probe` frame. */
export const MAX_PROBES_PER_FRAME = 2000
/** Most listeners in one `run-start` frame: every port of both protocols. */
export const MAX_LISTENERS_PER_FRAME = 2 * 65535
/** Most results, receipts or path figures in one agent frame. */
export const MAX_ITEMS_PER_FRAME = 4000
/** Most `--bind` addresses an agent reports in `hello`: one per address family. */
export const MAX_BINDS = 2
/** Most interface addresses an agent reports in `hello`. */
export const MAX_AGENT_ADDRESSES = 256
/**
 * Most TCP SYNs a target agent keeps per IP version while it counts arrivals on ports another
 * process holds: beyond it, new ones are not kept. The coordinator keeps at most twice this
 * (both versions) from one agent in a run.
 */
export const MAX_COUNTED_SYNS = 65535
/** Most local ports of connected attempts one probe result lists. */
export const MAX_CONNECTED_PORTS = 64
/**
 * Most attempts one probe makes in one round: connections (TCP) or datagrams (UDP). Enough for
 * the evidence a drop needs on a path that loses a third of its round trips (see evidence.ts).
 */
export const MAX_ATTEMPTS_PER_ROUND = 40

/** An agent credential: base64url of an HMAC-SHA256, 43 characters. */
export const CREDENTIAL_PATTERN = /^[A-Za-z0-9_-]{43}$/
/** Most peers (target addresses) a run may give one agent to probe. */
export const MAX_PEERS = 100_000

/**
 * Longest a run's listeners stay open without `run-end`, in ms (1 hour): the coordinator never
 * asks for more, and an agent never grants more, whatever it is asked.
 */
export const MAX_RUN_TTL_MS = 3_600_000

/** The longest probe timeout a run may ask for, in ms (10 minutes): the CLI, the API and the run-start validator share it. */
export const MAX_PROBE_TIMEOUT_MS = 600_000

/** The shortest probe timeout a user may set, in ms. */
export const MIN_PROBE_TIMEOUT_MS = 50

/**
 * Heartbeats in a row a side may miss before it gives the connection up (the coordinator drops
 * the agent; the agent reconnects). Six: a lossy link can stall a live connection for tens of
 * seconds behind doubling TCP retransmission timeouts.
 */
export const MISSED_HEARTBEATS = 6

/** Transport protocols a check can use. */
export type Proto = 'tcp' | 'udp'
export const PROTOS: readonly Proto[] = ['tcp', 'udp']

/** An agent host name, as given with `--name` and in the inventory. */
export const AGENT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/
/** Run ids, agent instance ids. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/
/** Nonces are base64url, 16 to 64 characters (at least 96 random bits). */
export const NONCE_RE = /^[A-Za-z0-9_-]{16,64}$/
/** A host as the protocol carries it: an IPv4 or IPv6 address, or a DNS name. */
export const HOST_PATTERN = /^[A-Za-z0-9.:%_-]{1,253}$/
/** An interface address with its prefix length, as `198.18.1.5/15` or `2001:2::5/64`. */
export const CIDR_PATTERN = /^[A-Fa-f0-9.:%a-z_-]{1,80}\/\d{1,3}$/
