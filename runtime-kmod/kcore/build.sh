#!/bin/sh
# Builds the loader core for the kernel and turns the staticlib into one
# relocatable object, kplcore.o, that kbuild links into kpl.ko, for the
# kernel whose headers are in $KDIR (Debian 12's 6.1 or 6.12: what differs
# is read from the kernel's kbuild, below). Reasons: runtime-kmod/README.md
# and book/src/runtime/kernel.md ("Supported kernels").
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

# What this kernel's kbuild does to its own C objects, asked of kbuild
# itself rather than assumed from a version: a two-file probe module is
# built with V=1 and its compiler flags and objtool command are read back.
# The Rust core is then compiled with the equivalent code-generation flags
# (both: no jump tables, CS-prefixed thunk calls; 6.12 adds IBT's ENDBR64
# and call padding) and checked by the same objtool command. Whether
# objtool ran on each object (6.1) or on the
# linked module (kernels with IBT) says what kbuild will do to kplcore.o.
probe="$OUT/kbuild-probe"
rm -rf "$probe"
mkdir -p "$probe"
printf '#include <linux/module.h>\nint kplprobe_fn(int x);\nint kplprobe_fn(int x) { return x + 1; }\nEXPORT_SYMBOL(kplprobe_fn);\nMODULE_LICENSE("GPL");\n' >"$probe/kplprobe_a.c"
printf '#include <linux/module.h>\nint kplprobe_fn(int x);\nint kplprobe_gn(int x);\nint kplprobe_gn(int x) { return kplprobe_fn(x); }\nEXPORT_SYMBOL(kplprobe_gn);\n' >"$probe/kplprobe_b.c"
printf 'obj-m := kplprobe.o\nkplprobe-y := kplprobe_a.o kplprobe_b.o\n' >"$probe/Kbuild"
make -C "$KDIR" M="$probe" V=1 modules >"$probe/log" 2>&1 || {
    cat "$probe/log" >&2
    echo "kcore: cannot build a probe module against $KDIR" >&2
    exit 1
}
cflags=$(grep -e " -c -o $probe/kplprobe_a.o " "$probe/log" | head -n 1)
objtool_args=$(sed -n "s|.*tools/objtool/objtool \(.*\) $probe/kplprobe_a.o\$|\1|p" "$probe/log" | head -n 1)
objtool_on_link=
if [ -z "$objtool_args" ]; then
    objtool_args=$(sed -n "s|.*tools/objtool/objtool \(.*\) $probe/kplprobe.o\$|\1|p" "$probe/log" | head -n 1)
    objtool_on_link=1
fi
[ -n "$cflags" ] && [ -n "$objtool_args" ] || {
    echo "kcore: cannot read kbuild's compiler flags or objtool command from $probe/log" >&2
    exit 1
}
has() { case " $cflags " in *" $1 "*) return 0 ;; esac; return 1; }
# Kernel ABI: retpoline thunks for indirect calls, return thunks (RETHUNK).
RUSTFLAGS="-Zfunction-return=thunk-extern -Zretpoline-external-thunk"
# Indirect branch tracking (CONFIG_X86_KERNEL_IBT): ENDBR64 where an
# indirect call may land; no jump tables (they are indirect jumps).
has -fcf-protection=branch && RUSTFLAGS="$RUSTFLAGS -Zcf-protection=branch"
has -fno-jump-tables && RUSTFLAGS="$RUSTFLAGS -Cjump-tables=no"
# Call padding (CONFIG_CALL_PADDING: room for call-depth thunks) and the
# CS prefix on thunk calls the ITS mitigation rewrites.
pfe=$(printf '%s\n' $cflags | sed -n 's/^-fpatchable-function-entry=//p' | head -n 1)
[ -n "$pfe" ] && RUSTFLAGS="$RUSTFLAGS -Zpatchable-function-entry=$pfe"
has -mindirect-branch-cs-prefix && RUSTFLAGS="$RUSTFLAGS -Zindirect-branch-cs-prefix"
export RUSTFLAGS
echo "kcore: rustc flags from kbuild: $RUSTFLAGS"
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
# Where kbuild runs objtool per object, it skips a prebuilt one: run it
# here with the command kbuild ran on the probe, and ship its output.
# Where kbuild runs it on the linked module, it will process this object
# there (and objtool refuses a second pass: the sections it adds would be
# seen twice), so it runs here on a copy, as a check only. Any output is
# an error. (objtool of 6.12 wants SRCARCH, which kbuild exports.)
cp "$obj.tmp" "$obj.raw"
# shellcheck disable=SC2086
SRCARCH=x86 "$KDIR/tools/objtool/objtool" $objtool_args "$obj.tmp" >"$OUT/objtool.log" 2>&1 || true
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
if [ -n "$objtool_on_link" ]; then mv "$obj.raw" "$obj.tmp"; else rm "$obj.raw"; fi
mv "$obj.tmp" "$obj"
echo "kcore: $obj ($(size "$obj" | awk 'NR==2{print $1}') bytes of text; undefined: $(echo $undef | tr '\n' ' '))"
