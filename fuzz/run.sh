#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600) each, one after another.
# Needs cargo-fuzz (`cargo install cargo-fuzz`); on a stable toolchain,
# RUSTC_BOOTSTRAP=1 lets it use the sanitizer flags it needs.
# Seeds: the test fixtures (libFuzzer reads directories recursively) and the
# shipped configurations; fuzz/seeds holds the small ones for dates and URLs. New inputs
# go to fuzz/corpus/<target> (not committed); crashes to fuzz/artifacts/<target>:
# keep each as a regression test (tests/fixtures/fuzz/) before fixing it.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-600}"
export RUSTC_BOOTSTRAP="${RUSTC_BOOTSTRAP:-1}"
declare -A seeds=(
    [feed]="tests/fixtures"
    [article]="tests/fixtures"
    [dedup]="fuzz/seeds/dedup"
    [date]="fuzz/seeds/date"
    [config]="config config/examples"
)
for target in feed article dedup date config; do
    mkdir -p "fuzz/corpus/$target"
    echo "== $target: ${secs}s"
    # shellcheck disable=SC2086 # the seed directories are a list
    cargo fuzz run "$target" "fuzz/corpus/$target" ${seeds[$target]} -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -max_len=262144 -print_final_stats=1
done
