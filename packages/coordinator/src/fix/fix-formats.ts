/**
 * The formats of `portcheck fix`, in a file of their own free of Node imports: the dashboard
 * (through the API's types) names them too.
 */
export type FixFormat = 'nftables' | 'iptables' | 'firewalld' | 'ufw' | 'aws' | 'azure' | 'gcp' | 'csv'

/** Every format, host firewalls first, then what filters between hosts. */
export const FIX_FORMAT_NAMES: readonly FixFormat[] = ['nftables', 'iptables', 'firewalld', 'ufw', 'aws', 'azure', 'gcp', 'csv']
