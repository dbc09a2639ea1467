#!/bin/sh
# portcheck fix --format gcp: run fixrun01 of demo (Acme Cluster), started 2026-01-15T10:00:00.000Z
# 3 rules on 3 hosts, each allowing one blocked flow, from its source's address to its target's only; 5 to investigate, 4 for other formats (listed at the end).
# Set NETWORK to the hosts' VPC network, then run with gcloud logged in to their project.
# Each rule gets priority $PRIORITY (default 900): it must be below the priority of the rule that denies the flow (a deny wins a tie).
set -eu
: "${NETWORK:?set NETWORK to the VPC network of the hosts}"
PRIORITY=${PRIORITY:-900}

# == db1 (198.18.1.14): 1 rule ==
gcloud compute firewall-rules create portcheck-app1-db1-tcp-15432 --network="$NETWORK" --direction=INGRESS --action=ALLOW --rules=tcp:15432 --source-ranges=198.18.1.12/32 --destination-ranges=198.18.1.14/32 --priority="$PRIORITY" --description='portcheck DEMO-03 app1->db1 tcp/15432: Application queries the database'

# == app2 (198.18.1.13): 1 rule ==
gcloud compute firewall-rules create portcheck-app1-app2-udp-17946 --network="$NETWORK" --direction=INGRESS --action=ALLOW --rules=udp:17946 --source-ranges=198.18.1.12/32 --destination-ranges=198.18.1.13/32 --priority="$PRIORITY" --description='portcheck DEMO-04 app1->app2 udp/17946: Application cluster gossip (mesh)'

# == db2 (198.18.1.15): 1 rule ==
gcloud compute firewall-rules create portcheck-app2-db2-udp-18125 --network="$NETWORK" --direction=INGRESS --action=ALLOW --rules=udp:18125 --source-ranges=198.18.1.13/32 --destination-ranges=198.18.1.15/32 --priority="$PRIORITY" --description='portcheck DEMO-06 app2->db2 udp/18125: Application metrics to the collector on the database hosts'

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
