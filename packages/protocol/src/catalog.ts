/**
 * Types of the two files a user writes or picks: a product's catalog (its documented port
 * tables as data) and an inventory (which host plays which role). The JSON Schema for
 * both is catalogs/schema.json; docs/reference/catalog-format.md explains every field.
 */
import type { Proto } from './messages.js'

/** A value a setting can take. */
export type SettingValue = string | number | boolean

/** A port in a flow: a number, a range `"30000-32767"`, or the value of a port-typed setting. */
export type PortSpec = number | string | { setting: string }

/** Comparison operators of a condition on one setting. Versions compare part by part (4.6.2 < 4.10). */
export interface ConditionOps {
  eq?: SettingValue
  ne?: SettingValue
  lt?: SettingValue
  le?: SettingValue
  gt?: SettingValue
  ge?: SettingValue
  in?: SettingValue[]
}

/**
 * A condition on the catalog's settings. Keys are setting names and all must hold; a value is an
 * exact match, a list means any of them, an object holds operators. `any`, `all` and `not`
 * combine conditions.
 *
 * @example `{ topology: ha, version: { lt: "4.7" } }`
 */
export interface Condition {
  any?: Condition[]
  all?: Condition[]
  not?: Condition
  [setting: string]: SettingValue | SettingValue[] | ConditionOps | Condition | Condition[] | undefined
}

/** Types a setting can have. `port` is an integer 1–65535; `version` a dotted version like 4.6.2. */
export type SettingType = 'boolean' | 'string' | 'number' | 'version' | 'port'

/** A switch or value the catalog's conditions and port references read. */
export interface SettingDef {
  type: SettingType
  /**
   * Value when neither the inventory nor `--set` gives one. Only a `port` setting may omit it,
   * for a port the vendor does not name: every active flow using it then needs the user to set it.
   */
  default?: SettingValue
  description: string
  /** For `string`: the values allowed. */
  enum?: string[]
  /**
   * `global` (default): one value for the whole inventory. `host`: each host may give its own value in
   * the inventory (`hosts[].settings`); usable only in port references, read for the target host.
   */
  scope?: 'global' | 'host'
}

export interface CatalogRole {
  title: string
  description?: string
  /** An endpoint that runs no agent (users, an IP range, a public service): its flows are reported as skipped. */
  external?: boolean
  /** The role exists only when this holds (e.g. HA-only roles); hosts with it are refused otherwise. */
  when?: Condition
}

export interface Flow {
  /** Unique within the catalog; cited in reports. */
  id: string
  /** Source role id. */
  from: string
  /** Target role id; the same as `from` means every host of the role to every other host of it. */
  to: string
  tcp?: PortSpec[]
  udp?: PortSpec[]
  /** What the flow is for, in a few words. */
  purpose: string
  /** Checked only with `--include-optional`. Default false. */
  optional?: boolean
  /** The flow applies only when this holds. */
  when?: Condition
  /** Where the flow stands in the vendor document (section, table, row), for review. */
  ref?: string
  /** A judgement call made for this flow. */
  note?: string
}

export interface CatalogSource {
  /** The document's title or file name. */
  document: string
  url?: string
  /** Where in this repository a copy lives, if anywhere. */
  path?: string
}

export interface Catalog {
  /** Lower-case id used with `--catalog`. */
  id: string
  title: string
  description?: string
  source?: CatalogSource
  roles: Record<string, CatalogRole>
  settings?: Record<string, SettingDef>
  flows: Flow[]
  /** Judgement calls made where the document is ambiguous or wrong. */
  notes?: string[]
}

/**
 * How `portcheck run --launch ssh` reaches a host through the system's OpenSSH client. Every
 * field is optional: what is not set here comes from `~/.ssh/config` (or `--ssh-config`) and
 * ssh's own defaults. The inventory's top-level `ssh:` gives defaults that each host's `ssh:`
 * overrides field by field.
 */
export interface SshSettings {
  /** Remote user (`ssh -l`). */
  user?: string
  /** SSH port (`ssh -p`), 1-65535. */
  port?: number
  /** Private key file (`ssh -i`); `~` is the local home directory; relative to the inventory file. */
  identity?: string
  /** ProxyJump spec (`ssh -J`): `[user@]host[:port]`, several separated by commas. */
  jump?: string
  /** Start the agent with `sudo -n` (needed to listen on ports below 1024 as a non-root user). Default false. */
  sudo?: boolean
  /** The SSH destination when it is not the host's `address` (a `~/.ssh/config` alias, say). */
  host?: string
}

export interface InventoryHost {
  /** The agent's `--name`. */
  name: string
  /** Where peers reach this host (an IP address or a DNS name). */
  address: string
  /**
   * Peers reach this host through NAT: its address is not on its own interfaces, so its agent
   * is not expected to have it. Default false: an agent without it is misplaced.
   */
  nat?: boolean
  roles: string[]
  /** Per-host values of `scope: host` settings. */
  settings?: Record<string, SettingValue>
  /** How to reach this host over SSH; overrides the inventory's `ssh:` field by field. */
  ssh?: SshSettings
}

export interface Inventory {
  hosts: InventoryHost[]
  /** Values for the catalog's settings. */
  settings?: Record<string, SettingValue>
  /** SSH defaults for every host (`--launch ssh`). */
  ssh?: SshSettings
}

/** One (protocol, port) a flow names, after ranges and setting references are resolved for a target. */
export interface PortRef {
  protocol: Proto
  port: number
  /** Last port of a range kept whole (only toward an external target; ranges to hosts are expanded). */
  portEnd?: number
}
