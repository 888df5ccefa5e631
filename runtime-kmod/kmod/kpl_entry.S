/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The entry trampoline of the runtime ABI (book/src/runtime/abi.md), the
 * kernel twin of kpl_host_enter in runtime-kmod/host/src/lib.rs.
 *
 * u64 kpl_enter(struct kpl_ctx *ctx, void *data, u64 fuel,
 *               const void *entry, const u64 args[6], u64 *saved_rsp);
 *
 * A trap stub restores rsp from ctx->saved_rsp and returns, which lands
 * just after the call below with the stack as it was.
 *
 * The same rsp also goes to *saved_rsp, the kernel-private invocation
 * record the watchdog reads (kpl_main.c, kpl_wd_stop): the watchdog does
 * not trust the plugin's code or the context block to unwind. It makes a
 * stopped invocation resume at kpl_enter_resume with rsp = *saved_rsp + 8
 * (exactly the state after the call returns) and r15 = ctx, r13 = 0.
 */
#include <linux/linkage.h>
#include <linux/objtool.h>
#include <asm/nospec-branch.h>

	.text
SYM_FUNC_START(kpl_enter)
	push	%rbx
	push	%rbp
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	sub	$8, %rsp
	mov	%rdi, %r15
	mov	%rsi, %r14
	mov	%rdx, %r13
	mov	%rcx, %rax		/* entry, until the arguments are loaded */
	mov	%r8, %r11
	lea	-8(%rsp), %r10
	mov	%r10, 0(%r15)
	mov	%r10, 0(%r9)
	mov	0(%r11), %rdi
	mov	8(%r11), %rsi
	mov	16(%r11), %rdx
	mov	24(%r11), %rcx
	mov	32(%r11), %r8
	mov	40(%r11), %r9
	/*
	 * Call through r11 with rax = 0: the verifier lets an export read
	 * rax and its parameters' registers only (verify/mod.rs,
	 * exports_read_only_their_parameters), so neither the entry address
	 * nor r10 (a stack address) nor the kernel's rbx, rbp, r12 reach the
	 * plugin, and a function without a return value returns 0.
	 */
	mov	%rax, %r11
	xor	%eax, %eax
	CALL_NOSPEC r11
SYM_INNER_LABEL(kpl_enter_resume, SYM_L_GLOBAL)
	/* Reached by return (from the plugin, its trap stubs) or by the
	 * watchdog's interrupt return, never by an indirect branch: no ENDBR. */
	ANNOTATE_NOENDBR
	mov	%r13, 0xa8(%r15)
	add	$8, %rsp
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbp
	pop	%rbx
	RET
SYM_FUNC_END(kpl_enter)

/*
 * void kpl_spin(u64 n): n iterations of the cheapest loop plugin code can
 * have (a fuel decrement and a branch), for calibrating fuel per ns.
 */
SYM_FUNC_START(kpl_spin)
	test	%rdi, %rdi
	jz	2f
1:	dec	%rdi
	jnz	1b
2:	RET
SYM_FUNC_END(kpl_spin)
