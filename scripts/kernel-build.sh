#!/usr/bin/env bash
# Builds kpl.ko for a kernel in one command (the Rust loader core, then the
# module with kbuild); outputs go to target/kernel/ (or $KPL_KERNEL_OUT,
# e.g. one directory per kernel). Supported kernels: Debian 12's 6.1 and
# 6.12 (what scripts/kernel-test.sh tests); the build adapts to the
# kernel's configuration (runtime-kmod/kcore/build.sh asks its kbuild).
#
#   scripts/kernel-build.sh                 # for the running kernel
#   scripts/kernel-build.sh /path/to/kbuild # for another kernel's headers
#   scripts/kernel-build.sh --dkms          # install as a DKMS module
#                                           # (rebuilt for new kernels)
#
# Needs gcc, make, the kernel's headers, and Debian's rustc-web, cargo-web
# and rust-web-src (apt-get install linux-headers-$(uname -r) rustc-web
# cargo-web rust-web-src). Prints the path of the module (the sample
# kernel-services client is built next to it, in kmod/sample-client/).
set -euo pipefail
# Never a test build: KPL_TESTING=1 adds an ioctl that loads objects
# without verification (runtime-kmod/kmod/kpl_testing.h), for
# scripts/kernel-test.sh only.
unset KPL_TESTING
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${KPL_KERNEL_OUT:-$ROOT/target/kernel}
VERSION=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' runtime-kmod/kmod/dkms.conf)

if [ "${1:-}" = "--dkms" ]; then
    command -v dkms >/dev/null || { echo "dkms is not installed (apt-get install dkms)" >&2; exit 2; }
    SRC=/usr/src/kpl-$VERSION
    rm -rf "$SRC"
    mkdir -p "$SRC/runtime-kmod/core" "$SRC/runtime-kmod/kcore" "$SRC/runtime-kmod/kmod"
    cp -r runtime-kmod/core/Cargo.toml runtime-kmod/core/src "$SRC/runtime-kmod/core/"
    cp -r runtime-kmod/kcore/Cargo.toml runtime-kmod/kcore/Cargo.lock runtime-kmod/kcore/build.sh runtime-kmod/kcore/src "$SRC/runtime-kmod/kcore/"
    cp -r runtime-kmod/kmod/Kbuild runtime-kmod/kmod/Makefile runtime-kmod/kmod/*.c runtime-kmod/kmod/*.h \
        runtime-kmod/kmod/*.S runtime-kmod/kmod/uapi runtime-kmod/kmod/include "$SRC/runtime-kmod/kmod/"
    cp runtime-kmod/kmod/dkms.conf runtime-kmod/kmod/dkms-build.sh "$SRC/"
    # The core inherits its package fields from a workspace: give it one.
    {
        printf '[workspace]\nresolver = "3"\nmembers = ["runtime-kmod/core"]\n\n'
        sed -n '/^\[workspace.package\]/,/^$/p' Cargo.toml
        sed -n '/^\[workspace.dependencies\]/,/^$/p' Cargo.toml
    } >"$SRC/Cargo.toml"
    dkms remove -m kpl -v "$VERSION" --all >/dev/null 2>&1 || true
    dkms add -m kpl -v "$VERSION"
    dkms build -m kpl -v "$VERSION" ${KPL_DKMS_KERNEL:+-k "$KPL_DKMS_KERNEL"}
    dkms install -m kpl -v "$VERSION" ${KPL_DKMS_KERNEL:+-k "$KPL_DKMS_KERNEL"}
    exit 0
fi

KDIR=${1:-/lib/modules/$(uname -r)/build}
[ -d "$KDIR" ] || { echo "no kernel build directory at $KDIR (install the headers)" >&2; exit 2; }
KDIR=$KDIR OUT=$OUT runtime-kmod/kcore/build.sh
# kbuild writes next to the sources: build a copy under target/.
rm -rf "$OUT/kmod"
mkdir -p "$OUT/kmod"
cp -r runtime-kmod/kmod/Kbuild runtime-kmod/kmod/Makefile runtime-kmod/kmod/*.c \
    runtime-kmod/kmod/*.h runtime-kmod/kmod/*.S runtime-kmod/kmod/uapi runtime-kmod/kmod/include "$OUT/kmod/"
make -C "$KDIR" M="$OUT/kmod" KPL_CORE_OBJ="$OUT/kplcore.o" KPL_TESTING= modules
# Belt and braces: refuse to hand out a module that can load unverified code.
# (.modinfo holds "kpl_testing=..." in a test build; modinfo may be absent.)
if grep -aq 'kpl_testing=' "$OUT/kmod/kpl.ko" ||
    nm "$OUT/kmod/kpl.ko" | grep 'kpl_core_check_unverified' >/dev/null; then
    rm -f "$OUT/kmod/kpl.ko"
    echo "kernel-build: the module is a test build (unverified loads); refusing it" >&2
    exit 1
fi
# The sample client of the kernel services (runtime-kmod/kmod/sample-client),
# built as any client is: against this kpl.ko's Module.symvers.
cp -r runtime-kmod/kmod/sample-client "$OUT/kmod/"
make -C "$KDIR" M="$OUT/kmod/sample-client" KBUILD_EXTRA_SYMBOLS="$OUT/kmod/Module.symvers" modules
echo "$OUT/kmod/kpl.ko"
