#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600) each, one after another.
# Needs cargo-fuzz (`cargo install cargo-fuzz`); on a stable toolchain,
# RUSTC_BOOTSTRAP=1 lets it use the sanitizer flags it needs.
# New inputs go to fuzz/corpus/<target> (not committed); crashes to
# fuzz/artifacts/<target>: keep each as a regression test before fixing.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-600}"
export RUSTC_BOOTSTRAP="${RUSTC_BOOTSTRAP:-1}"
for target in feed article dedup date config; do
    mkdir -p "fuzz/corpus/$target"
    echo "== $target: ${secs}s"
    cargo fuzz run "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -max_len=262144 -print_final_stats=1
done
