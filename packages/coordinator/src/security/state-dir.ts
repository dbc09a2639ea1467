import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto'
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { PortcheckError } from '@portcheck/protocol'
import { generateToken } from './token.js'
import { createSelfSigned, pinOf, type TlsMaterial } from './certificate.js'

/** The coordinator's state directory unless `--state-dir` says otherwise: `$PORTCHECK_STATE_DIR`, else `~/.portcheck`. */
export function defaultStateDir (env: NodeJS.ProcessEnv = process.env): string {
  return env.PORTCHECK_STATE_DIR ?? path.join(os.homedir(), '.portcheck')
}

async function readIfExists (file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw new PortcheckError('PC_ERR_TLS', `cannot read ${file}: ${(err as Error).message}`, { cause: err })
  }
}

/**
 * Writes a file only its owner can read (0600), creating the directory (0700). False if it
 * exists already: another coordinator sharing the state directory made it first.
 */
async function writePrivate (file: string, content: string): Promise<boolean> {
  try {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 })
    await writeFile(file, content, { mode: 0o600, flag: 'wx' })
    await chmod(file, 0o600)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw new PortcheckError('PC_ERR_TLS', `cannot write ${file}: ${(err as Error).message}`, { cause: err })
  }
}

/**
 * The join token kept in the state directory (`token`), created on first use: a coordinator that
 * restarts keeps its agents' credentials valid.
 */
export async function loadOrCreateToken (dir: string): Promise<string> {
  const file = path.join(dir, 'token')
  const existing = (await readIfExists(file))?.trim()
  if (existing !== undefined && existing.length > 0) return existing
  const token = generateToken()
  if (await writePrivate(file, token + '\n')) return token
  return (await readIfExists(file))?.trim() ?? token
}

/**
 * The coordinator's TLS key and certificate from the state directory (`tls/key.pem`,
 * `tls/cert.pem`), created on first start (self-signed, naming `names`): the pin in the join
 * commands stays the same across restarts.
 */
export async function loadOrCreateTls (dir: string, names: readonly string[]): Promise<TlsMaterial> {
  const certFile = path.join(dir, 'tls', 'cert.pem')
  const keyFile = path.join(dir, 'tls', 'key.pem')
  const [cert, key] = await Promise.all([readIfExists(certFile), readIfExists(keyFile)])
  if (cert !== null && key !== null) return { cert, key, pin: pinFrom(cert, certFile) }
  if (cert !== null || key !== null) throw new PortcheckError('PC_ERR_TLS', `${cert === null ? certFile : keyFile} is missing but ${cert === null ? keyFile : certFile} exists: remove both to have a new pair made (agents will need new join commands)`)
  // Both files appear at once (a directory renamed into place), so two coordinators starting
  // together on one state directory can never pair one's key with the other's certificate.
  const made = await createSelfSigned(names)
  const tmp = path.join(dir, `tls.${process.pid}.${randomBytes(6).toString('hex')}`)
  await writePrivate(path.join(tmp, 'key.pem'), made.key)
  await writePrivate(path.join(tmp, 'cert.pem'), made.cert)
  try {
    await rename(tmp, path.dirname(certFile))
    return made
  } catch {
    await rm(tmp, { recursive: true, force: true })
    const [c, k] = await Promise.all([readIfExists(certFile), readIfExists(keyFile)])
    if (c === null || k === null) throw new PortcheckError('PC_ERR_TLS', `cannot create ${path.dirname(certFile)}`)
    return { cert: c, key: k, pin: pinFrom(c, certFile) }
  }
}

/** An operator's own certificate and key (`--tls-cert`, `--tls-key`). */
export async function loadTlsFiles (certFile: string, keyFile: string): Promise<TlsMaterial> {
  const [cert, key] = await Promise.all([readIfExists(certFile), readIfExists(keyFile)])
  if (cert === null) throw new PortcheckError('PC_ERR_TLS', `--tls-cert ${certFile}: no such file`)
  if (key === null) throw new PortcheckError('PC_ERR_TLS', `--tls-key ${keyFile}: no such file`)
  const pin = pinFrom(cert, certFile)
  let matches: boolean
  try {
    matches = new X509Certificate(cert).checkPrivateKey(createPrivateKey(key))
  } catch (err) {
    throw new PortcheckError('PC_ERR_TLS', `--tls-key ${keyFile} is not a PEM private key: ${(err as Error).message}`, { cause: err })
  }
  if (!matches) throw new PortcheckError('PC_ERR_TLS', `--tls-key ${keyFile} is not the key of --tls-cert ${certFile}`)
  return { cert, key, pin }
}

function pinFrom (cert: string, file: string): string {
  try {
    return pinOf(cert)
  } catch (err) {
    throw new PortcheckError('PC_ERR_TLS', `${file} is not a PEM certificate: ${(err as Error).message}`, { cause: err })
  }
}
