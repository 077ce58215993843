#!/bin/bash
# ouvroir-enable UNIT...: enables the units not enabled yet, without a daemon-reload (cloud-init
# reloads once before the role's scripts). A package usually enabled its own service already,
# and `systemctl enable` of a unit with an init script runs update-rc.d: skipped when there is
# nothing to do.
set -euo pipefail
todo=()
for unit in "$@"; do
    systemctl is-enabled --quiet "$unit" 2>/dev/null || todo+=("$unit")
done
if [[ ${#todo[@]} -gt 0 ]]; then
    systemctl enable --no-reload "${todo[@]}"
fi
