// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata'
import { X509Certificate, createHash, webcrypto } from 'node:crypto'
import net from 'node:net'
import * as x509 from '@peculiar/x509'

// Node's webcrypto is the Web Crypto API the library expects (its types come from the DOM lib).
x509.cryptoProvider.set(webcrypto as unknown as typeof globalThis.crypto)

/** A certificate, its private key (both PEM), and the pin agents check it against. */
export interface TlsMaterial {
  cert: string
  key: string
  /** `sha256:` and the hex SHA-256 of the certificate's public key (its DER SubjectPublicKeyInfo). */
  pin: string
}

/** How long a generated certificate is valid, in days (10 years: the pin, not the dates, is what agents trust). */
const VALIDITY_DAYS = 3650

/**
 * The pin of a certificate: the SHA-256 of its public key, as `kubeadm join
 * --discovery-token-ca-cert-hash` takes it. Pinning the key rather than the certificate lets an
 * operator renew the certificate with the same key without new join commands.
 */
export function pinOf (certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' })
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`
}

function pem (label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').match(/.{1,64}/g)?.join('\n') ?? ''
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`
}

/**
 * Creates a private key (ECDSA P-256) and a self-signed certificate for it, naming the given
 * DNS names and addresses (for browsers opening the dashboard; agents check the pin instead).
 */
export async function createSelfSigned (names: readonly string[]): Promise<TlsMaterial> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])
  const unique = [...new Set(names.filter((n) => n.length > 0))]
  const san = unique.map((n) => net.isIP(n) !== 0 ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n })
  const notBefore = new Date(Date.now() - 60_000)
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: webcrypto.getRandomValues(Buffer.alloc(16)).toString('hex').replace(/^[89a-f]/, '1'),
    name: 'CN=portcheck coordinator',
    notBefore,
    notAfter: new Date(notBefore.getTime() + VALIDITY_DAYS * 86_400_000),
    keys: keys as unknown as x509.X509CertificateCreateSelfSignedParams['keys'],
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(san)
    ]
  })
  const certPem = cert.toString('pem') + '\n'
  const key = pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey))
  return { cert: certPem, key, pin: pinOf(certPem) }
}
