#!/bin/sh
# portcheck fix --format ufw: run fixrun01 of demo (Acme Cluster), started 2026-01-15T10:00:00.000Z
# 8 rules on 4 hosts, each accepting one blocked flow, from (or to) the address of its other end only; 3 to investigate, 1 for other formats (listed at the end).
# Run on the host each section names, as root (ufw 0.36 or later for prepend). ufw keeps its rules across reboots;
# `prepend` puts each one before the existing rules, so no deny rule shadows it. Check them with `ufw status numbered`.
set -e

# == lb1 (198.18.1.11): 1 rule ==
ufw prepend allow out proto tcp to 198.18.1.13 port 18080 comment 'portcheck DEMO-02 lb1->app2 tcp/18080'

# == db1 (198.18.1.14): 3 rules ==
ufw prepend allow in proto tcp from 198.18.1.12 to any port 15432 comment 'portcheck DEMO-03 app1->db1 tcp/15432'
ufw prepend allow in proto tcp from 198.18.1.13 to any port 15432 comment 'portcheck DEMO-03 app2->db1 tcp/15432'
ufw prepend allow in proto tcp from 2001:db8::13 to any port 15432 comment 'portcheck DEMO-03 app3->db1 tcp/15432'

# == db2 (198.18.1.15): 2 rules ==
ufw prepend allow in proto tcp from 198.18.1.12 to any port 15432 comment 'portcheck DEMO-03 app1->db2 tcp/15432'
ufw prepend allow in proto udp from 198.18.1.13 to any port 18125 comment 'portcheck DEMO-06 app2->db2 udp/18125'

# == db3 (db3.lab.internal): 2 rules ==
ufw prepend allow in proto tcp from 198.18.1.12 to any port 15432 comment 'portcheck DEMO-03 app1->db3 tcp/15432'
ufw prepend allow in proto tcp from 198.18.1.15 to any port 15433 comment 'portcheck DEMO-05 db2->db3 tcp/15433'

# To investigate (no rule written):
#   db4: agent never joined, 18 checks: start the agent on db4, then re-run
#   db1->db2 tcp/15433 [DEMO-05]: blocked (intercepted); the nonce arrived at db2 on tcp/15432 instead of db2 on tcp/15433: traffic is redirected; to fix: find what answers tcp 15433 on the way to 198.18.1.15 (a DNAT, a proxy, a load balancer) and let the traffic reach db2 itself
#   db2->db1 udp/15405 [DEMO-05]: inconclusive (port-in-use); another process holds udp/15405 on db1; stop it, or check this port once it is free; to fix: stop what holds udp 15405 on db1, then re-run
# Dropped elsewhere, fixed by another format:
#   app1->app2 udp/17946 [DEMO-04]: dropped in the network between app1 and app2, not on either host: portcheck fix --format aws|azure|gcp|csv
