#!/usr/bin/env bash
# Runs every test of the project on a fresh machine or a developer's: it
# installs what it needs first (idempotently). This is the README's test
# command and what CI runs (.ci/run).
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/.."

# Each step prints the time since the start, so a slow CI run shows where
# its time went (the budget is 40 minutes in all).
start_s=$SECONDS
step() { printf '\n==> [%dm%02ds] %s\n' $(((SECONDS - start_s) / 60)) $(((SECONDS - start_s) % 60)) "$*"; }

step "toolchain"
if ! command -v cargo >/dev/null; then
    echo "cargo is required (https://rustup.rs)" >&2
    exit 2
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true
cargo --version

step "build tools of the red-team oracle (unicorn-engine: cmake, libclang for bindgen)"
# runtime-kmod/redteam's tests build unicorn-engine (a GPL-2.0 dev-dependency
# of that test crate only): its C emulator needs cmake, bindgen needs libclang
# and clang's own headers.
if ! command -v cmake >/dev/null || ! ls /usr/lib/llvm-*/lib/libclang*.so* 2>/dev/null | grep -qv clang-cpp ||
    ! ls /usr/lib/llvm-*/lib/clang/*/include/stdbool.h >/dev/null 2>&1; then
    if command -v apt-get >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 \
            cmake libclang1-14 libclang-common-14-dev >/dev/null ||
            { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
                cmake libclang1-14 libclang-common-14-dev >/dev/null; }
    else
        echo "install cmake and libclang (for runtime-kmod/redteam's unicorn-engine)" >&2
        exit 2
    fi
fi

step "format"
cargo fmt --all -- --check

step "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "tests (unit, diagnostics snapshots, book examples, properties)"
# CI=true makes insta fail on a missing or changed snapshot instead of writing one.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
CI=true cargo test --workspace --locked 2>&1 | tee "$log"
passed=$(grep -oE '^test result: .* ([0-9]+) passed' "$log" | grep -oE '[0-9]+ passed' | awk '{s += $1} END {print s + 0}')
failed=$(grep -oE '[0-9]+ failed;' "$log" | awk '{s += $1} END {print s + 0}')

step "book: mdbook build (a missing page or a broken link fails)"
# Pinned like every other tool; installed once, without the serve/watch parts.
MDBOOK_VERSION=0.4.52
if ! mdbook --version 2>/dev/null | grep -qx "mdbook v${MDBOOK_VERSION}"; then
    cargo install mdbook --locked --version "$MDBOOK_VERSION" \
        --no-default-features --features search --quiet
fi
# book.toml sets create-missing = false, so a page SUMMARY.md names but the
# tree lacks is an error; compiler/tests/book.rs (run above) checks that every
# link and anchor resolves and every page is in SUMMARY.md. Every warning
# mdbook prints fails the step too.
book_log="$(mktemp)"
mdbook build book --dest-dir "$PWD/target/book" 2>&1 | tee "$book_log"
if grep -E '\b(WARN|ERROR)\b' "$book_log" >/dev/null; then
    echo "mdbook reported a problem" >&2
    exit 1
fi
rm -f "$book_log"

step "fuzz targets build (instrumented); the front end and verifier mutants fuzzed for 20 s each"
# libFuzzer needs coverage feedback to keep the inputs that reach new code:
# built without it, it keeps a one-byte corpus and mutates nothing from the
# seeds. These are the instrumentation flags `cargo fuzz` passes (less its
# AddressSanitizer, which needs nightly); they work on stable rustc. The
# build is optimised with debug assertions and overflow checks, as `cargo
# fuzz` builds it, so that 20 s explore something. `--target` keeps the
# flags off build scripts and proc macros, and the fuzz crate (outside the
# workspace) has its own target directory, so the workspace build is not
# invalidated. It has its own Cargo.lock too, kept at the workspace's
# versions (the tidy test checks), and `--locked` holds the build to it.
fuzz_dir="$PWD/target/fuzz"
fuzz_bin="$fuzz_dir/x86_64-unknown-linux-gnu/release"
RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing" \
    CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS=true CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS=true \
    CARGO_TARGET_DIR="$fuzz_dir" cargo build --manifest-path fuzz/Cargo.toml --release \
    --target x86_64-unknown-linux-gnu --locked --quiet
corpus="$(mktemp -d)"
seeds="$(mktemp -d)"
log="$(mktemp)"
# parse_check starts from the hostile corpus at small sizes and every UI
# test. -timeout is the per-input time limit: any one input that takes the
# front end over 2 s aborts the run and fails this step (a crash or a panic
# does too; the input is left in target/fuzz/). The front end is linear, so
# the largest input (16 KiB) takes milliseconds, while the exponential
# recovery it once had took seconds from 16 nested unclosed blocks. The
# first and last progress lines show the corpus (`corp: inputs/bytes`) and
# the coverage (`cov:`) growing.
cargo run --quiet --locked -p kpl-testgen --example hostile_seeds -- "$seeds" 8192
"$fuzz_bin/parse_check" -max_total_time=20 -timeout=2 -rss_limit_mb=2048 -max_len=16384 \
    -artifact_prefix="$fuzz_dir/" "$corpus" "$seeds" compiler/tests/ui >"$log" 2>&1 ||
    { tail -n 30 "$log"; exit 1; }
grep -E '^#[0-9]+' "$log" | sed -n '1p;$p'
tail -n 1 "$log"
rm -rf "$corpus" "$seeds"
corpus="$(mktemp -d)"
"$fuzz_bin/verify_mutants" -max_total_time=20 -timeout=10 -max_len=256 \
    -artifact_prefix="$fuzz_dir/" "$corpus" >"$log" 2>&1 || { tail -n 30 "$log"; exit 1; }
grep -E '^#[0-9]+' "$log" | sed -n '1p;$p'
tail -n 1 "$log"
rm -rf "$corpus" "$log"

step "main job: check every example, run grayscale on the sample image"
cargo run --quiet -p kplc -- check examples/*/*.kpl
out="$(mktemp)"
cargo run --quiet -p kplc -- run examples/grayscale/grayscale.kpl --entry grayscale \
    --in examples/grayscale/sample.rgb --out-len 6144 --out "$out"
rm -f "$out"

step "kernel module: build, boot Debian's 6.1 and 6.12 kernels in QEMU, test inside (scripts/kernel-test.sh)"
# Its own pass/fail counts join the total; a failure there fails the run
# after the summary line. Needs root and Debian 12 (apt-get); elsewhere set
# KPL_SKIP_KERNEL=1 to leave it out.
kernel_failed=0
if [ -z "${KPL_SKIP_KERNEL:-}" ]; then
    klog="$(mktemp)"
    scripts/kernel-test.sh 2>&1 | tee "$klog" || kernel_failed=1
    kp=$(sed -n 's/^kernel: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$klog" | tail -n 1)
    kf=$(sed -n 's/^kernel: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$klog" | tail -n 1)
    rm -f "$klog"
    if [ -z "$kp" ]; then kp=0; kf=1; fi
    if [ "$kernel_failed" = 1 ] && [ "${kf:-0}" = 0 ]; then kf=1; fi
    passed=$((passed + kp))
    failed=$((failed + kf))
else
    echo "skipped (KPL_SKIP_KERNEL is set)"
fi

step "done"
echo "tests: ${passed} passed, ${failed} failed"
[ "$kernel_failed" = 0 ]
