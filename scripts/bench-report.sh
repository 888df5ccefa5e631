#!/usr/bin/env bash
# Runs the whole benchmark suite (criterion) and writes
# book/src/performance.md from its medians: the paper's four numbers beside
# KPL's, every comparison against native code measured in the same run, and
# each target met or missed. Takes about 10 minutes on a 2-core machine.
# Not part of CI: the machines are shared and noisy, so numbers are taken
# deliberately, not on every push.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -p kplc --locked "$@"
cargo run -q --release -p kplc --example perf_report -- target/criterion book/src/performance.md
# The hostile corpus's growth table in the Limits chapter (a shape that grows
# faster than the chapter's goal is shown in bold and listed).
cargo run -q --release -p kplc --example hostile_report -- target/criterion book/src/reference/limits.md
