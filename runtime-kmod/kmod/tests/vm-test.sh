#!/bin/sh
# The kernel module's end-to-end test, run inside the QEMU guest by the
# initramfs /init that scripts/kernel-test.sh builds. Test files are in /t:
# kpl.ko, the examples compiled by kplc (+ their cases.txt), the adversarial
# corpus (/t/adv/NAME.RULE.kpo) and the kernel test plugins.
# Prints one PASS/FAIL line per check, then `kpltest: N passed, M failed`.

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "PASS: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# t DESCRIPTION COMMAND...: passes when the command exits 0.
t() {
    desc=$1
    shift
    if out=$("$@" 2>&1); then ok "$desc"; else bad "$desc: $(echo "$out" | tail -n 5)"; fi
}
now_ms() { awk '{printf "%d\n", $1 * 1000}' /proc/uptime; }
# hk ATT KEY: field KEY (invocations, accepted, dropped, traps, unfiltered,
# replaced, plugin, netns, ...) of attachment ATT, any namespace's.
hk() {
    kplc kernel hooks --all-netns |
        awk -v a="$1" -v k="$2" '$1 == a { for (i = 2; i < NF; i++) if ($i == k) print $(i + 1) }'
}

echo "== module"
t "insmod kpl.ko" insmod /t/kpl.ko
t "/dev/kpl is a character device" test -c /dev/kpl
t "/proc/kpl is readable" grep -q fuel_per_ms /proc/kpl
grep fuel_per_ms /proc/kpl

t "without CAP_SYS_ADMIN: load/unload/run/attach/detach refused (EPERM), list allowed" \
    kplc kernel unprivileged /t/spin.kpo

t "malformed ioctls refused with their errno" kplc kernel bad-input /t/grayscale.kpo

echo "== examples: kernel RUN vs host runtime vs cases.txt"
for ex in grayscale packet_filter checksum histogram rate_limiter; do
    if out=$(kplc kernel cases "/t/$ex.kpo" "/t/$ex.cases" 2>&1); then
        ok "example $ex: $(echo "$out" | tail -n 1)"
    else
        bad "example $ex: $out"
    fi
done
id=$(kplc kernel load /t/grayscale.kpo)
kplc kernel run "$id" --entry grayscale --in /t/sample.rgb --out-len 6144 --out /tmp/k.raw \
    --budget-ns 2000000000 >/dev/null 2>&1
kplc run /t/grayscale.kpo --entry grayscale --in /t/sample.rgb --out-len 6144 --out /tmp/h.raw \
    >/dev/null 2>&1
t "grayscale of sample.rgb: kernel bytes == host runtime bytes" cmp /tmp/k.raw /tmp/h.raw
t "kplc kernel list shows grayscale and its export" sh -c "kplc kernel list | grep -q 'export grayscale(\[\]u8, \[\]mut u8) -> u32'"
t "/proc/kpl shows grayscale" grep -q " grayscale code " /proc/kpl
grep "pages:" /proc/kpl
t "W^X and NX data: code r-x, rodata+slots r-- (never x), direct-map aliases r--, data rw-" \
    grep -q "pages: code r-x direct-map alias r-- rodata+slots r-- direct-map alias r-- data rw-" /proc/kpl
t "unload" kplc kernel unload "$id"
t "unloaded plugin is gone (ENOENT)" sh -c "kplc kernel run $id --entry grayscale --in /t/sample.rgb 2>&1 | grep -q 'No such file'"

echo "== adversarial corpus: every object rejected with its rule"
n=0
for f in /t/adv/*.kpo; do
    r=${f%.kpo}
    r=${r##*.}
    if out=$(kplc kernel expect-reject "$f" "$r" 2>&1); then n=$((n + 1)); else bad "$out"; fi
done
[ "$n" -gt 0 ] && ok "adversarial: $n objects rejected with the expected rule"
head -c 100 /t/sample.rgb >/tmp/garbage.kpo
t "garbage object refused (EINVAL, with the reason)" sh -c "kplc kernel load /tmp/garbage.kpo 2>&1 | grep -q 'invalid object.*Invalid argument'"

echo "== imports in the kernel"
# A generous budget: the wall-clock watchdog would stop a loop whose vCPU
# the (emulating, shared) host stalls for a millisecond.
B="--budget-ns 1000000000"
id=$(kplc kernel load /t/imports.kpo)
t "cpu_id is a CPU of this VM" sh -c "[ \"\$(kplc kernel run $id --entry cpu $B 2>/dev/null)\" -lt 2 ]"
t "clock_ns advances" sh -c "[ \"\$(kplc kernel run $id --entry clock_advances --budget-ns 1000000000 2>/dev/null)\" = true ]"
t "random_u32 varies" sh -c "[ \"\$(kplc kernel run $id --entry randoms_differ $B 2>/dev/null)\" = true ]"
t "fill_random fills the writable slice" \
    sh -c "[ \"\$(kplc kernel run $id --entry fill --out-len 64 --out /tmp/rand.bin $B 2>/dev/null)\" -ge 56 ]"
dmesg -c >/dev/null
kplc kernel run "$id" --entry logs --arg 30 $B >/dev/null 2>&1
n=$(dmesg | grep -c 'kpl: imports: kpl-import-test line: ')
dmesg | grep 'kpl: imports:' | head -n 3
if [ "$n" -ge 5 ] && [ "$n" -le 10 ]; then
    ok "log_u64 reaches the kernel log, rate-limited: $n of 32 lines"
else
    bad "log_u64: $n lines in the kernel log (want 5..10 of 32)"
fi
kplc kernel unload "$id"
t "a plugin compiled against another cpu_id signature is refused (ENOEXEC, hash)" \
    sh -c "kplc kernel load /t/badhash.kpo 2>&1 | grep -q 'signature hash.*Exec format error'"
t "a plugin importing what the kernel lacks is refused (ENOEXEC)" \
    sh -c "kplc kernel load /t/missing.kpo 2>&1 | grep -q 'not_in_kernel. is not provided by the host.*Exec format error'"

echo "== budget"
id=$(kplc kernel load /t/spin.kpo)
kplc kernel run "$id" --entry spin --budget-ns 1000000 2>/tmp/spin.err
rc=$?
cat /tmp/spin.err
ns=$(sed -n 's/.*trap: Budget at line [0-9]*, column [0-9]* (after \([0-9]*\) ns).*/\1/p' /tmp/spin.err)
# The bounds below are loose on purpose: under software emulation on a
# shared host, the 250 us watchdog tick and the trap's return reach the
# guest late (CI saw 3.1 ms, and once 27 ms, for a 1 ms budget: a vCPU
# thread descheduled by the host loses that time in the guest's clock too).
# What these tests must catch is a loop that is never stopped or a watchdog
# that waits for something else; a late tick is neither. What proves that the
# watchdog, not fuel, ended the heavy loop is /proc/kpl's counter, checked
# after it. Every stop below is allowed 3 x the budget + stall_ns.
stall_ns=200000000
stop_limit_ns=$((3 * 1000000 + stall_ns))
if [ "$rc" = 3 ] && [ -n "$ns" ] && [ "$ns" -lt "$stop_limit_ns" ]; then
    ok "infinite loop trapped (Budget, with its line) within a 1 ms budget: $ns ns"
else
    bad "infinite loop with 1 ms budget: rc $rc, $ns ns"
fi
t0=$(now_ms)
kplc kernel run "$id" --entry spin --budget-ns 3000000000 2>/tmp/spin.err
rc=$?
t1=$(now_ms)
cat /tmp/spin.err
if [ "$rc" = 3 ] && [ $((t1 - t0)) -lt 4500 ]; then
    ok "infinite loop trapped within a 3 s budget ($((t1 - t0)) ms wall)"
else
    bad "infinite loop with a 3 s budget: rc $rc after $((t1 - t0)) ms"
fi
# Whether fuel or the watchdog stopped those depends on the emulator's
# timing; this one only the watchdog can stop within its budget.
kplc kernel run "$id" --entry spin_heavy --arg 7 --budget-ns 1000000 2>/tmp/spin.err
rc=$?
cat /tmp/spin.err
ns=$(sed -n 's/.*trap: Budget at line [0-9]*, column [0-9]* (after \([0-9]*\) ns).*/\1/p' /tmp/spin.err)
if [ "$rc" = 3 ] && [ -n "$ns" ] && [ "$ns" -lt "$stop_limit_ns" ]; then
    ok "a loop whose fuel outlasts its 1 ms budget is stopped by the watchdog: $ns ns"
else
    bad "heavy loop with 1 ms budget: rc $rc, $ns ns"
fi
grep watchdog_stops /proc/kpl
t "the test-run watchdog stopped the heavy loop" \
    sh -c "awk '/^watchdog_stops/ { exit !(\$3 >= 1) }' /proc/kpl"
t "VM responsive after the loop" sh -c "echo alive | grep -q alive"
t "run of another export still works" sh -c "[ \"\$(kplc kernel run $id --entry inc --arg 41 2>/dev/null)\" = 42 ]"
# Two invocations of the same plugin at once on two CPUs, each spinning
# until the watchdog ends it at its 1 s budget: both must be stopped. That
# they run at the same time (no lock serialises them) is the counter
# test's to show, below, from inside the plugin: here each process starts
# at its own time, and under emulation starting one can take as long as
# the spin (6.1 once showed 1000 + 1002 ms of plugin time in 2100 ms wall,
# 6.12 the same pair in 1270 ms), so the wall time is only printed.
dur() { sed -n 's/.*(after \([0-9]*\) ns).*/\1/p' "$1"; }
t0=$(now_ms)
taskset -c 0 kplc kernel run "$id" --entry spin --budget-ns 1000000000 2>/tmp/c0.err &
c0=$!
taskset -c 1 kplc kernel run "$id" --entry spin --budget-ns 1000000000 2>/tmp/c1.err &
c1=$!
wait $c0
wait $c1
t1=$(now_ms)
d0=$(($(dur /tmp/c0.err) / 1000000))
d1=$(($(dur /tmp/c1.err) / 1000000))
echo "two spins on two CPUs: $d0 ms and $d1 ms of plugin time in $((t1 - t0)) ms wall (informational)"
if grep -q 'trap: Budget' /tmp/c0.err && grep -q 'trap: Budget' /tmp/c1.err &&
    [ "$d0" -ge 900 ] && [ "$d1" -ge 900 ]; then
    ok "two invocations on two CPUs both ran to their 1 s budget and were stopped: $d0 ms and $d1 ms"
else
    bad "two spins on two CPUs: $(cat /tmp/c0.err /tmp/c1.err)"
fi
# Unload while another CPU is inside the plugin: the run finishes (trap),
# the code is freed only afterwards.
taskset -c 1 kplc kernel run "$id" --entry spin --budget-ns 2000000000 2>/tmp/bg.err &
bg=$!
sleep 1
t "unload while another CPU runs the plugin" kplc kernel unload "$id"
wait $bg
t "the running invocation ended with its trap" grep -q "trap: Budget" /tmp/bg.err

echo "== watchdog without the verifier: loops that ignore their fuel"
# rogue-loops.kpo (tests/rogue.py): the verifier refuses it; the test build
# loads it unverified. Only the watchdog can stop these.
t "the verifier refuses the rogue objects" sh -c "kplc kernel load /t/rogue-loops.kpo 2>&1 | grep -q 'rejected by the verifier'"
rg=$(kpl-test-load /t/rogue-loops.kpo rogue)
t "the test build loads the rogue objects unverified" test -n "$rg"
rogue_run() { # ENTRY BUDGET_NS DESC
    t0=$(now_ms)
    kplc kernel run "$rg" --entry "$1" --budget-ns "$2" 2>/tmp/rogue.err
    rc=$?
    t1=$(now_ms)
    cat /tmp/rogue.err
    ns=$(sed -n 's/.*trap: Budget at line [0-9]*, column [0-9]* (after \([0-9]*\) ns).*/\1/p' /tmp/rogue.err)
    # 3 x the budget + stall_ns: the emulated CPU stalls when the host is
    # busy (the watchdog itself allows the budget again + 10 ms for stalls).
    lim=$(($2 * 3 + stall_ns))
    if [ "$rc" = 3 ] && [ -n "$ns" ] && [ "$ns" -lt "$lim" ] && [ $((t1 - t0)) -lt $((lim / 1000000 + 1500)) ]; then
        ok "$3 stopped by the watchdog (Budget) within its $(($2 / 1000)) us budget: $ns ns, $((t1 - t0)) ms wall"
    else
        bad "$3 with a $2 ns budget: rc $rc, $ns ns, $((t1 - t0)) ms wall"
    fi
}
before=$(awk '/^watchdog_stops/ { print $7 }' /proc/kpl)
rogue_run no_check 1000000 "a loop with no fuel check"
rogue_run refuel 1000000 "a loop whose fuel check is bypassed (r13 refilled)"
rogue_run no_check 300000000 "a loop with no fuel check (300 ms)"
after=$(awk '/^watchdog_stops/ { print $7 }' /proc/kpl)
grep watchdog_stops /proc/kpl
t "the watchdog unwound all three from the interrupt" test $((after - before)) -ge 3
t "VM responsive after the rogue loops" sh -c "echo alive | grep -q alive"
t "the rogue plugin still runs (not disabled)" sh -c "kplc kernel run $rg --entry no_check --budget-ns 1000000 2>&1 | grep -q 'trap: Budget'"
# Two at once on two CPUs.
taskset -c 0 kplc kernel run "$rg" --entry no_check --budget-ns 50000000 2>/tmp/r0.err &
r0=$!
taskset -c 1 kplc kernel run "$rg" --entry refuel --budget-ns 50000000 2>/tmp/r1.err &
r1=$!
wait $r0
wait $r1
t "rogue loops on two CPUs at once both stopped" sh -c "grep -q 'trap: Budget' /tmp/r0.err && grep -q 'trap: Budget' /tmp/r1.err"
# Through the netfilter hook: every packet's invocation is stopped.
ip link set lo up
rf=$(kpl-test-load /t/rogue-loops.kpo rogue_filter)
ra=$(kplc kernel attach "$rf" --entry filter_no_check)
t "attach a rogue filter (no fuel check)" test -n "$ra"
t "rogue filter: packets pass (the stopped filter accepts)" sh -c "kplc kernel probe --port 5555 --count 20 | grep -q 'received 20 of 20'"
kplc kernel hooks
t "rogue filter: every packet stopped" test "$(hk "$ra" traps)" -ge 20
avg=$(awk '$2 == "rogue_filter" && $10 > 0 { printf "%d", $14 / $10 }' /proc/kpl)
grep -E "^[0-9]+ rogue_filter " /proc/kpl
grep watchdog_stops /proc/kpl
t "the hook watchdog stopped and unwound them" sh -c "awk '/^watchdog_stops/ { exit !(\$5 >= 20 && \$7 >= 20) }' /proc/kpl"
# As rogue_run: 3 x the budget + stall_ns for a stalling emulated CPU.
if [ -n "$avg" ] && [ "$avg" -lt "$stop_limit_ns" ]; then
    ok "rogue filter stopped by the 1 ms hook budget: $avg ns per invocation on average"
else
    bad "rogue filter: $avg ns per invocation (budget 1 ms)"
fi
t "detach the rogue filter" kplc kernel detach "$ra"
t "unload the rogue plugins" sh -c "kplc kernel unload $rg && kplc kernel unload $rf"
# A plugin that breaks the sandbox (overwrites r15) while looping: stopped
# all the same, then disabled.
rc=$(kpl-test-load /t/rogue-loops.kpo clobber)
kplc kernel run "$rc" --entry clobber --budget-ns 1000000 2>/tmp/clobber.err
cat /tmp/clobber.err
t "a loop that overwrote r15 is stopped too" grep -q "trap: Budget" /tmp/clobber.err
grep watchdog_stops /proc/kpl
t "the watchdog reports the sandbox failure" sh -c "awk '/^watchdog_stops/ { exit !(\$9 >= 1) }' /proc/kpl"
t "the plugin is disabled: RUN refused (EIO)" sh -c "kplc kernel run $rc --entry no_check 2>&1 | grep -q 'Input/output error'"
t "the disabled plugin unloads" kplc kernel unload "$rc"
t "VM responsive after the sandbox failure" sh -c "echo alive | grep -q alive"
dmesg | grep 'kpl: plugin .* sandbox failure' | head -n 2

echo "== netfilter: IPv4 LOCAL_IN, counters, atomic replace"
ip link set lo up
a=$(kplc kernel load /t/udp_block.kpo --name udp_block_a)
b=$(kplc kernel load /t/udp_block.kpo --name udp_block_b)
kplc kernel run "$a" --entry block_port --arg 4444 >/dev/null 2>&1
kplc kernel run "$b" --entry block_port --arg 4444 >/dev/null 2>&1
att=$(kplc kernel attach "$a")
t "attach (ipv4:local-in by default) prints the attachment id" test -n "$att"
t "UDP to the blocked port is dropped" sh -c "kplc kernel probe --port 4444 --count 10 | grep -q 'received 0 of 10'"
t "UDP to another port passes" sh -c "kplc kernel probe --port 5555 --count 50 | grep -q 'received 50 of 50'"
kplc kernel hooks
t "the attachment counted exactly the packets sent: 60 invocations, 10 dropped, 50 accepted" \
    sh -c "[ $(hk "$att" invocations) = 60 ] && [ $(hk "$att" dropped) = 10 ] && [ $(hk "$att" accepted) = 50 ]"
t "hooks shows the plugin at the attachment" test "$(hk "$att" plugin)" = "$a"
# Replace 100 times while two streams flow: one to an accepted port (each
# datagram awaited), one back to back to the blocked port. Every packet
# must meet a filter: none of the blocked stream arrives, the attachment
# counts every one of them dropped, and none passes unfiltered.
i0=$(hk "$att" invocations)
d0=$(hk "$att" dropped)
rm -f /tmp/replaced
(while [ ! -e /tmp/replaced ]; do kplc kernel probe --port 5555 --count 200; done) >/tmp/flow.out 2>&1 &
flow=$!
(while [ ! -e /tmp/replaced ]; do kplc kernel probe --port 4444 --count 200 --wait-ms 0; done) >/tmp/flow-blocked.out 2>&1 &
flowb=$!
sleep 1
r=0
i=0
while [ $i -lt 50 ]; do
    kplc kernel attach "$b" >/dev/null 2>&1 || r=1
    kplc kernel attach "$a" >/dev/null 2>&1 || r=1
    i=$((i + 1))
done
touch /tmp/replaced
wait $flow
wait $flowb
na=$(grep -c 'received 200 of 200' /tmp/flow.out)
nb=$(grep -c 'received 0 of 200$' /tmp/flow-blocked.out)
echo "replace under traffic: $((na * 200)) accepted datagrams, $((nb * 200)) blocked ones, $(hk "$att" replaced) replaces"
kplc kernel hooks
t "100 atomic replaces while traffic flows" sh -c "[ $r = 0 ] && [ $(hk "$att" replaced) = 100 ]"
t "no accepted packet lost during the replaces" sh -c "[ $na -ge 1 ] && [ $na = \$(wc -l </tmp/flow.out) ]"
t "no blocked packet passed during the replaces" sh -c "[ $nb -ge 1 ] && [ $nb = \$(wc -l </tmp/flow-blocked.out) ]"
t "every blocked packet counted dropped: $((nb * 200))" test $(($(hk "$att" dropped) - d0)) = $((nb * 200))
t "every packet met a filter: $((na * 200 + nb * 200)) invocations, none unfiltered or trapped" \
    sh -c "[ $(($(hk "$att" invocations) - i0)) = $((na * 200 + nb * 200)) ] && [ $(hk "$att" unfiltered) = 0 ] && [ $(hk "$att" traps) = 0 ]"
# A filter stuck in a loop: each packet traps after the 1 ms hook budget
# and is accepted; replacing it while a CPU is inside it is safe.
sp=$(kplc kernel load /t/spin.kpo --name spin_filter)
before=$(hk "$att" traps)
t "attach a looping filter (replaces at the same attachment)" \
    sh -c "[ \$(kplc kernel attach $sp --entry spin_filter 2>/dev/null) = $att ]"
t "looping filter: packets pass (trap accepts)" sh -c "kplc kernel probe --port 5555 --count 20 | grep -q 'received 20 of 20'"
kplc kernel hooks
t "looping filter: every packet trapped" test $(($(hk "$att" traps) - before)) -ge 20
grep -E "^[0-9]+ spin_filter " /proc/kpl
avg=$(awk '$2 == "spin_filter" && $10 > 0 { printf "%d", $14 / $10 }' /proc/kpl)
grep watchdog_stops /proc/kpl
# As rogue_run: 3 x the budget + stall_ns for a stalling emulated CPU.
if [ -n "$avg" ] && [ "$avg" -lt "$stop_limit_ns" ]; then
    ok "looping filter stopped by the 1 ms hook budget: $avg ns per packet on average"
else
    bad "looping filter: $avg ns per packet (budget 1 ms)"
fi
kplc kernel probe --port 5555 --count 300 >/tmp/flow2.out 2>&1 &
flow=$!
r=0
i=0
while [ $i -lt 20 ]; do
    kplc kernel attach "$a" >/dev/null 2>&1 || r=1
    kplc kernel attach "$sp" --entry spin_filter >/dev/null 2>&1 || r=1
    i=$((i + 1))
done
wait $flow
cat /tmp/flow2.out
t "40 replaces between a looping and a normal filter under traffic" test $r = 0
t "no packet lost while replacing a plugin CPUs were inside" grep -q "received 300 of 300" /tmp/flow2.out
kplc kernel attach "$a" >/dev/null 2>&1
t "the replaced plugins are no longer attached: unload works" kplc kernel unload "$sp"
t "attached plugin cannot be unloaded (EBUSY)" sh -c "kplc kernel unload $a 2>&1 | grep -q 'busy'"
t "--no-replace refuses an occupied attachment point (EEXIST)" \
    sh -c "kplc kernel attach $b --no-replace 2>&1 | grep -q 'attached at ipv4:local-in priority 0 already'"
t "detach by hook" kplc kernel detach --hook ipv4:local-in
t "after detach the port is open" sh -c "kplc kernel probe --port 4444 --count 5 | grep -q 'received 5 of 5'"
t "the detached attachment is gone" sh -c "[ -z \"\$(kplc kernel hooks --all-netns)\" ]"
t "the first attach ioctls keep their meaning (KPL_IOC_ATTACH, HOOK_STATS, DETACH)" \
    kplc kernel legacy-abi "$a"
kplc kernel unload "$a"
kplc kernel unload "$b"

echo "== netfilter: IPv6, every hook point, several attachments at once"
t "loopback has ::1" sh -c "ip addr show dev lo | grep -q 'inet6 ::1'"
u=$(kplc kernel load /t/udp_block.kpo --name udp_block_at)
kplc kernel run "$u" --entry block_port --arg 4446 >/dev/null 2>&1
a6=$(kplc kernel attach "$u" --hook ipv6:local-in --entry filter_at)
t "attach at ipv6:local-in (filter with family and point arguments)" test -n "$a6"
t "IPv6 UDP over ::1 to the blocked port is dropped" \
    sh -c "kplc kernel probe --addr ::1 --port 4446 --count 10 | grep -q 'received 0 of 10\$'"
t "IPv6 UDP over ::1 to another port passes" \
    sh -c "kplc kernel probe --addr ::1 --port 5556 --count 20 | grep -q 'received 20 of 20\$'"
t "IPv4 to the blocked port passes the IPv6 attachment" \
    sh -c "kplc kernel probe --port 4446 --count 10 | grep -q 'received 10 of 10\$'"
kplc kernel hooks
t "ipv6:local-in counted 10 drops, at least 20 accepts" \
    sh -c "[ $(hk "$a6" dropped) = 10 ] && [ $(hk "$a6" accepted) -ge 20 ]"
seen() { kplc kernel run "$u" --entry seen 2>/dev/null; }
t "the filter was given family 6 and point local-in (6*16+2)" test "$(seen)" = 98
# Two attachments at once, at different hooks and families: IPv4
# datagrams dropped at local-out (sendto fails), IPv6 ones at local-in.
l4=$(kplc kernel attach "$u" --hook ipv4:local-out --entry filter_at)
t "attach at ipv4:local-out as well" test -n "$l4"
t "IPv4 to the blocked port is dropped at local-out: every send refused" \
    sh -c "kplc kernel probe --port 4446 --count 10 | grep -q 'received 0 of 10 (10 sends refused)'"
t "the filter was given family 4 and point local-out (4*16+4)" test "$(seen)" = 68
t "IPv6 still dropped at local-in while both are attached" \
    sh -c "kplc kernel probe --addr ::1 --port 4446 --count 10 | grep -q 'received 0 of 10\$'"
t "IPv4 to another port passes local-out" \
    sh -c "kplc kernel probe --port 5557 --count 20 | grep -q 'received 20 of 20\$'"
kplc kernel hooks
t "both counted their own packets: local-out 10 dropped + 20 accepted, local-in 20 dropped" \
    sh -c "[ $(hk "$l4" dropped) = 10 ] && [ $(hk "$l4" accepted) = 20 ] && [ $(hk "$a6" dropped) = 20 ]"
t "detach both by id" sh -c "kplc kernel detach $l4 && kplc kernel detach $a6"
p4=$(kplc kernel attach "$u" --hook ipv4:pre-routing --entry filter_at)
t "attach at ipv4:pre-routing" test -n "$p4"
t "IPv4 to the blocked port is dropped at pre-routing (sends succeed)" \
    sh -c "kplc kernel probe --port 4446 --count 10 | grep -q 'received 0 of 10\$'"
t "pre-routing counted 10 drops; the filter was given 4*16+1" \
    sh -c "[ $(hk "$p4" dropped) = 10 ] && [ \$(kplc kernel run $u --entry seen 2>/dev/null) = 65 ]"
kplc kernel detach "$p4"
o6=$(kplc kernel attach "$u" --hook ipv6:postrouting --entry filter_at)
t "attach at ipv6:postrouting (nftables' name)" test -n "$o6"
t "IPv6 to the blocked port is dropped at post-routing" \
    sh -c "kplc kernel probe --addr ::1 --port 4446 --count 10 | grep -q 'received 0 of 10'"
t "post-routing counted 10 drops; the filter was given 6*16+5" \
    sh -c "[ $(hk "$o6" dropped) = 10 ] && [ \$(kplc kernel run $u --entry seen 2>/dev/null) = 101 ]"
kplc kernel detach "$o6"
# The forward hooks under routed traffic: this (the initial) namespace
# routes between namespaces A (10.1.0.2, fd01::2) and B (10.2.0.2,
# fd02::2), each joined to it by a veth pair (veth.ko and what it needs
# are in /t/mod, in load order). Each namespace lives as long as its
# process, until /tmp/fw.done.
fw0=$(now_ms)
vok=1
for m in $(cat /t/mod/order); do insmod "/t/mod/$m" || vok=; done
t "insmod $(tr '\n' ' ' </t/mod/order)from the kernel's own package" test -n "$vok"
dad_off="echo 0 >/proc/sys/net/ipv6/conf/all/accept_dad; echo 0 >/proc/sys/net/ipv6/conf/default/accept_dad"
sh -c "$dad_off"
echo 1 >/proc/sys/net/ipv4/ip_forward
echo 1 >/proc/sys/net/ipv6/conf/all/forwarding
rm -f /tmp/fw.*
unshare -n sh -c "$dad_off; touch /tmp/fw.A; while [ ! -e /tmp/fw.done ]; do sleep 1; done" &
nsA=$!
unshare -n sh -c "$dad_off; touch /tmp/fw.B; while [ ! -e /tmp/fw.done ]; do sleep 1; done" &
nsB=$!
i=0
while { [ ! -e /tmp/fw.A ] || [ ! -e /tmp/fw.B ]; } && [ $i -lt 60 ]; do sleep 1; i=$((i + 1)); done
# The peer busybox names itself (vethN): found by its link to ra or rb.
peer() { ip -o link show | sed -n "s/^[0-9]*: \([^@:]*\)@$1:.*/\1/p"; }
netup() { # NS PEER_OF NET: the namespace's end of the pair, addresses .2, routes via .1
    p=$(peer "$2")
    ip link set "$p" netns "$1" && ip addr add "10.$3.0.1/24" dev "$2" && ip addr add "fd0$3::1/64" dev "$2" &&
        ip link set "$2" up && nsenter -n -t "$1" sh -c "ip link set lo up && ip link set $p up &&
            ip addr add 10.$3.0.2/24 dev $p && ip addr add fd0$3::2/64 dev $p &&
            ip route add default via 10.$3.0.1 && ip -6 route add default via fd0$3::1"
}
[ -e /tmp/fw.A ] && [ -e /tmp/fw.B ] && ip link add ra type veth && ip link add rb type veth &&
    netup "$nsA" ra 1 && netup "$nsB" rb 2
rt=$?
t "namespaces A and B routed through this one (veth pairs, ip_forward, IPv6 forwarding)" test $rt = 0
# fwd FAMILY PORT COUNT [WAIT_MS]: datagrams from A to B, routed here.
fwd() {
    if [ "$1" = 4 ]; then set -- 10.1.0.2 10.2.0.2 "$2" "$3" "${4:-300}"; else set -- fd01::2 fd02::2 "$2" "$3" "${4:-300}"; fi
    nsenter -n -t "$nsA" kplc kernel probe --from "$1" --addr "$2" --port "$3" --count "$4" --wait-ms "$5" \
        --rx-netns "/proc/$nsB/ns/net"
}
# tf DESC WANT FWD-ARGS...: passes when the probe's line ends in WANT.
tf() {
    desc=$1
    want=$2
    shift 2
    out=$(fwd "$@" 2>&1)
    case $out in
    *"$want") ok "$desc ($out)" ;;
    *) bad "$desc: $out (want $want)" ;;
    esac
}
tf "before any filter, IPv4 from A reaches B through the router" "received 10 of 10" 4 4446 10
tf "before any filter, IPv6 from A reaches B through the router" "received 10 of 10" 6 4446 10
f4=$(kplc kernel attach "$u" --hook ipv4:forward --entry filter_at)
f6=$(kplc kernel attach "$u" --hook ipv6:forward --entry filter_at)
t "attach at ipv4:forward and ipv6:forward" \
    sh -c "[ -n '$f4' ] && [ -n '$f6' ] && kplc kernel hooks | grep -q '^$f4 ipv4:forward ' && kplc kernel hooks | grep -q '^$f6 ipv6:forward '"
tf "routed IPv4 to the blocked port is dropped at forward" "received 0 of 10" 4 4446 10 100
t "the filter was given family 4 and point forward (4*16+3)" test "$(seen)" = 67
tf "routed IPv4 to another port passes forward" "received 20 of 20" 4 5560 20
tf "routed IPv6 to the blocked port is dropped at forward" "received 0 of 10" 6 4446 10 100
t "the filter was given family 6 and point forward (6*16+3)" test "$(seen)" = 99
tf "routed IPv6 to another port passes forward" "received 20 of 20" 6 5560 20
kplc kernel hooks
t "each forward attachment saw exactly its family's datagrams: 10 dropped, 20 accepted" \
    sh -c "[ $(hk "$f4" dropped) = 10 ] && [ $(hk "$f4" accepted) = 20 ] && [ $(hk "$f6" dropped) = 10 ] && [ $(hk "$f6" accepted) = 20 ]"
# Atomic replace at both forward hooks (20 each, between two instances
# blocking the same port) while IPv4 to an accepted port (each datagram
# awaited) and IPv6 to the blocked one (back to back) are routed.
w=$(kplc kernel load /t/udp_block.kpo --name udp_block_fw)
kplc kernel run "$w" --entry block_port --arg 4446 >/dev/null 2>&1
i4=$(hk "$f4" invocations)
i6=$(hk "$f6" invocations)
d6=$(hk "$f6" dropped)
(while [ ! -e /tmp/fw.stop ]; do fwd 4 5560 100; done) >/tmp/fw4.out 2>&1 &
s4=$!
(while [ ! -e /tmp/fw.stop ]; do fwd 6 4446 100 0; done) >/tmp/fw6.out 2>&1 &
s6=$!
sleep 1
r=0
i=0
while [ $i -lt 10 ]; do
    for p in "$w" "$u"; do
        kplc kernel attach "$p" --hook ipv4:forward --entry filter_at >/dev/null 2>&1 || r=1
        kplc kernel attach "$p" --hook ipv6:forward --entry filter_at >/dev/null 2>&1 || r=1
    done
    i=$((i + 1))
done
touch /tmp/fw.stop
wait $s4
wait $s6
na=$(grep -c 'received 100 of 100$' /tmp/fw4.out)
nb=$(grep -c 'received 0 of 100$' /tmp/fw6.out)
echo "forward replace under routed traffic: $((na * 100)) IPv4 datagrams accepted, $((nb * 100)) IPv6 ones dropped"
kplc kernel hooks
t "40 atomic replaces at the forward hooks while routed traffic flows" \
    sh -c "[ $r = 0 ] && [ $(hk "$f4" replaced) = 20 ] && [ $(hk "$f6" replaced) = 20 ]"
t "no accepted routed IPv4 datagram lost during the replaces" sh -c "[ $na -ge 1 ] && [ $na = \$(wc -l </tmp/fw4.out) ]"
t "no blocked routed IPv6 datagram passed during the replaces" sh -c "[ $nb -ge 1 ] && [ $nb = \$(wc -l </tmp/fw6.out) ]"
t "every routed datagram met a filter: $((na * 100)) IPv4 invocations, $((nb * 100)) IPv6 drops, none unfiltered" \
    sh -c "[ $(($(hk "$f4" invocations) - i4)) = $((na * 100)) ] && [ $(($(hk "$f6" dropped) - d6)) = $((nb * 100)) ] &&
        [ $(($(hk "$f6" invocations) - i6)) = $((nb * 100)) ] && [ $(hk "$f4" unfiltered) = 0 ] && [ $(hk "$f6" unfiltered) = 0 ]"
t "detach both forward attachments" sh -c "kplc kernel detach $f4 && kplc kernel detach $f6"
tf "after detach, routed IPv4 to the blocked port arrives again" "received 10 of 10" 4 4446 10
tf "after detach, routed IPv6 to the blocked port arrives again" "received 10 of 10" 6 4446 10
kplc kernel unload "$w"
# Attached from inside B: B's own local-in, which sees what is routed to
# B and nothing of the other namespaces.
bl=$(nsenter -n -t "$nsB" kplc kernel attach "$u" --hook ipv4:local-in --entry filter_at)
t "attach at ipv4:local-in from inside namespace B" test -n "$bl"
t "B lists it; this namespace does not" \
    sh -c "nsenter -n -t $nsB kplc kernel hooks | grep -q '^$bl ipv4:local-in ' && ! kplc kernel hooks | grep -q '^$bl '"
tf "B's attachment drops datagrams routed to B's blocked port" "received 0 of 10" 4 4446 10 100
tf "B's attachment passes datagrams routed to another port" "received 10 of 10" 4 5561 10
t "the same port is open here (the router's own traffic)" \
    sh -c "kplc kernel probe --port 4446 --count 10 | grep -q 'received 10 of 10\$'"
t "the same port is open in A" \
    sh -c "nsenter -n -t $nsA kplc kernel probe --port 4446 --count 10 | grep -q 'received 10 of 10\$'"
t "B's attachment saw B's 20 datagrams and none of the others' 20: 10 dropped" \
    sh -c "[ $(hk "$bl" invocations) = 20 ] && [ $(hk "$bl" dropped) = 10 ]"
t "detach from inside B" nsenter -n -t "$nsB" kplc kernel detach "$bl"
touch /tmp/fw.done
wait $nsA
wait $nsB
echo 0 >/proc/sys/net/ipv4/ip_forward
echo 0 >/proc/sys/net/ipv6/conf/all/forwarding
echo "forward hooks under routed traffic: $(($(now_ms) - fw0)) ms"
t "the family argument always matched the packet's IP version" \
    test "$(kplc kernel run "$u" --entry mismatches 2>/dev/null)" = 0
# The same hook at two priorities: the lower runs first, and a packet it
# drops never reaches the other.
v=$(kplc kernel load /t/udp_block.kpo --name udp_block_late)
kplc kernel run "$v" --entry block_port --arg 4448 >/dev/null 2>&1
early=$(kplc kernel attach "$u" --hook ipv4:local-in --priority -50)
late=$(kplc kernel attach "$v" --hook ipv4:local-in)
t "two plugins at ipv4:local-in, priorities -50 and 0" sh -c "[ -n '$early' ] && [ -n '$late' ] && [ '$early' != '$late' ]"
t "port 4446 dropped by the first" sh -c "kplc kernel probe --port 4446 --count 10 | grep -q 'received 0 of 10\$'"
t "port 4448 dropped by the second" sh -c "kplc kernel probe --port 4448 --count 10 | grep -q 'received 0 of 10\$'"
kplc kernel hooks
t "priority -50 saw all 20 (10 dropped, 10 accepted); priority 0 only the 10 it dropped" \
    sh -c "[ $(hk "$early" dropped) = 10 ] && [ $(hk "$early" accepted) = 10 ] && [ $(hk "$late" invocations) = 10 ] && [ $(hk "$late" dropped) = 10 ]"
grep '^hook ' /proc/kpl
t "/proc/kpl lists both attachments" sh -c "[ \$(grep -c '^hook .* ipv4:local-in ' /proc/kpl) = 2 ]"
kplc kernel detach "$early"
kplc kernel detach "$late"
kplc kernel unload "$v"
kplc kernel unload "$u"

echo "== netfilter: a network namespace of its own"
n=$(kplc kernel load /t/udp_block.kpo --name udp_block_ns)
kplc kernel run "$n" --entry block_port --arg 4449 >/dev/null 2>&1
rm -f /tmp/ns.*
# A fresh namespace (busybox unshare -n) that attaches, probes and lists,
# then lives until /tmp/ns.done.
unshare -n sh -c "
    ip link set lo up
    readlink /proc/self/ns/net >/tmp/ns.id
    kplc kernel attach $n >/tmp/ns.att 2>&1
    kplc kernel probe --port 4449 --count 10 >/tmp/ns.probe 2>&1
    kplc kernel hooks >/tmp/ns.hooks 2>&1
    touch /tmp/ns.ready
    while [ ! -e /tmp/ns.done ]; do sleep 1; done
" &
nsp=$!
i=0
while [ ! -e /tmp/ns.ready ] && [ $i -lt 60 ]; do sleep 1; i=$((i + 1)); done
cat /tmp/ns.id /tmp/ns.att /tmp/ns.probe /tmp/ns.hooks
ino=$(sed 's/[^0-9]//g' /tmp/ns.id)
nsatt=$(cat /tmp/ns.att)
t "attach inside a fresh network namespace (unshare -n)" sh -c "[ '$nsatt' -ge 1 ]"
t "in that namespace the blocked port is dropped" grep -q 'received 0 of 10$' /tmp/ns.probe
t "that namespace lists only its own attachment" \
    sh -c "[ \$(wc -l </tmp/ns.hooks) = 1 ] && grep -q '^$nsatt ipv4:local-in priority 0 netns $ino ' /tmp/ns.hooks"
t "this namespace's list does not show it" sh -c "! kplc kernel hooks | grep -q '^$nsatt '"
t "the list of every namespace shows it, in the other namespace" test "$(hk "$nsatt" netns)" = "$ino"
t "it filters nothing here: the same port is open in this namespace" \
    sh -c "kplc kernel probe --port 4449 --count 10 | grep -q 'received 10 of 10\$'"
t "the plugin attached in the namespace cannot be unloaded (EBUSY)" \
    sh -c "kplc kernel unload $n 2>&1 | grep -q busy"
touch /tmp/ns.done
wait $nsp
# The namespace goes with its last process; its cleanup runs in a
# workqueue, and the module's pernet exit detaches what was attached there.
i=0
while [ -n "$(hk "$nsatt" netns)" ] && [ $i -lt 60 ]; do sleep 1; i=$((i + 1)); done
t "deleting the namespace detached its attachment (after ${i} s)" test -z "$(hk "$nsatt" netns)"
t "the kernel log says so" sh -c "dmesg | grep -q 'kpl: attachment $nsatt detached: its network namespace is gone'"
t "its plugin reference is dropped: the plugin unloads" kplc kernel unload "$n"
t "no attachment left" sh -c "[ -z \"\$(kplc kernel hooks --all-netns)\" ]"

echo "== netfilter: the packet_filter example (TCP allow-list)"
pf=$(kplc kernel load /t/packet_filter.kpo)
kplc kernel run "$pf" --entry allow_port --arg 7000 $B >/dev/null 2>&1
kplc kernel run "$pf" --entry allow_port --arg 7001 $B >/dev/null 2>&1
# 100 ms: its allow-list loop must not be cut short by a stalled vCPU.
pfa=$(kplc kernel attach "$pf" --budget-ns 100000000)
t "attach packet_filter" test -n "$pfa"
t "TCP to an allowed port connects and carries 1 MiB (large segments too)" \
    sh -c "kplc kernel tcp-probe --port 7000 --src 7001 --bytes 1048576 | grep -q 'sent 1048576 bytes, received 1048576'"
t "TCP to another port is dropped" sh -c "kplc kernel tcp-probe --port 7002 --src 7001 | grep -q 'timed out'"
t "UDP passes packet_filter" sh -c "kplc kernel probe --port 5555 --count 20 | grep -q 'received 20 of 20'"
t "detach packet_filter" kplc kernel detach "$pfa"
t "without the filter TCP to that port connects" sh -c "kplc kernel tcp-probe --port 7002 --src 7003 | grep -q connected"
kplc kernel unload "$pf"

echo "== concurrency: load/run/unload from two processes on two CPUs"
taskset -c 0 kplc kernel stress /t/spin.kpo --cycles "${KPL_STRESS:-2000}" --entry inc --arg 41 --expect 42 >/tmp/s0 2>&1 &
p0=$!
taskset -c 1 kplc kernel stress /t/spin.kpo --cycles "${KPL_STRESS:-2000}" --entry inc --arg 41 --expect 42 >/tmp/s1 2>&1 &
p1=$!
wait $p0
r0=$?
wait $p1
r1=$?
cat /tmp/s0 /tmp/s1
t "stress on CPU 0" test $r0 = 0
t "stress on CPU 1" test $r1 = 0
t "no plugin left behind" sh -c "out=\$(kplc kernel list) && [ -z \"\$out\" ]"

echo "== statics by name: an atomic counter bumped from two CPUs at once"
cid=$(kplc kernel load /t/counter.kpo)
t "load the counter plugin" test -n "$cid"
# R rounds of two invocations, one pinned to each CPU. The two of a round
# wait for each other inside the plugin before counting (each process
# starts at its own time, and under emulation starting one takes longer
# than N bumps), and the plugin records how many invocations were inside
# at once and how many bumps it made while the other was inside too.
N=${KPL_BUMPS:-50000}
R=4
c0=$(now_ms)
for cpu in 0 1; do
    (
        r=0
        while [ $r -lt $R ]; do
            taskset -c $cpu kplc kernel run "$cid" --entry bump --arg "$N" --arg $cpu --arg $r \
                --budget-ns 5000000000 >/dev/null 2>/tmp/bump$cpu.err || echo "bump failed on CPU $cpu: $(cat /tmp/bump$cpu.err)"
            r=$((r + 1))
        done
    ) >/tmp/bump$cpu 2>&1 &
done
wait
cat /tmp/bump0 /tmp/bump1
want=$((2 * R * N))
got=$(kplc kernel stat "$cid" hits)
racy=$(kplc kernel stat "$cid" racy)
most=$(kplc kernel stat "$cid" most_inside)
both=$(kplc kernel stat "$cid" overlapped)
echo "counter: at most $most invocations inside at once; $both of $want bumps made while both were inside;" \
    "plain += lost $((want - racy)) updates (informational); $(($(now_ms) - c0)) ms"
t "the two CPUs' invocations ran at the same time: most_inside = 2, $both bumps overlapped" \
    sh -c "[ '$most' = 2 ] && [ '$both' -gt 0 ] && [ ! -s /tmp/bump0 ] && [ ! -s /tmp/bump1 ]"
if [ "$got" = "$want" ] && [ ! -s /tmp/bump0 ] && [ ! -s /tmp/bump1 ]; then
    ok "atomic_add from two CPUs counted every update, read by name: $got (plain +=: $racy)"
else
    bad "atomic_add from two CPUs: hits = $got, expected $want (plain +=: $racy)"
fi
t "no invocation left inside: active = 0" test "$(kplc kernel stat "$cid" active)" = 0
t "array element by name: per_cpu[1] = $R" sh -c "[ \"\$(kplc kernel stat $cid per_cpu --index 1)\" = $R ]"
t "set an i16 static by name (prints the old value 0)" \
    sh -c "[ \"\$(kplc kernel set $cid level -- -300)\" = 0 ]"
t "the plugin sees the value set" sh -c "[ \"\$(kplc kernel run $cid --entry get_level)\" = -300 ]"
t "stat prints it signed" sh -c "[ \"\$(kplc kernel stat $cid level)\" = -300 ]"
t "set resets a counter" sh -c "[ \"\$(kplc kernel set $cid hits 0)\" = $want ] && [ \"\$(kplc kernel stat $cid hits)\" = 0 ]"
t "an unknown static is refused" sh -c "! kplc kernel stat $cid nope"
t "an index past the end is refused" sh -c "! kplc kernel stat $cid per_cpu --index 2"
t "a value the type cannot hold is refused" sh -c "! kplc kernel set $cid level 40000"
t "unload the counter plugin" kplc kernel unload "$cid"

echo "== kernel services: the API, from a client module"
held() { grep -q "^services handles $1 unloaded_held $2\$" /proc/kpl; }
k1=$(kplc kernel load /t/spin.kpo --name svc_spin)
k2=$(kplc kernel load /t/imports.kpo --name svc_imports)
k3=$(kplc kernel load /t/udp_block.kpo --name svc_udp)
dmesg -c >/dev/null
t "insmod kplsvccheck.ko (runs its checks of the API)" insmod /t/kplsvccheck.ko
dmesg | grep 'kplsvccheck:' | sed 's/^\[[ 0-9.]*\] //'
t "the API's checks from a client module: all passed" \
    sh -c "dmesg | grep -q 'kplsvccheck: [1-9][0-9]* passed, 0 failed'"
t "rmmod kplsvccheck" rmmod kplsvccheck
t "its references are all released" held 0 0
kplc kernel unload "$k1"
kplc kernel unload "$k2"
kplc kernel unload "$k3"

echo "== kernel services: the sample client kplgray.ko (/dev/kplgray)"
# A kernel module calls a plugin through kpl.ko's exported API
# (include/kpl_services.h): each write() to /dev/kplgray is an RGB24
# frame, transcoded by the plugin named grayscale; read() returns the
# gray bytes. Expected outputs were computed on the build host by
# scripts/kernel-test.sh (Python, not KPL).
GS=/sys/class/misc/kplgray/stats
st() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' "$GS"; }
t "insmod kplgray.ko (budget 2 s a frame)" insmod /t/kplgray.ko budget_ns=2000000000
t "/dev/kplgray is a character device" test -c /dev/kplgray
t "kpl is in use by kplgray" sh -c "grep -q '^kpl .*kplgray' /proc/modules"
t "a frame with no plugin loaded fails (ENOENT)" \
    sh -c "kplgray-test frame /dev/kplgray /t/sample.rgb /t/sample.gray | grep -q 'write: No such file or directory'"
g=$(kplc kernel load /t/grayscale.kpo --name grayscale)
echo 0 >"$GS"
t "sample.rgb (64x32) through /dev/kplgray is the expected grayscale, byte for byte" \
    kplgray-test frame /dev/kplgray /t/sample.rgb /t/sample.gray
cat "$GS"
echo "kplgray: 64x32 frame: in-kernel invoke $(st last_ns) ns (kpl_plugin_call $(st last_call_ns) ns)"
echo 0 >"$GS"
t "three 1920x1080 frames through /dev/kplgray, each the expected grayscale" \
    kplgray-test loop /dev/kplgray /t/frame1080.rgb /t/frame1080.gray 3
cat "$GS"
echo "kplgray: 1920x1080 frame: in-kernel invoke $(st min_ns) ns, best of 3 (kpl_plugin_call $(st min_call_ns) ns)"
echo 0 >"$GS"
t "1000 one-pixel frames" kplgray-test loop /dev/kplgray /t/px.rgb /t/px.gray 1000
cat "$GS"
echo "kplgray: 1-pixel frame: in-kernel invoke min $(st min_ns) ns, mean $(($(st total_ns) / 1000)) ns; kpl_plugin_call min $(st min_call_ns) ns, mean $(($(st total_call_ns) / 1000)) ns"
t "every frame counted, none trapped or refused" \
    sh -c "[ $(st frames) = 1000 ] && [ $(st traps) = 0 ] && [ $(st refused) = 0 ]"

# One open file holds a reference across unload and reload.
exec 4<>/dev/kplgray
t "an open file's first frame takes a reference" kplgray-test frame fd:4 /t/sample.rgb /t/sample.gray
t "/proc/kpl counts the client" sh -c "grep -Eq '^$g grayscale .* clients 1( |\$)' /proc/kpl"
t "rmmod kplgray while a file is open is refused" sh -c "! rmmod kplgray 2>/dev/null"
t "rmmod kpl while kplgray uses it is refused" sh -c "! rmmod kpl 2>/dev/null"
t "unload the plugin while the client holds a reference" kplc kernel unload "$g"
t "the unloaded plugin is held by the client, not freed" held 1 1
t "the next frame drops the stale reference; no plugin of that name (ENOENT)" \
    sh -c "kplgray-test frame fd:4 /t/sample.rgb /t/sample.gray | grep -q 'write: No such file or directory'"
t "the last reference gone, the unloaded plugin is freed" held 0 0
g=$(kplc kernel load /t/grayscale.kpo --name grayscale)
t "the same open file reaches the newly loaded plugin" kplgray-test frame fd:4 /t/sample.rgb /t/sample.gray
exec 4>&-
t "closing the file releases its reference" held 0 0

# Replace (load the new one, unload the old) 20 times while two streams
# of frames run on two CPUs; every frame must come out right, and frames
# are inside the plugin when it is unloaded.
echo 0 >"$GS"
rm -f /tmp/stop
taskset -c 0 kplgray-test loop /dev/kplgray /t/sample.rgb /t/sample.gray 1000000 /tmp/stop >/tmp/l0 2>&1 &
l0=$!
taskset -c 1 kplgray-test loop /dev/kplgray /t/frame1080.rgb /t/frame1080.gray 1000000 /tmp/stop >/tmp/l1 2>&1 &
l1=$!
sleep 1
r=0
i=0
while [ $i -lt 20 ]; do
    n=$(kplc kernel load /t/grayscale.kpo --name grayscale) || r=1
    kplc kernel unload "$g" || r=1
    g=$n
    i=$((i + 1))
done
sleep 1
touch /tmp/stop
wait $l0
r0=$?
wait $l1
r1=$?
cat /tmp/l0 /tmp/l1 "$GS"
t "20 replaces under two streams of frames" test $r = 0
t "every 64x32 frame (CPU 0) transcoded and identical during the replaces" test $r0 = 0
t "every 1920x1080 frame (CPU 1) transcoded and identical during the replaces" test $r1 = 0
t "the client followed the replaces (stale references dropped: $(st stale))" sh -c "[ $(st stale) -ge 2 ]"
t "only the current plugin is left; every replaced one freed" \
    sh -c "grep -q '^services handles 0 unloaded_held 0\$' /proc/kpl && [ \$(grep -c ' grayscale code ' /proc/kpl) = 1 ]"

# The budget, enforced as for a test run.
echo 1000 >/sys/module/kplgray/parameters/budget_ns
t "with a 1 us budget the 1920x1080 frame traps (Budget): ETIME" \
    sh -c "kplgray-test frame /dev/kplgray /t/frame1080.rgb /t/frame1080.gray | grep -q 'write: Timer expired'"
t "the trap is counted" sh -c "[ $(st traps) -ge 1 ]"
echo 2000000000 >/sys/module/kplgray/parameters/budget_ns
t "the next frame runs again" kplgray-test frame /dev/kplgray /t/sample.rgb /t/sample.gray

# Signatures are checked before anything runs.
kplc kernel unload "$g"
w=$(kplc kernel load /t/gray_wrong.kpo --name grayscale)
t "an export of another signature ([]u8, []mut u16) is refused (EINVAL)" \
    sh -c "kplgray-test frame /dev/kplgray /t/sample.rgb /t/sample.gray | grep -q 'write: Invalid argument'"
t "... and never ran" sh -c "awk '\$1 == $w { exit !(\$10 == 0) }' /proc/kpl"
kplc kernel unload "$w"
s=$(kplc kernel load /t/spin.kpo --name grayscale)
t "a plugin without the export is refused (ESRCH)" \
    sh -c "kplgray-test frame /dev/kplgray /t/sample.rgb /t/sample.gray | grep -q 'write: No such process'"
kplc kernel unload "$s"
t "rmmod kplgray once no file is open" rmmod kplgray
t "no client handle left" held 0 0
t "no plugin left behind" sh -c "out=\$(kplc kernel list) && [ -z \"\$out\" ]"

echo "== rmmod"
t "rmmod kpl" rmmod kpl
if dmesg | grep -E 'BUG|Oops|WARNING|rcu_sched self-detected stall|rcu.*stall|soft lockup|W\+X pages found|Call Trace' | grep -v 'no W+X'; then
    bad "kernel log has a BUG, Oops, WARNING, stall, lockup or W+X complaint"
else
    ok "kernel log is clean"
fi
echo "kpltest: $pass passed, $fail failed"
