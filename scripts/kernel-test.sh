#!/usr/bin/env bash
# The kernel module's end-to-end test: installs what it needs (idempotently),
# builds the Rust loader core for the kernel and kpl.ko against Debian's
# kernel headers, boots Debian's kernel in qemu-system-x86_64 (software
# emulation) with a busybox initramfs, runs runtime-kmod/kmod/tests/vm-test.sh
# inside it and checks the serial log. Run by scripts/test-all.sh; needs root
# (apt-get) on Debian 12. Everything it builds goes under target/kernel/.
#
#   scripts/kernel-test.sh            # everything
#   KPL_SKIP_INSTALL=1 ...            # do not touch packages
#   KPL_STRESS=N ...                  # load/run/unload cycles per process (default 2000)
#   KPL_QEMU_TIMEOUT=S ...            # wall-clock limit of the QEMU step (default 900)
#
# Last line: `kernel: N passed, M failed`. Exit status 0 only if all passed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/target/kernel
mkdir -p "$OUT"
t_start=$(date +%s)
step() { printf '\n--> %s (%ss)\n' "$*" "$(($(date +%s) - t_start))"; }
die() {
    echo "kernel-test: $*" >&2
    echo "kernel: 0 passed, 1 failed"
    exit 1
}

apt_install() {
    local i
    for i in 1 2; do
        if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 \
            --no-install-recommends "$@" >"$OUT/apt.log" 2>&1; then
            return 0
        fi
        echo "apt-get install failed (attempt $i):" >&2
        tail -n 5 "$OUT/apt.log" >&2
        sleep 5
    done
    return 1
}

step "packages"
# The kernel ABI the headers metapackage points at; headers and image must match.
kver() { apt-cache depends linux-headers-amd64 2>/dev/null | awk '/Depends: linux-headers-/{sub("linux-headers-","",$2); print $2; exit}'; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
if [ -z "${KPL_SKIP_INSTALL:-}" ]; then
    base=(qemu-system-x86 busybox-static cpio rustc-web cargo-web rust-web-src python3 libc6-dev)
    need=()
    for p in "${base[@]}"; do installed "$p" || need+=("$p"); done
    updated=
    # Fresh package lists first when anything is to be installed, so the
    # kernel ABI below is the archive's current one.
    if [ ${#need[@]} -gt 0 ] || [ -z "$(kver || true)" ]; then
        apt-get update -qq -o DPkg::Lock::Timeout=300 || apt-get update -qq -o DPkg::Lock::Timeout=300 ||
            die "apt-get update failed"
        updated=1
    fi
    KVER=$(kver || true)
    [ -n "$KVER" ] || die "cannot find the kernel ABI of linux-headers-amd64"
    installed "linux-headers-$KVER" || need+=("linux-headers-$KVER")
    if [ ${#need[@]} -gt 0 ]; then
        echo "installing: ${need[*]}"
        [ -n "$updated" ] || apt-get update -qq -o DPkg::Lock::Timeout=300 || true
        apt_install "${need[@]}" || die "apt-get install ${need[*]} failed"
    fi
else
    KVER=$(ls -d /usr/src/linux-headers-*-amd64 | sed 's|.*/linux-headers-||' | sort -V | tail -n 1)
fi
KDIR=/usr/src/linux-headers-$KVER
[ -d "$KDIR" ] || die "no headers in $KDIR"
echo "kernel $KVER"

step "kernel image"
VMLINUZ=$OUT/boot/vmlinuz-$KVER
if [ ! -f "$VMLINUZ" ]; then
    # The image package is not installed (its hooks want initramfs-tools
    # and a boot loader): download it and extract only vmlinuz.
    mkdir -p "$OUT/deb" "$OUT/boot"
    (cd "$OUT/deb" && rm -f linux-image-*.deb && apt-get download -qq "linux-image-$KVER") ||
        die "cannot download linux-image-$KVER"
    dpkg-deb --fsys-tarfile "$OUT"/deb/linux-image-"$KVER"_*.deb |
        tar -x -C "$OUT/deb" "./boot/vmlinuz-$KVER"
    mv "$OUT/deb/boot/vmlinuz-$KVER" "$VMLINUZ"
    rm -rf "$OUT/deb"
fi

# Checks made on the host (the build's own guarantees), counted with the VM's.
host_passed=0
host_failed=0
hok() { host_passed=$((host_passed + 1)); echo "PASS: $*"; }
hbad() { host_failed=$((host_failed + 1)); echo "FAIL: $*"; }

step "the shipped build cannot load unverified code"
# scripts/kernel-build.sh, even asked for a test build, must produce a
# module without the test build's unverified-load ioctl.
if KPL_TESTING=1 KPL_ALLOW_PANIC_PATH=1 scripts/kernel-build.sh "$KDIR" >"$OUT/shipped-build.log" 2>&1; then
    if ! grep -aq 'kpl_testing=' "$OUT/kmod/kpl.ko" &&
        ! nm "$OUT/kmod/kpl.ko" | grep -q kpl_core_check_unverified &&
        ! grep -q KPL_TESTING "$OUT/kmod/.kpl_main.o.cmd"; then
        hok "scripts/kernel-build.sh builds no unverified load, even with KPL_TESTING=1 set"
    else
        hbad "scripts/kernel-build.sh produced a test build"
    fi
else
    cat "$OUT/shipped-build.log"
    hbad "scripts/kernel-build.sh failed"
fi

step "Rust loader core for the kernel (test build)"
# objtool-clean, only kernel exports referenced, no GOT relocations (or it fails).
# KPL_TESTING=1: with the unverified load the watchdog tests need.
KPL_TESTING=1 KPL_ALLOW_PANIC_PATH=1 KDIR=$KDIR OUT=$OUT runtime-kmod/kcore/build.sh || die "kcore build failed"
if [ -s "$OUT/kcore-panic-path" ]; then
    hbad "the loader core has a panic path (reaches the kernel's panic) in: $(tr '\n' ' ' <"$OUT/kcore-panic-path")"
else
    hok "the loader core has no panic path (panic unreferenced)"
fi

step "kpl.ko (test build)"
# kbuild writes its outputs next to the sources: build a copy under target/.
rm -rf "$OUT/kmod"
mkdir -p "$OUT/kmod"
cp -r runtime-kmod/kmod/Kbuild runtime-kmod/kmod/Makefile runtime-kmod/kmod/*.c \
    runtime-kmod/kmod/*.h runtime-kmod/kmod/*.S runtime-kmod/kmod/uapi runtime-kmod/kmod/include "$OUT/kmod/"
if ! make -C "$KDIR" M="$OUT/kmod" KPL_CORE_OBJ="$OUT/kplcore.o" KPL_TESTING=1 modules >"$OUT/kbuild.log" 2>&1; then
    cat "$OUT/kbuild.log"
    die "module build failed"
fi
if grep -E 'warning|objtool|WARNING' "$OUT/kbuild.log" | grep -v 'Skipping BTF generation'; then
    die "the module build has warnings"
fi
ls -l "$OUT/kmod/kpl.ko"
hok "kpl.ko builds without kbuild, objtool or modpost warnings"

step "kernel-services clients: the sample kplgray.ko, the test's kplsvccheck.ko"
# Built as a client module author would: its own kbuild directory, against
# kpl.ko's Module.symvers.
cp -r runtime-kmod/kmod/sample-client "$OUT/kmod/"
if ! make -C "$KDIR" M="$OUT/kmod/sample-client" KBUILD_EXTRA_SYMBOLS="$OUT/kmod/Module.symvers" \
    modules >"$OUT/kbuild-client.log" 2>&1; then
    cat "$OUT/kbuild-client.log"
    die "sample client build failed"
fi
if grep -E 'warning|objtool|WARNING' "$OUT/kbuild-client.log" | grep -v 'Skipping BTF generation'; then
    die "the sample client build has warnings"
fi
mkdir -p "$OUT/kmod/tests"
cp -r runtime-kmod/kmod/tests/svc-check "$OUT/kmod/tests/"
if ! make -C "$KDIR" M="$OUT/kmod/tests/svc-check" KBUILD_EXTRA_SYMBOLS="$OUT/kmod/Module.symvers" \
    modules >>"$OUT/kbuild-client.log" 2>&1; then
    cat "$OUT/kbuild-client.log"
    die "the services check module build failed"
fi
if grep -E 'warning|objtool|WARNING' "$OUT/kbuild-client.log" | grep -v 'Skipping BTF generation'; then
    die "the sample client or the services check module build has warnings"
fi
hok "kplgray.ko and kplsvccheck.ko build against kpl.ko's exports without warnings"

step "kplc, examples, test plugins, adversarial corpus"
cargo build --quiet --locked -p kplc
KPLC=$ROOT/target/debug/kplc
T=$OUT/initramfs/t
rm -rf "$OUT/initramfs"
mkdir -p "$T/adv" "$OUT/initramfs/bin" "$OUT/initramfs/lib64" "$OUT/initramfs/lib/x86_64-linux-gnu" \
    "$OUT/initramfs/proc" "$OUT/initramfs/sys" "$OUT/initramfs/dev" "$OUT/initramfs/tmp"
for ex in grayscale packet_filter checksum histogram rate_limiter; do
    "$KPLC" build "examples/$ex/$ex.kpl" -o "$T/$ex.kpo"
    cp "examples/$ex/cases.txt" "$T/$ex.cases"
done
cp examples/grayscale/sample.rgb "$T/"
for p in spin udp_block imports rogue gray_wrong; do
    "$KPLC" build "runtime-kmod/kmod/tests/$p.kpl" -o "$T/$p.kpo"
done
# Loops that ignore their fuel (refused by the verifier; loaded unverified).
python3 runtime-kmod/kmod/tests/rogue.py "$T/rogue.kpo" "$T/rogue-loops.kpo" || die "cannot make the rogue objects"
"$KPLC" verify "$T/rogue-loops.kpo" >/dev/null 2>&1 && die "the verifier accepts the rogue objects"
gcc -static -O2 -Wall -Wextra -Werror -o "$OUT/initramfs/bin/kpl-test-load" \
    runtime-kmod/kmod/tests/kpl-test-load.c || die "cannot build kpl-test-load"
gcc -static -O2 -Wall -Wextra -Werror -o "$OUT/initramfs/bin/kplgray-test" \
    runtime-kmod/kmod/tests/kplgray-test.c || die "cannot build kplgray-test"
# Frames for the sample client and their grayscale, computed here in
# Python from the formula (independently of KPL): the sample image, a
# 1920x1080 frame with a pattern, one pixel.
python3 - "$T" <<'PY' || die "cannot make the test frames"
import sys
t = sys.argv[1]
def gray(rgb):
    r, g, b = rgb[0::3], rgb[1::3], rgb[2::3]
    return bytes((77 * x + 150 * y + 29 * z) >> 8 for x, y, z in zip(r, g, b))
def put(name, rgb):
    open(f"{t}/{name}.rgb", "wb").write(rgb)
    open(f"{t}/{name}.gray", "wb").write(gray(rgb))
put("sample", open(f"{t}/sample.rgb", "rb").read())
row = lambda y: bytes(((x * 7 + y * 3 + c * 85) ^ (x >> 3) ^ y) & 255 for x in range(1920) for c in range(3))
put("frame1080", b"".join(row(y) for y in range(1080)))
put("px", bytes([100, 150, 200]))
PY
# Plugins compiled against other declarations than the kernel's: one with
# another signature for cpu_id, one with an import the kernel lacks.
mkdir -p "$OUT/other-imports"
sed 's/^extern fn cpu_id() -> u32;/extern fn cpu_id() -> u64;/' std-imports/kernel.kpli >"$OUT/other-imports/kernel.kpli"
echo 'extern fn not_in_kernel() -> u32;' >>"$OUT/other-imports/kernel.kpli"
grep -q 'cpu_id() -> u64' "$OUT/other-imports/kernel.kpli" || die "cannot derive the mismatched imports"
for p in badhash missing; do
    "$KPLC" build --imports "$OUT/other-imports" "runtime-kmod/kmod/tests/$p.kpl" -o "$T/$p.kpo"
done
KPL_ADVERSARIAL_DIR="$T/adv" cargo test --quiet --locked -p kplc --test adversarial >"$OUT/adversarial.log" 2>&1 ||
    { cat "$OUT/adversarial.log"; die "the adversarial corpus does not pass on the host"; }
# The red team's corpus (redteam_*.kpo): the objects the host verifier rejects.
KPL_ADVERSARIAL_DIR="$T/adv" cargo test --quiet --locked -p kpl-redteam --test adversarial >"$OUT/redteam.log" 2>&1 ||
    { cat "$OUT/redteam.log"; die "the red-team corpus does not pass on the host"; }
echo "$(ls "$T/adv" | wc -l) adversarial objects"

step "initramfs"
R=$OUT/initramfs
cp "$OUT/kmod/kpl.ko" "$OUT/kmod/sample-client/kplgray.ko" "$OUT/kmod/tests/svc-check/kplsvccheck.ko" "$T/"
cp /bin/busybox "$R/bin/busybox"
cp "$KPLC" "$R/bin/kplc"
strip "$R/bin/kplc"
for lib in $(ldd "$KPLC" | awk '/=>/ {print $3} /ld-linux/ {print $1}'); do
    cp -L "$lib" "$R$lib"
done
cp runtime-kmod/kmod/tests/vm-test.sh "$R/vm-test.sh"
cat >"$R/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
export PATH=/bin KPL_STRESS=${KPL_STRESS:-2000}
echo "KPL: guest up at \$(cut -d' ' -f1 /proc/uptime) s"
sh /vm-test.sh
echo "KPL: ---- dmesg ----"
dmesg
echo "KPL: ---- end of dmesg ----"
echo "KPL: DONE at \$(cut -d' ' -f1 /proc/uptime) s"
poweroff -f
EOF
chmod +x "$R/init"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) >"$OUT/initrd.cpio.gz"
ls -l "$OUT/initrd.cpio.gz"

step "boot in QEMU (TCG)"
LOG=$OUT/serial.log
# panic=-1 oops=panic: any oops reboots at once, and -no-reboot makes that
# a QEMU exit, so a crash fails fast. KVM is not used (see runtime-kmod/README.md).
# The kernel-services section takes 35-75 s of guest time; on a 2-core host
# loaded by other builds the stress section alone has taken 6 minutes
# at 5000 cycles (2000 now; KPL_STRESS sets it). A quiet host needs about
# 8 minutes for the whole run; 900 s leaves room for a busy one.
timeout --foreground -k 5 "${KPL_QEMU_TIMEOUT:-900}" qemu-system-x86_64 \
    -accel tcg -cpu max -m 1G -smp 2 \
    -kernel "$VMLINUZ" -initrd "$OUT/initrd.cpio.gz" \
    -append "console=ttyS0 panic=-1 oops=panic quiet loglevel=4" \
    -nographic -no-reboot -nodefaults -serial stdio -monitor none \
    </dev/null >"$LOG" 2>&1 || echo "qemu exit status $?"
grep -E '^(PASS|FAIL|==|stress:|udp port|kplc: trap|plugin |kplgray:)|fuel_per_ms' "$LOG" || true

step "serial log"
passed=$(sed -n 's/^kpltest: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' "$LOG" | tail -n 1)
failed=$(sed -n 's/^kpltest: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' "$LOG" | tail -n 1)
passed=$((${passed:-0} + host_passed))
failed=$((${failed:-0} + host_failed))
if ! grep -q '^KPL: DONE' "$LOG" || [ -z "$(grep '^kpltest:' "$LOG")" ]; then
    echo "the guest did not finish the test (crash or timeout); last lines:"
    tail -n 40 "$LOG"
    failed=$((failed + 1))
fi
if grep -nE 'BUG:|Oops|WARNING:|rcu.*stall|soft lockup|hung_task|W\+X pages found|Kernel panic|Call Trace' "$LOG" |
    grep -v 'no W+X pages found'; then
    echo "the kernel log has a BUG, Oops, WARNING, stall, lockup or W+X complaint"
    failed=$((failed + 1))
fi
echo "kernel test: $(($(date +%s) - t_start)) s wall; serial log in $LOG"
echo "kernel: ${passed} passed, ${failed} failed"
[ "$failed" = 0 ]
