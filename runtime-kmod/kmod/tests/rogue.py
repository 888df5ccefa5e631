#!/usr/bin/env python3
"""Makes the kernel test's rogue objects: objects a sound verifier refuses
because their loops ignore their fuel, to check that the module's watchdog
stops them anyway (loaded only through a KPL_TESTING build's
unverified-load ioctl, kpl_testing.h).

    rogue.py rogue.kpo OUT.kpo

Takes rogue.kpo (tests/rogue.kpl compiled by kplc) and replaces the
machine code of each export named below with a hand-written loop, shrinking
the function's length in FUNCTIONS to it (the old bytes stay in CODE,
outside every function, never executed), then recomputes the content hash.
Everything else -- exports, trap stubs, source map -- is kplc's. The loops
use only instructions the loader core's decoder knows, so the split image
writer relocates them like any other code.
"""
import struct
import sys

M64 = (1 << 64) - 1
P1, P2, P3, P4, P5 = (0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                      0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5)


def rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M64


def xxh64(data, seed=0):
    def rnd(acc, lane):
        return (rotl((acc + lane * P2) & M64, 31) * P1) & M64

    def merge(acc, val):
        return (((acc ^ rnd(0, val)) * P1) + P4) & M64

    n, i = len(data), 0
    if n >= 32:
        v = [(seed + P1 + P2) & M64, (seed + P2) & M64, seed, (seed - P1) & M64]
        while i + 32 <= n:
            for k in range(4):
                v[k] = rnd(v[k], struct.unpack_from("<Q", data, i + 8 * k)[0])
            i += 32
        h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & M64
        for k in range(4):
            h = merge(h, v[k])
    else:
        h = (seed + P5) & M64
    h = (h + n) & M64
    while i + 8 <= n:
        h ^= rnd(0, struct.unpack_from("<Q", data, i)[0])
        h = (rotl(h, 27) * P1 + P4) & M64
        i += 8
    if i + 4 <= n:
        h ^= (struct.unpack_from("<I", data, i)[0] * P1) & M64
        h = (rotl(h, 23) * P2 + P3) & M64
        i += 4
    while i < n:
        h ^= (data[i] * P5) & M64
        h = (rotl(h, 11) * P1) & M64
        i += 1
    h ^= h >> 33
    h = (h * P2) & M64
    h ^= h >> 29
    h = (h * P3) & M64
    h ^= h >> 32
    return h


assert xxh64(b"") == 0xEF46DB3751D8E999 and xxh64(b"abc") == 0x44BC2CF5AD770999

ENDBR = bytes.fromhex("f30f1efa")
# n += 1 through the statics: mov rax, [r14]; add rax, 1; mov [r14], rax
BODY = bytes.fromhex("498b06" "4883c001" "498906")


def jmp_back(code_so_far, target):
    """jmp rel32 from the end of code_so_far (+5) back to `target`."""
    return b"\xe9" + struct.pack("<i", target - (len(code_so_far) + 5))


def no_check():
    # A loop with no fuel check at all.
    c = ENDBR
    loop = len(c)
    c += BODY
    return c + jmp_back(c, loop)


def refuel():
    # The fuel check is there but bypassed: r13 is refilled every iteration,
    # so `dec r13; jne` never falls through to the exit.
    c = ENDBR
    loop = len(c)
    c += bytes.fromhex("49c7c5ffffff7f")  # mov r13, 0x7fffffff
    c += BODY
    c += bytes.fromhex("49ffcd")  # dec r13
    c += b"\x0f\x85" + struct.pack("<i", loop - (len(c) + 6))  # jne loop
    return c + bytes.fromhex("b800000000" "c3")  # mov eax, 0; ret


def clobber():
    # Breaks the sandbox: overwrites r15 (the context block), then loops.
    c = ENDBR + bytes.fromhex("49c7c700000000")  # mov r15, 0
    loop = len(c)
    c += BODY
    return c + jmp_back(c, loop)


ROGUE = {"no_check": no_check(), "refuel": refuel(), "clobber": clobber(),
         "filter_no_check": no_check()}


def main():
    src, dst = sys.argv[1], sys.argv[2]
    b = bytearray(open(src, "rb").read())
    assert b[:4] == b"KPO\0"
    nsec = struct.unpack_from("<I", b, 0x14)[0]
    sec = {}
    for k in range(nsec):
        kind, off, ln = struct.unpack_from("<III", b, 0x20 + 12 * k)
        sec[kind] = (off, ln)
    code_off, _ = sec[1]
    str_off, _ = sec[9]

    def name(at):
        o, ln = struct.unpack_from("<II", b, at)
        return bytes(b[str_off + o:str_off + o + ln]).decode()

    f_off, f_len = sec[6]
    done = set()
    for at in range(f_off, f_off + f_len, 20):
        fname = name(at)
        if fname not in ROGUE:
            continue
        start, length = struct.unpack_from("<II", b, at + 8)
        code = ROGUE[fname]
        assert len(code) <= length, f"{fname}: {len(code)} > {length} bytes"
        b[code_off + start:code_off + start + len(code)] = code
        struct.pack_into("<I", b, at + 12, len(code))
        done.add(fname)
    assert done == set(ROGUE), f"missing functions: {set(ROGUE) - done}"
    struct.pack_into("<Q", b, 8, xxh64(bytes(b[0x10:])))
    open(dst, "wb").write(b)


if __name__ == "__main__":
    main()
