#!/bin/sh
# DKMS build step (see dkms.conf): the Rust loader core, then kpl.ko, for
# the kernel whose build directory is $1. Run from the DKMS source tree
# that scripts/kernel-build.sh --dkms lays out.
set -eu
unset KPL_TESTING	# never a test build (kpl_testing.h)
KDIR=${1:?usage: dkms-build.sh KERNEL_BUILD_DIR}
here=$(pwd)
KDIR=$KDIR OUT=$here/target/kernel runtime-kmod/kcore/build.sh
make -C "$KDIR" M="$here/runtime-kmod/kmod" KPL_CORE_OBJ="$here/target/kernel/kplcore.o" KPL_TESTING= modules
