/**
 * Runs a DaemonSet's pod of a `portcheck k8s manifest` the way a kubelet would, without a
 * cluster: each volume is a temporary directory (emptyDir empty, ConfigMap and Secret volumes
 * holding their keys as files), each container a local process on the host's network (the pods
 * use hostNetwork), with the container's env (fieldRef spec.nodeName, secretKeyRef), its
 * command and args after the kubelet's $(VAR) expansion, and its mount paths mapped to those
 * directories. The init containers run to completion first; then the containers start.
 * Images are not pulled: `node` is this Node.js (the manifest's default image is Node.js 20) and
 * `/bin/sh` the system's.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'

type Obj = Record<string, any>

/**
 * The kubelet's expansion of `$(NAME)` in commands, args and env values
 * (k8s.io/kubernetes third_party/forked/golang/expansion): a defined NAME is replaced, an
 * undefined one is left as written, and `$$` is one `$`.
 */
export function expand (input: string, env: Readonly<Record<string, string>>): string {
  let out = ''
  for (let i = 0; i < input.length; i++) {
    const c = input[i]
    if (c !== '$' || i + 1 >= input.length) { out += c; continue }
    const next = input[i + 1]
    if (next === '$') { out += '$'; i++; continue }
    if (next === '(') {
      const close = input.indexOf(')', i + 2)
      if (close === -1) { out += '$('; i++; continue }
      const name = input.slice(i + 2, close)
      out += env[name] ?? `$(${name})`
      i = close
      continue
    }
    out += '$' + next
    i++
  }
  return out
}

/** A container started by {@link runPod}. */
export interface ContainerProcess {
  child: ChildProcess
  /** Everything written to stderr so far. */
  stderr: () => string
  exited: Promise<number | null>
}

/** What {@link runPod} did. */
export interface PodRun {
  /** Exit codes and stderr of the init containers, in order. */
  init: Array<{ name: string, code: number | null, stderr: string }>
  /** The containers, started only if every init container exited 0. */
  containers: ContainerProcess[]
  /** Each volume's directory, by volume name. */
  volumes: Record<string, string>
}

function byKindAndName (objects: readonly Obj[], kind: string, name: string): Obj {
  const found = objects.find((o) => o.kind === kind && o.metadata?.name === name)
  if (found === undefined) throw new Error(`the manifest has no ${kind} ${name}`)
  return found
}

/** Makes the pod's volumes as directories. */
function makeVolumes (objects: readonly Obj[], volumes: Obj[], base: string): Record<string, string> {
  const dirs: Record<string, string> = {}
  for (const v of volumes) {
    const dir = path.join(base, String(v.name))
    mkdirSync(dir, { recursive: true })
    dirs[v.name] = dir
    if (v.emptyDir !== undefined) continue
    const source = v.configMap !== undefined
      ? { data: byKindAndName(objects, 'ConfigMap', v.configMap.name).data as Record<string, string>, items: v.configMap.items as Obj[] | undefined, mode: v.configMap.defaultMode as number | undefined }
      : v.secret !== undefined
        ? { data: byKindAndName(objects, 'Secret', v.secret.secretName).stringData as Record<string, string>, items: v.secret.items as Obj[] | undefined, mode: v.secret.defaultMode as number | undefined }
        : null
    if (source === null) throw new Error(`volume ${String(v.name)}: a kind the kubelet stand-in does not know`)
    const items = source.items ?? Object.keys(source.data).map((key) => ({ key, path: key }))
    for (const item of items) {
      const value = source.data[item.key]
      if (value === undefined) throw new Error(`volume ${String(v.name)}: no key ${String(item.key)}`)
      writeFileSync(path.join(dir, item.path), value, { mode: source.mode ?? 0o644 })
    }
  }
  return dirs
}

/** A container's env, as the kubelet builds it: in order, each value expanded with those before. */
function containerEnv (objects: readonly Obj[], container: Obj, node: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = expand(e.value, env)
    else if (e.valueFrom?.fieldRef?.fieldPath === 'spec.nodeName') env[e.name] = node
    else if (e.valueFrom?.secretKeyRef !== undefined) {
      const value = byKindAndName(objects, 'Secret', e.valueFrom.secretKeyRef.name).stringData?.[e.valueFrom.secretKeyRef.key]
      if (value === undefined) throw new Error(`env ${String(e.name)}: the Secret has no key ${String(e.valueFrom.secretKeyRef.key)}`)
      env[e.name] = value
    } else throw new Error(`env ${String(e.name)}: a source the kubelet stand-in does not know`)
  }
  return env
}

/** Starts one container as a local process. */
function startContainer (objects: readonly Obj[], container: Obj, node: string, volumes: Record<string, string>, extraEnv: Record<string, string>): ContainerProcess {
  const env = containerEnv(objects, container, node)
  // Longest mount path first: /opt/portcheck-fetch before /opt/portcheck.
  const mounts = (container.volumeMounts as Obj[] ?? []).map((m) => [String(m.mountPath), volumes[m.name] ?? '']).sort((a, b) => (b[0] ?? '').length - (a[0] ?? '').length)
  const local = (s: string): string => mounts.reduce((text, [from, to]) => text.split(from ?? '').join(to), s)
  const argv = [...(container.command ?? []), ...(container.args ?? [])].map((a: string) => local(expand(a, env)))
  const localEnv = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, local(v)]))
  const [cmd, ...args] = argv
  const exe = cmd === 'node' ? process.execPath : String(cmd)
  const child = spawn(exe, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...localEnv, ...extraEnv }, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  return { child, stderr: () => stderr, exited }
}

/**
 * Runs the pod of DaemonSet `daemonSet` on node `node`: its init containers to completion
 * (each bounded by `initTimeoutMs`, default 30000 ms), then its containers, left running (the
 * caller stops them). The volumes are made under `dir` (the caller removes it). `extraEnv` is
 * added to every container's environment.
 */
export async function runPod (objects: readonly Obj[], daemonSet: string, node: string, opts: { dir: string, initTimeoutMs?: number, extraEnv?: Record<string, string> }): Promise<PodRun> {
  const ds = byKindAndName(objects, 'DaemonSet', daemonSet)
  const terms = ds.spec.template.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms as Obj[] | undefined
  const allowed = terms?.flatMap((t) => (t.matchFields as Obj[]).filter((f) => f.key === 'metadata.name' && f.operator === 'In').flatMap((f) => f.values as string[]))
  if (allowed !== undefined && !allowed.includes(node)) throw new Error(`DaemonSet ${daemonSet} would not run on node ${node} (only on ${allowed.join(', ')})`)
  const spec = ds.spec.template.spec
  const volumes = makeVolumes(objects, spec.volumes ?? [], opts.dir)
  const run: PodRun = { init: [], containers: [], volumes }
  for (const c of spec.initContainers ?? []) {
    const p = startContainer(objects, c, node, volumes, opts.extraEnv ?? {})
    const timer = setTimeout(() => p.child.kill('SIGKILL'), opts.initTimeoutMs ?? 30_000)
    const code = await p.exited
    clearTimeout(timer)
    run.init.push({ name: c.name, code, stderr: p.stderr() })
    if (code !== 0) return run
  }
  for (const c of spec.containers) run.containers.push(startContainer(objects, c, node, volumes, opts.extraEnv ?? {}))
  return run
}
