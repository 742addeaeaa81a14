#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 600), one after another, from the seeds in
# fuzz/seeds (new inputs go to fuzz/corpus, crashes to fuzz/artifacts). Needs a nightly
# toolchain and cargo-fuzz: rustup toolchain install nightly; cargo install cargo-fuzz.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-600}"
for target in read_csv read_workbook mapping normalise; do
  mkdir -p "corpus/$target"
  max_len=4096
  [ "$target" = read_workbook ] && max_len=131072
  [ "$target" = read_csv ] && max_len=65536
  cargo +nightly fuzz run -O "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$secs" -max_len="$max_len" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 2>&1 | tee "run-$target.log" | grep -E "^#[0-9]+.*(DONE|pulse)|ERROR|SUMMARY|stat::" || true
done
