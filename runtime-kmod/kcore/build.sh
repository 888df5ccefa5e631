#!/bin/sh
# Builds the loader core for the kernel and turns the staticlib into one
# relocatable object, kplcore.o, that kbuild links into kpl.ko. Recipe and
# reasons: ../shared/notes/kernel-runtime.md §4 (outside this repository) and
# runtime-kmod/README.md.
#
#   KDIR=/usr/src/linux-headers-X OUT=dir runtime-kmod/kcore/build.sh
#   KPL_TESTING=1 ...   # test build: adds kpl_core_check_unverified
#                       # (scripts/kernel-test.sh only; never shipped)
#
# Fails on any objtool complaint and if the object references `panic` (a
# panic path survived) or any symbol the kernel does not export to modules.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${KDIR:?KDIR must name the kernel headers directory}"
OUT=${OUT:-$here/../../target/kernel}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# Debian's rustc-web (with rust-web-src for -Zbuild-std); the rustup proxies
# in ~/.cargo/bin would shadow these, so they are called by absolute path.
export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1
CARGO=/usr/bin/cargo
# Kernel ABI: retpoline thunks for indirect calls, return thunks (RETHUNK).
export RUSTFLAGS="-Zfunction-return=thunk-extern -Zretpoline-external-thunk"
unset CARGO_BUILD_TARGET RUSTC_WRAPPER 2>/dev/null || true

# The target: the built-in x86_64-unknown-none (kernel code model, no red
# zone, soft-float, panic=abort) with static relocations, so calls to kernel
# symbols are PLT32/PC32 (the 6.1 module loader rejects GOTPCREL), and
# plt-by-default so that libcalls (memcpy, memset) are PLT32 too, not
# `call *memcpy@GOTPCREL(%rip)`.
# Generated from the compiler, so format changes follow rustc.
spec="$OUT/x86_64-kpl-kernel.json"
$RUSTC -Zunstable-options --print target-spec-json --target x86_64-unknown-none |
    sed -e 's/"position-independent-executables": true/"position-independent-executables": false/' \
        -e 's/"static-position-independent-executables": true/"static-position-independent-executables": false/' \
        -e 's/"plt-by-default": false/"plt-by-default": true/' \
        -e 's/^  "arch": "x86_64",/  "arch": "x86_64",\n  "relocation-model": "static",/' >"$spec.new"
for want in '"plt-by-default": true' '"relocation-model": "static"' '"code-model": "kernel"' '"disable-redzone": true' '"panic-strategy": "abort"'; do
    grep -q "$want" "$spec.new" || { echo "kcore: generated target spec lacks $want" >&2; exit 1; }
done
# Keep the old file (and cargo's cache) when nothing changed.
if cmp -s "$spec.new" "$spec"; then rm "$spec.new"; else mv "$spec.new" "$spec"; fi

features=
[ "${KPL_TESTING:-}" = 1 ] && features="--features testing"
VENDOR=$($RUSTC --print sysroot)/lib/rustlib/src/rust/library/vendor
# shellcheck disable=SC2086
CARGO_TARGET_DIR="$OUT/kcore-target" $CARGO build --quiet --release --offline --locked \
    --manifest-path "$here/Cargo.toml" $features \
    --target "$spec" -Zjson-target-spec \
    -Zbuild-std=core,compiler_builtins \
    --config 'source.crates-io.replace-with="rustsrc"' \
    --config "source.rustsrc.directory=\"$VENDOR\"" >"$OUT/kcore-cargo.log" 2>&1 || {
    cat "$OUT/kcore-cargo.log" >&2
    echo "kcore: cargo build failed" >&2
    exit 1
}
# (Cargo warns that the compiler_builtins profile "did not match any
# packages"; it is applied to the build-std crate all the same.)
A="$OUT/kcore-target/x86_64-kpl-kernel/release/libkplkcore.a"

# The exported functions; those under #[cfg(feature = "testing")] only in a
# test build.
syms=$(awk -v testing="${KPL_TESTING:-}" '
    /^#\[cfg\(feature = "testing"\)\]/ { t = 1; next }
    /^pub unsafe extern "C" fn kpl_core_/ {
        s = $0; sub(/^pub unsafe extern "C" fn /, "", s); sub(/[^a-z_].*/, "", s)
        if (!t || testing == "1") print s
    }
    /^(pub |fn |unsafe fn |struct |impl |const )/ { t = 0 }' "$here/src/lib.rs")
obj="$OUT/kplcore.o"
# shellcheck disable=SC2046
ld -r -o "$obj.tmp" $(for s in $syms; do printf -- '-u %s ' "$s"; done) "$A"
objcopy -R .llvmbc -R .llvmcmd -R .comment -R .note.GNU-stack "$obj.tmp"
# kbuild does not run objtool on a prebuilt object: do it here with the
# flags kbuild uses for this kernel's C objects. Any output is an error.
"$KDIR/tools/objtool/objtool" --hacks=jump_label --hacks=noinstr --orc --retpoline \
    --rethunk --sls --static-call --uaccess --link --module "$obj.tmp" >"$OUT/objtool.log" 2>&1 || true
if [ -s "$OUT/objtool.log" ]; then
    echo "kcore: objtool complained:" >&2
    cat "$OUT/objtool.log" >&2
    exit 1
fi
# The module loader of 6.1 knows PC32/PLT32/32S/64 relocations, not GOT ones.
if readelf -r "$obj.tmp" | grep -q 'R_X86_64_.*GOT'; then
    echo "kcore: the object has GOT relocations the module loader rejects:" >&2
    readelf -r "$obj.tmp" | grep 'R_X86_64_.*GOT' | head >&2
    exit 1
fi
for s in $syms; do
    nm "$obj.tmp" | grep -q " T $s\$" || { echo "kcore: $s missing from the object" >&2; exit 1; }
done
if [ "${KPL_TESTING:-}" != 1 ] && nm "$obj.tmp" | grep -q 'kpl_core_check_unverified'; then
    echo "kcore: a build without KPL_TESTING=1 contains the unverified load" >&2
    exit 1
fi
undef=$(nm -u "$obj.tmp" | awk '{print $2}' | sort -u)
rm -f "$OUT/kcore-panic-path"
for u in $undef; do
    case $u in
    panic)
        # Which code can panic (for the message): callers of core::panicking.
        objdump -dr --no-show-raw-insn "$obj.tmp" |
            awk '/^[0-9a-f]+ <.*>:$/ {fn=$2} /R_X86_64_PLT32.*panicking/ && fn !~ /panicking/ {print fn}' |
            sort -u >"$OUT/kcore-panic-path"
        echo "kcore: a panic path remains (the object references panic), from:" >&2
        cat "$OUT/kcore-panic-path" >&2
        # KPL_ALLOW_PANIC_PATH=1: keep the object (the caller reports the failure).
        [ -n "${KPL_ALLOW_PANIC_PATH:-}" ] || exit 1
        ;;
    kpl_kvzalloc | kpl_kvfree) ;; # the C layer
    *)
        grep -q "[[:space:]]$u[[:space:]]" "$KDIR/Module.symvers" ||
            { echo "kcore: undefined symbol $u is not a kernel export" >&2; exit 1; }
        ;;
    esac
done
mv "$obj.tmp" "$obj"
echo "kcore: $obj ($(size "$obj" | awk 'NR==2{print $1}') bytes of text; undefined: $(echo $undef | tr '\n' ' '))"
