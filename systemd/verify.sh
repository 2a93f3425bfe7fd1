#!/usr/bin/env bash
# Checks the unit files with systemd-analyze, where the tool exists. The units
# name /usr/local/bin/newscrawl; the check points them at the binary just built.
set -euo pipefail
cd "$(dirname "$0")/.."
# The bounds and isolation the README promises, in both service units.
for unit in systemd/newscrawl.service systemd/newscrawl-once.service; do
    for want in MemoryMax= TasksMax= LimitNOFILE= 'IPAddressDeny=169.254.0.0/16 fe80::/10' PrivateIPC=yes \
        PrivateMounts=yes NoNewPrivileges=yes ProtectSystem=strict; do
        grep -q "^$want" "$unit" || { echo "$unit: missing $want"; exit 1; }
    done
done
if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "systemd-analyze not found: unit files not checked"
    exit 0
fi
bin="$(pwd)/target/debug/newscrawl"
[ -x "$bin" ] || cargo build --locked --quiet
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for unit in systemd/*.service systemd/*.timer; do
    sed "s|/usr/local/bin/newscrawl|$bin|g" "$unit" > "$tmp/$(basename "$unit")"
done
# --man=no: no man pages here. SYSTEMD_LOG_LEVEL keeps the output to real findings.
out="$(cd "$tmp" && systemd-analyze verify --man=no ./*.service ./*.timer 2>&1 || true)"
# Findings about the host (no /etc/newscrawl, no running manager) are not the units' fault.
real="$(printf '%s\n' "$out" | grep -v -e '^$' -e 'Failed to prepare filesystem' -e 'System has not been booted with systemd' -e 'ConfigurationDirectory' || true)"
if [ -n "$real" ]; then
    printf 'systemd-analyze verify:\n%s\n' "$real"
    exit 1
fi
echo "systemd units verified"
