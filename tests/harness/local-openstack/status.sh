#!/usr/bin/env bash
# Prints each service of the local OpenStack (running or not), its memory, and whether the
# demo cloud answers. Exit status 0 only if every service runs.
# Usage: status.sh
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

down=0
for svc in "${LOS_SERVICES[@]}"; do
    if los_running "$svc"; then
        printf '  %-28s running\n' "$svc"
    else
        printf '  %-28s STOPPED\n' "$svc"
        down=$((down + 1))
    fi
done
echo "memory: $(los_mem_mib) MiB PSS"
if [[ -e "$LOS_STATE/provisioned" ]]; then
    echo "provisioned: yes ($LOS_CLOUDS, OS_CLOUD=$LOS_CLOUD)"
else
    echo "provisioned: no"
fi
if ((down > 0)); then
    echo "$down service(s) stopped: run tests/harness/local-openstack/up.sh"
    exit 1
fi
