import { rulesByHost, type FixPlan, type FixRule } from './fix-plan.js'
import { oneLine, prefix, ruleLabel } from './fix-text.js'

/** One address range of an ingress permission. */
type Range = { CidrIp: string, Description: string } | { CidrIpv6: string, Description: string }

/** One permission of `aws ec2 authorize-security-group-ingress`: a protocol and port range, from some sources. */
interface IpPermission {
  IpProtocol: 'tcp' | 'udp'
  FromPort: number
  ToPort: number
  IpRanges?: Array<{ CidrIp: string, Description: string }>
  Ipv6Ranges?: Array<{ CidrIpv6: string, Description: string }>
}

/** The input of `aws ec2 authorize-security-group-ingress --cli-input-json`, for one target host. */
export interface AwsIngress {
  GroupId: string
  IpPermissions: IpPermission[]
}

/** Security-group descriptions take letters, digits, spaces and `._-:/()#,@[]+=&;{}!$*`, up to 255 characters. */
function description (r: FixRule): string {
  const purpose = r.check.purpose !== null ? `: ${oneLine(r.check.purpose)}` : ''
  return `${ruleLabel(r, 255).replace('->', ' to ')}${purpose}`.replace(/[^A-Za-z0-9 ._\-:/()#,@[\]+=&;{}!$*]/g, ' ').slice(0, 255)
}

/** The placeholder for a host's security group, to be replaced before use: the CLI refuses it. */
export function groupPlaceholder (host: string): string {
  return `<security group of ${host}>`
}

function ingress (host: string, rules: readonly FixRule[]): AwsIngress {
  const permissions = new Map<string, IpPermission>()
  for (const r of rules) {
    const to = r.check.portEnd ?? r.check.port
    const key = `${r.check.protocol}/${r.check.port}/${to}`
    let p = permissions.get(key)
    if (p === undefined) { p = { IpProtocol: r.check.protocol, FromPort: r.check.port, ToPort: to }; permissions.set(key, p) }
    const range: Range = r.family === 6 ? { CidrIpv6: prefix(r.source ?? '', 6), Description: description(r) } : { CidrIp: prefix(r.source ?? '', 4), Description: description(r) }
    if ('CidrIpv6' in range) (p.Ipv6Ranges ??= []).push(range)
    else (p.IpRanges ??= []).push(range)
  }
  return { GroupId: groupPlaceholder(host), IpPermissions: [...permissions.values()] }
}

/**
 * Security-group ingress rules, as JSON for `aws ec2 authorize-security-group-ingress
 * --cli-input-json`: one document per target host (its security group), each source as a /32
 * (or /128). With `--host`, that host's document alone; otherwise a list of them. `GroupId` is a
 * placeholder to replace with the host's security group id.
 */
export function formatAws (plan: FixPlan): string {
  const docs = [...rulesByHost(plan.rules)].map(([host, rules]) => ingress(host, rules))
  return JSON.stringify(plan.host !== null ? docs[0] ?? { GroupId: groupPlaceholder(plan.host), IpPermissions: [] } : docs, null, 2) + '\n'
}
