import net from 'node:net'

/** A set of addresses matched in any spelling (`0:0:0:0:0:0:0:1`, `::ffff:7f00:1`): `net.BlockList` compares parsed addresses. */
function addressSet (add: (b: net.BlockList) => void): (address: string) => boolean {
  const b = new net.BlockList()
  add(b)
  return (address) => {
    const version = net.isIP(address)
    return version !== 0 && b.check(address, version === 4 ? 'ipv4' : 'ipv6')
  }
}

const loopback = addressSet((b) => {
  b.addSubnet('127.0.0.0', 8, 'ipv4')
  b.addAddress('::1', 'ipv6')
})

const unspecified = addressSet((b) => {
  b.addAddress('0.0.0.0', 'ipv4')
  b.addAddress('::', 'ipv6')
})

/** Whether `address` (an IP address in any spelling, or `localhost`) is a loopback one: 127.0.0.0/8 or ::1. */
export function isLoopback (address: string): boolean {
  return address === 'localhost' || loopback(address)
}

/** Whether `address` is an unspecified one (`0.0.0.0`, `::`, in any spelling): connecting to it reaches this host. */
export function isUnspecified (address: string): boolean {
  return unspecified(address)
}
