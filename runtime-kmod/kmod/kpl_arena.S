/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The two arenas plugin images live in, inside the module itself (so the
 * module loader maps them, next to the module's code, and they are within
 * rel32 reach of each other and of the kernel):
 *
 *  - kpl_arena, in a text section: plugin CODE only. Mapped read-only +
 *    executable (CONFIG_STRICT_MODULE_RWX).
 *  - kpl_roarena, in a read-only data section: each plugin's RODATA and
 *    import slots. Mapped read-only and never executable, so no byte a
 *    plugin's data or a linked address consists of can run as code.
 *
 * kpl_main.c writes into either only through a temporary read-write,
 * non-executable alias.
 *
 * The code arena is @progbits, filled with int3 (what a freed page holds
 * too), and costs its size in the .ko file: where objtool checks the
 * linked module as a whole (kernels with CONFIG_X86_KERNEL_IBT, e.g.
 * Debian's 6.12), it decodes every executable section and crashes on an
 * @nobits one; int3 it decodes as traps and accepts unreached. The
 * read-only arena is not executable and stays @nobits (free in the file).
 */
#include <linux/objtool.h>

#ifndef KPL_ARENA_SIZE
#define KPL_ARENA_SIZE (1024 * 1024)
#endif
#ifndef KPL_ROARENA_SIZE
#define KPL_ROARENA_SIZE (1024 * 1024)
#endif
	.section .kpl_arena, "ax", @progbits
	.balign 4096
	.globl kpl_arena
kpl_arena:
	/* Its address is taken (bounds), never branched to. (kpl_enter's
	 * indirect call lands on an export, and the verifier requires every
	 * plugin function to start with ENDBR64, so that holds under IBT.) */
	ANNOTATE_NOENDBR
	.fill KPL_ARENA_SIZE, 1, 0xcc
	.globl kpl_arena_end
kpl_arena_end:

	.section .kpl_roarena, "a", @nobits
	.balign 4096
	.globl kpl_roarena
kpl_roarena:
	.skip KPL_ROARENA_SIZE
	.globl kpl_roarena_end
kpl_roarena_end:
