#!/usr/bin/env bash
# Checks the unit files with systemd-analyze, where the tool exists. The units
# name /usr/local/bin/newscrawl; the check points them at the binary just built.
set -euo pipefail
cd "$(dirname "$0")/.."
# The bounds and isolation the README promises, in both service units.
for unit in systemd/newscrawl.service systemd/newscrawl-once.service; do
    for want in MemoryMax= TasksMax= LimitNOFILE= 'IPAddressDeny=169.254.0.0/16 fe80::/10' PrivateIPC=yes \
        PrivateMounts=yes NoNewPrivileges=yes ProtectSystem=strict User=newscrawl Group=newscrawl \
        StateDirectory=newscrawl StateDirectoryMode=2770 UMask=0007; do
        grep -q "^$want" "$unit" || { echo "$unit: missing $want"; exit 1; }
    done
done
# One install recipe: the lines in each unit's header are the README's.
for unit in systemd/newscrawl.service systemd/newscrawl-once.service; do
    while IFS= read -r line; do
        grep -qxF -- "$line" README.md || { echo "$unit: recipe line not in the README: $line"; exit 1; }
    done < <(sed -n 's/^#   //p' "$unit")
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

# Exposure as the README reports it (systemd-analyze security, 0 best, 10
# worst): 1.1 for both services; fail above.
for unit in "$tmp"/*.service; do
    systemd-analyze security --offline=yes --threshold=11 "$unit" | tail -1
done

# The install recipe, into a scratch root: the user and group, the state
# directory, the configuration pointing at it, and that configuration loads.
if command -v systemd-sysusers >/dev/null 2>&1; then
    root="$tmp/root"
    DESTDIR="$root" NEWSCRAWL_BIN="$bin" bash systemd/install.sh >/dev/null
    grep -q '^newscrawl:x:[0-9]*:[0-9]*:.*:/var/lib/newscrawl:/usr/sbin/nologin$' "$root/etc/passwd" \
        || { echo "install.sh: no newscrawl user"; exit 1; }
    grep -q '^newscrawl:x:' "$root/etc/group" || { echo "install.sh: no newscrawl group"; exit 1; }
    [ "$(stat -c %a "$root/var/lib/newscrawl")" = 2770 ] || { echo "install.sh: state directory mode"; exit 1; }
    grep -qx 'database = "/var/lib/newscrawl/newscrawl.db"' "$root/etc/newscrawl/newscrawl.toml" \
        || { echo "install.sh: database not in the state directory"; exit 1; }
    "$root/usr/local/bin/newscrawl" --config "$root/etc/newscrawl/newscrawl.toml" sources export-opml >/dev/null
    [ -s "$root/usr/local/share/bash-completion/completions/newscrawl" ] && [ -s "$root/usr/local/share/man/man1/newscrawl-crawl.1" ] \
        || { echo "install.sh: no completions or manual pages"; exit 1; }
    for u in newscrawl.service newscrawl-once.service newscrawl-once.timer; do
        cmp -s "systemd/$u" "$root/etc/systemd/system/$u" || { echo "install.sh: $u not installed"; exit 1; }
    done
    echo "install recipe checked in a scratch root"
else
    echo "systemd-sysusers not found: install recipe not checked"
fi
