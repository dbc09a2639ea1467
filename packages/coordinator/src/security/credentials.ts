import { createHmac, timingSafeEqual } from 'node:crypto'

/** What the HMAC binds, before the host name: a credential can never be mistaken for anything else. */
const PURPOSE = 'portcheck agent credential v1\n'

/**
 * The credential of one inventory host: an HMAC-SHA256 of its name, keyed by the join token,
 * base64url (43 characters). Each host's join command carries its own: a node that has it can
 * register under that name only, and cannot derive the join token or another host's credential.
 */
export function agentCredential (joinToken: string, name: string): string {
  return createHmac('sha256', joinToken).update(PURPOSE + name).digest('base64url')
}

/** Checks a presented credential for a name, in constant time. */
export function credentialMatches (presented: string, joinToken: string, name: string): boolean {
  const expected = Buffer.from(agentCredential(joinToken, name))
  const got = Buffer.from(presented)
  return got.length === expected.length && timingSafeEqual(got, expected)
}
