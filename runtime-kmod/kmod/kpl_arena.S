/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The executable arena: plugin images live here, inside the module's own
 * text. The module loader maps it read-only + executable
 * (CONFIG_STRICT_MODULE_RWX) next to the module's code; kpl_main.c writes
 * into it only through a temporary read-write, non-executable alias.
 * @nobits: it costs nothing in the .ko file.
 */
#ifndef KPL_ARENA_SIZE
#define KPL_ARENA_SIZE (1024 * 1024)
#endif
	.section .kpl_arena, "ax", @nobits
	.balign 4096
	.globl kpl_arena
kpl_arena:
	.skip KPL_ARENA_SIZE
	.globl kpl_arena_end
kpl_arena_end:
