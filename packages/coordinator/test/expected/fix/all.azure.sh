#!/bin/sh
# portcheck fix --format azure: run fixrun01 of demo (Acme Cluster), started 2026-01-15T10:00:00.000Z
# 3 rules on 3 hosts, each allowing one blocked flow, from its source's address to its target's only; 5 to investigate, 4 for other formats (listed at the end).
# Set RESOURCE_GROUP and, for each target host, NSG_<host> (its network security group), then run with the az CLI logged in.
# Rules of one NSG are numbered from $PRIORITY (default 900): each must be below the priority of the rule that denies the flow.
set -eu
: "${RESOURCE_GROUP:?set RESOURCE_GROUP to the resource group of the network security groups}"
: "${NSG_db1:?set NSG_db1 to the network security group of db1}"
: "${NSG_app2:?set NSG_app2 to the network security group of app2}"
: "${NSG_db2:?set NSG_db2 to the network security group of db2}"
PRIORITY=${PRIORITY:-900}

# == db1 (198.18.1.14): 1 rule ==
az network nsg rule create --resource-group "$RESOURCE_GROUP" --nsg-name "$NSG_db1" --name portcheck-app1-db1-tcp-15432 --priority $((PRIORITY + 0)) --direction Inbound --access Allow --protocol Tcp --source-address-prefixes 198.18.1.12/32 --source-port-ranges '*' --destination-address-prefixes 198.18.1.14/32 --destination-port-ranges 15432 --description 'portcheck DEMO-03 app1->db1 tcp/15432: Application queries the database'

# == app2 (198.18.1.13): 1 rule ==
az network nsg rule create --resource-group "$RESOURCE_GROUP" --nsg-name "$NSG_app2" --name portcheck-app1-app2-udp-17946 --priority $((PRIORITY + 0)) --direction Inbound --access Allow --protocol Udp --source-address-prefixes 198.18.1.12/32 --source-port-ranges '*' --destination-address-prefixes 198.18.1.13/32 --destination-port-ranges 17946 --description 'portcheck DEMO-04 app1->app2 udp/17946: Application cluster gossip (mesh)'

# == db2 (198.18.1.15): 1 rule ==
az network nsg rule create --resource-group "$RESOURCE_GROUP" --nsg-name "$NSG_db2" --name portcheck-app2-db2-udp-18125 --priority $((PRIORITY + 0)) --direction Inbound --access Allow --protocol Udp --source-address-prefixes 198.18.1.13/32 --source-port-ranges '*' --destination-address-prefixes 198.18.1.15/32 --destination-port-ranges 18125 --description 'portcheck DEMO-06 app2->db2 udp/18125: Application metrics to the collector on the database hosts'

# To investigate (no rule written):
#   db4: agent never joined, 18 checks: start the agent on db4, then re-run
#   app1->db3 tcp/15432 [DEMO-03]: blocked (timeout); no answer to 6 attempt(s): TCP 15432 is silently dropped between app1 and db3 (this path lost 0% of 24 attempts); to fix: allow tcp 15432 from 198.18.1.12 to db3.lab.internal (inbound on db3, and on any firewall between); no rule written: the report has no IP address for db3 (db3.lab.internal), and rules match addresses only. Put its address in the inventory and re-run, or write the rule by hand
#   app3->db1 tcp/15432 [DEMO-03]: blocked (timeout); no answer to 6 attempt(s): TCP 15432 is silently dropped between app3 and db1 (this path lost 0% of 24 attempts); to fix: allow tcp 15432 from 2001:db8::13 to 198.18.1.14 (inbound on db1, and on any firewall between); no rule written: 2001:db8::13 and 198.18.1.14 are of different IP versions
#   db1->db2 tcp/15433 [DEMO-05]: blocked (intercepted); the nonce arrived at db2 on tcp/15432 instead of db2 on tcp/15433: traffic is redirected; to fix: find what answers tcp 15433 on the way to 198.18.1.15 (a DNAT, a proxy, a load balancer) and let the traffic reach db2 itself
#   db2->db1 udp/15405 [DEMO-05]: inconclusive (port-in-use); another process holds udp/15405 on db1; stop it, or check this port once it is free; to fix: stop what holds udp 15405 on db1, then re-run
# Dropped elsewhere, fixed by another format:
#   lb1->app2 tcp/18080 [DEMO-02]: dropped by lb1's own firewall (outbound): portcheck fix --format nftables|iptables|firewalld|ufw --host lb1
#   app1->db2 tcp/15432 [DEMO-03]: dropped by db2's own firewall (inbound): portcheck fix --format nftables|iptables|firewalld|ufw --host db2
#   app2->db1 tcp/15432 [DEMO-03]: dropped by db1's own firewall (inbound): portcheck fix --format nftables|iptables|firewalld|ufw --host db1
#   db2->db3 tcp/15433 [DEMO-05]: dropped by db3's own firewall (inbound): portcheck fix --format nftables|iptables|firewalld|ufw --host db3
