#!/bin/bash
# ExecStartPost of basex.service: the unit counts as started only once BaseX accepts connections
# on every port of BASEX_READY_PORTS (/etc/ouvroir/basex.env; 1984 when unset). So a
# `systemctl restart basex` (day-2 password rotation, a restore) returns when clients can
# connect, not when Java has merely been forked. TimeoutStartSec bounds the wait; if Java exits
# meanwhile, systemd fails the unit and stops this script.
set -euo pipefail
for port in ${BASEX_READY_PORTS:-1984}; do
    until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        sleep 1
    done
done
