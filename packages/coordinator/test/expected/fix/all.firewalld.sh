#!/bin/sh
# portcheck fix --format firewalld: run fixrun01 of demo (Acme Cluster), started 2026-01-15T10:00:00.000Z
# 8 rules on 4 hosts, each accepting one blocked flow, from (or to) the address of its other end only; 3 to investigate, 1 for other formats (listed at the end).
# Run on the host each section names, as root. Permanent rich rules (they survive a reboot), then a reload applies them.
# Inbound: the zone whose rules dropped the flow if known, else the default zone; outbound: policy portcheck-fix-out (HOST to ANY).
# Priority -100 puts each rule before the zone's deny rules. Running the script again changes nothing (ALREADY_ENABLED).
set -e

# == lb1 (198.18.1.11): 1 rule ==
firewall-cmd --permanent --new-policy=portcheck-fix-out 2>/dev/null || true  # exists after a first run
firewall-cmd --permanent --policy=portcheck-fix-out --add-ingress-zone=HOST
firewall-cmd --permanent --policy=portcheck-fix-out --add-egress-zone=ANY
# portcheck DEMO-02 lb1->app2 tcp/18080
firewall-cmd --permanent --policy=portcheck-fix-out --add-rich-rule='rule family="ipv4" priority="-100" destination address="198.18.1.13" port port="18080" protocol="tcp" accept'
firewall-cmd --reload

# == db1 (198.18.1.14): 3 rules ==
# portcheck DEMO-03 app1->db1 tcp/15432
firewall-cmd --permanent --add-rich-rule='rule family="ipv4" priority="-100" source address="198.18.1.12" port port="15432" protocol="tcp" accept'
# portcheck DEMO-03 app2->db1 tcp/15432
firewall-cmd --permanent --add-rich-rule='rule family="ipv4" priority="-100" source address="198.18.1.13" port port="15432" protocol="tcp" accept'
# portcheck DEMO-03 app3->db1 tcp/15432
firewall-cmd --permanent --add-rich-rule='rule family="ipv6" priority="-100" source address="2001:db8::13" port port="15432" protocol="tcp" accept'
firewall-cmd --reload

# == db2 (198.18.1.15): 2 rules ==
# portcheck DEMO-03 app1->db2 tcp/15432
firewall-cmd --permanent --zone=internal --add-rich-rule='rule family="ipv4" priority="-100" source address="198.18.1.12" port port="15432" protocol="tcp" accept'
# portcheck DEMO-06 app2->db2 udp/18125
firewall-cmd --permanent --add-rich-rule='rule family="ipv4" priority="-100" source address="198.18.1.13" port port="18125" protocol="udp" accept'
firewall-cmd --reload

# == db3 (db3.lab.internal): 2 rules ==
# portcheck DEMO-03 app1->db3 tcp/15432
firewall-cmd --permanent --add-rich-rule='rule family="ipv4" priority="-100" source address="198.18.1.12" port port="15432" protocol="tcp" accept'
# portcheck DEMO-05 db2->db3 tcp/15433
firewall-cmd --permanent --add-rich-rule='rule family="ipv4" priority="-100" source address="198.18.1.15" port port="15433" protocol="tcp" accept'
firewall-cmd --reload

# To investigate (no rule written):
#   db4: agent never joined, 18 checks: start the agent on db4, then re-run
#   db1->db2 tcp/15433 [DEMO-05]: blocked (intercepted); the nonce arrived at db2 on tcp/15432 instead of db2 on tcp/15433: traffic is redirected; to fix: find what answers tcp 15433 on the way to 198.18.1.15 (a DNAT, a proxy, a load balancer) and let the traffic reach db2 itself
#   db2->db1 udp/15405 [DEMO-05]: inconclusive (port-in-use); another process holds udp/15405 on db1; stop it, or check this port once it is free; to fix: stop what holds udp 15405 on db1, then re-run
# Dropped elsewhere, fixed by another format:
#   app1->app2 udp/17946 [DEMO-04]: dropped in the network between app1 and app2, not on either host: portcheck fix --format aws|azure|gcp|csv
