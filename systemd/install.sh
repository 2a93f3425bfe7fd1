#!/usr/bin/env bash
# Installs newscrawl as a service (Debian, or any distribution with systemd):
#
#   cargo build --release
#   sudo systemd/install.sh       # binary, newscrawl user and group, /etc/newscrawl, units
#   sudo systemctl enable --now newscrawl            # the daemon, or:
#   sudo systemctl enable --now newscrawl-once.timer # a run every five minutes
#
# What it puts where:
#   /usr/local/bin/newscrawl
#   /usr/local/share/{bash-completion,zsh,fish}/…, /usr/local/share/man/man1/newscrawl*.1
#   /usr/lib/sysusers.d/newscrawl.conf   the newscrawl user and group (created now)
#   /etc/newscrawl/                      configuration, sources.d/, templates/ (kept
#                                        when present: an upgrade keeps your sources),
#                                        database = /var/lib/newscrawl/newscrawl.db
#   /var/lib/newscrawl/                  the state directory, newscrawl:newscrawl 2770
#   /etc/systemd/system/                 newscrawl.service, newscrawl-once.{service,timer}
#
# DESTDIR=/some/root installs under that root instead and leaves the running
# system alone (no daemon-reload); NEWSCRAWL_BIN names another binary. CI
# runs it so (systemd/verify.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
root="${DESTDIR:-}"
bin="${NEWSCRAWL_BIN:-target/release/newscrawl}"
[ -x "$bin" ] || { echo "no $bin: run cargo build --release first" >&2; exit 1; }

install -D -m 755 "$bin" "$root/usr/local/bin/newscrawl"
# Shell completions and manual pages, generated from the command line.
install -d "$root/usr/local/share/bash-completion/completions" "$root/usr/local/share/zsh/site-functions" \
    "$root/usr/local/share/fish/vendor_completions.d" "$root/usr/local/share/man/man1"
"$bin" completions bash > "$root/usr/local/share/bash-completion/completions/newscrawl"
"$bin" completions zsh > "$root/usr/local/share/zsh/site-functions/_newscrawl"
"$bin" completions fish > "$root/usr/local/share/fish/vendor_completions.d/newscrawl.fish"
"$bin" man --dir "$root/usr/local/share/man/man1"
install -D -m 644 systemd/newscrawl.sysusers "$root/usr/lib/sysusers.d/newscrawl.conf"
install -d "$root/etc"
systemd-sysusers --root="${root:-/}" "$root/usr/lib/sysusers.d/newscrawl.conf"

conf="$root/etc/newscrawl"
install -d -m 755 "$conf/sources.d" "$conf/templates"
if [ ! -e "$conf/newscrawl.toml" ]; then
    sed 's|^database = .*|database = "/var/lib/newscrawl/newscrawl.db"|' config/newscrawl.toml \
        > "$conf/newscrawl.toml"
    chmod 644 "$conf/newscrawl.toml"
    install -m 644 config/sources.d/*.toml "$conf/sources.d/"
    install -m 644 config/templates/*.j2 "$conf/templates/"
else
    echo "kept $conf/newscrawl.toml"
fi

# The state directory as StateDirectory= and StateDirectoryMode= make it, made
# now so that readers can be added before the first start: the group may read
# and write (SQLite's -shm file), new files take the group (setgid).
uid="$(awk -F: '$1 == "newscrawl" { print $3 }' "${root:-}/etc/passwd")"
gid="$(awk -F: '$1 == "newscrawl" { print $3 }' "${root:-}/etc/group")"
install -d -m 2770 "$root/var/lib/newscrawl"
chown "$uid:$gid" "$root/var/lib/newscrawl"

install -D -m 644 -t "$root/etc/systemd/system" \
    systemd/newscrawl.service systemd/newscrawl-once.service systemd/newscrawl-once.timer
if [ -z "$root" ]; then
    systemctl daemon-reload
fi
echo "installed; next: systemctl enable --now newscrawl (or newscrawl-once.timer)"
