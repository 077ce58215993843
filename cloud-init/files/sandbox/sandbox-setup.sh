#!/bin/bash
# Sandbox host: no root Docker daemon; per researcher: subordinate ids, a rootless Docker
# started with the user's manager (linger), its data under {{dataMount}}/home/NAME, and the
# user's slice limited to the configured CPU and memory. Safe to re-run.
set -euo pipefail
data="{{dataMount}}"
# The docker command: in docker.io on Debian 12; its own package, docker-cli, from Debian 13 on
# (a Recommends of docker.io, which base.yaml's no-recommends skips). The name is not in
# Debian 12, so it cannot be in the packages list.
if ! command -v docker >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q docker-cli
fi
systemctl disable --now docker.service docker.socket containerd.service 2>/dev/null || true
install -d -m 0755 "$data/home"
next=100000
while read -r name cpu mem; do
    [[ -n "$name" ]] || continue
    uid="$(id -u "$name")"
    home="$(getent passwd "$name" | cut -d: -f6)"
    if ! grep -q "^$name:" /etc/subuid 2>/dev/null; then
        start=$((100000 + (uid - 1000) * 65536))
        (( start < next )) && start=$next
        usermod --add-subuids "$start-$((start + 65535))" --add-subgids "$start-$((start + 65535))" "$name"
        next=$((start + 65536))
    fi
    install -d -o "$name" -g "$name" -m 0750 "$data/home/$name" "$data/home/$name/docker"
    ln -sfn "$data/home/$name" "$home/data"
    install -d -o "$name" -g "$name" "$home/.config" "$home/.config/docker" \
        "$home/.config/systemd" "$home/.config/systemd/user" \
        "$home/.config/systemd/user/default.target.wants" "$home/.docker"
    printf '{ "data-root": "%s" }\n' "$data/home/$name/docker" >"$home/.config/docker/daemon.json"
    ln -sfn /etc/systemd/user/docker.service \
        "$home/.config/systemd/user/default.target.wants/docker.service"
    # A docker CLI context, so `docker` finds the rootless daemon in any shell, even over ssh.
    meta="$home/.docker/contexts/meta/$(printf rootless | sha256sum | cut -d' ' -f1)"
    install -d "$meta"
    printf '{"Name":"rootless","Metadata":{},"Endpoints":{"docker":{"Host":"unix:///run/user/%s/docker.sock","SkipTLSVerify":false}}}\n' \
        "$uid" >"$meta/meta.json"
    printf '{ "currentContext": "rootless" }\n' >"$home/.docker/config.json"
    chown -R "$name:$name" "$home/.config" "$home/.docker" "$home/data"
    install -d "/etc/systemd/system/user-$uid.slice.d"
    printf '[Slice]\nCPUQuota=%s%%\nMemoryMax=%sM\n' "$cpu" "$mem" \
        >"/etc/systemd/system/user-$uid.slice.d/50-ouvroir-limits.conf"
done </etc/ouvroir/researchers
systemctl daemon-reload
while read -r name _; do
    [[ -n "$name" ]] || continue
    loginctl enable-linger "$name"
    uid="$(id -u "$name")"
    systemctl start "user@$uid.service"
    runuser -u "$name" -- env XDG_RUNTIME_DIR="/run/user/$uid" systemctl --user start docker.service ||
        echo "ouvroir: rootless Docker of $name did not start" >&2
done </etc/ouvroir/researchers
