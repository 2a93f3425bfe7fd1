#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600) each, one after another.
# Needs cargo-fuzz (`cargo install cargo-fuzz`); on a stable toolchain,
# RUSTC_BOOTSTRAP=1 lets it use the sanitizer flags it needs.
# Seeds: the test fixtures (libFuzzer reads directories recursively) and the
# shipped configurations; fuzz/seeds holds the small ones for dates and URLs. New inputs
# go to fuzz/corpus/<target> (not committed); crashes to fuzz/artifacts/<target>:
# keep each as a regression test (tests/fixtures/fuzz/) before fixing it.
# An input that takes more than TIMEOUT seconds (default 10) or more than
# RSS_MB of memory (default 1024) counts as a crash: work and memory must
# stay linear in the input. fuzz/seeds/hostile holds HTML built to make a
# parse superlinear (written by the generators in tests/it/hostile.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-600}"
timeout="${TIMEOUT:-10}"
rss_mb="${RSS_MB:-1024}"
export RUSTC_BOOTSTRAP="${RUSTC_BOOTSTRAP:-1}"
declare -A seeds=(
    [feed]="tests/fixtures fuzz/seeds/hostile"
    [article]="tests/fixtures fuzz/seeds/hostile"
    [dedup]="fuzz/seeds/dedup"
    [date]="fuzz/seeds/date"
    [config]="config config/examples"
)
for target in feed article dedup date config; do
    mkdir -p "fuzz/corpus/$target"
    echo "== $target: ${secs}s"
    # shellcheck disable=SC2086 # the seed directories are a list
    cargo fuzz run "$target" "fuzz/corpus/$target" ${seeds[$target]} -- \
        -max_total_time="$secs" -timeout="$timeout" -rss_limit_mb="$rss_mb" -max_len=262144 -print_final_stats=1
done
