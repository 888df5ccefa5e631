/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kpl.ko's kernel services: the API other kernel modules use to call the
 * KPL plugins loaded into kpl.ko (book/src/runtime/services.md).
 *
 *	struct kpl_plugin *p = kpl_plugin_get("grayscale");
 *	struct kpl_arg args[] = {
 *		KPL_ARG_SLICE(KPL_T_U8, rgb, rgb_len),
 *		KPL_ARG_MUT_SLICE(KPL_T_U8, gray, rgb_len / 3),
 *	};
 *	struct kpl_call call = { .budget_ns = 20000000, .ret = KPL_T_U32 };
 *	int err = kpl_plugin_call(p, "grayscale", args, 2, &call);
 *	...
 *	kpl_plugin_release(p);
 *
 * - kpl_plugin_get takes a reference on the newest loaded plugin of that
 *   name, and on kpl.ko. The plugin's code, data and object stay valid
 *   until kpl_plugin_release, even if it is unloaded or replaced: calls
 *   on an unloaded plugin fail with -ESTALE (release it and get the name
 *   again to reach its replacement).
 * - kpl_plugin_call checks the export's signature against the arguments'
 *   declared types (and the expected return type), every scalar against
 *   its type's range and every buffer against its element size, then
 *   runs the export on this CPU under a time budget (fuel and the
 *   watchdog, as for a test run). The buffers are the caller's kernel
 *   memory, handed to the plugin in place (no copy); the caller keeps
 *   them alive and unchanged by others during the call.
 * - Task context only, with interrupts enabled (not in an interrupt,
 *   softirq or NMI: the watchdog needs its timer): the call runs with
 *   preemption disabled for at most its budget; get and release may
 *   sleep. The plugin runs on the caller's stack, which must have room
 *   for the plugin's verified stack depth plus a reserve, else -E2BIG.
 *
 * Build a client against kpl.ko's Module.symvers (KBUILD_EXTRA_SYMBOLS);
 * runtime-kmod/kmod/sample-client/ is a complete example.
 */
#ifndef KPL_SERVICES_H
#define KPL_SERVICES_H

#include <linux/types.h>
#include "../uapi/kpl.h"	/* KPL_DEFAULT_BUDGET_NS, KPL_MAX_BUDGET_NS */

/* A loaded plugin, as a reference from kpl_plugin_get. Opaque. */
struct kpl_plugin;

/* Types, as in the object's export signatures (runtime-kmod/core). */
#define KPL_T_U8	1
#define KPL_T_U16	2
#define KPL_T_U32	3
#define KPL_T_U64	4
#define KPL_T_I8	5
#define KPL_T_I16	6
#define KPL_T_I32	7
#define KPL_T_I64	8
#define KPL_T_BOOL	9
#define KPL_T_NONE	0xff	/* as kpl_call.ret: the export returns nothing */
/* A slice parameter: []T read-only, []mut T writable. */
#define KPL_T_SLICE(t)		(0x80 | (t))
#define KPL_T_MUT_SLICE(t)	(0xc0 | (t))

/* Trap kinds (kpl_call.trap_kind). */
#define KPL_TRAP_DIV_BY_ZERO	1
#define KPL_TRAP_OVERFLOW	2
#define KPL_TRAP_BOUNDS		3
#define KPL_TRAP_BUDGET		4
#define KPL_TRAP_ABORT		5

/* At most this many arguments (the ABI's six argument registers). */
#define KPL_MAX_ARGS		6

/* One argument. */
struct kpl_arg {
	u8 type;	/* KPL_T_*, KPL_T_SLICE(...) or KPL_T_MUT_SLICE(...) */
	u64 value;	/* a scalar: its value, in range for its type (a
			 * signed type sign-extended to 64 bits, bool 0/1) */
	void *ptr;	/* a slice: kernel address of its bytes */
	size_t len;	/* a slice: bytes, whole elements, at most
			 * U32_MAX bytes (every length the plugin sees
			 * stays below 2^32) */
};

#define KPL_ARG_SCALAR(t, v) \
	((struct kpl_arg){ .type = (t), .value = (u64)(v) })
#define KPL_ARG_SLICE(t, p, n) \
	((struct kpl_arg){ .type = KPL_T_SLICE(t), .ptr = (void *)(p), .len = (n) })
#define KPL_ARG_MUT_SLICE(t, p, n) \
	((struct kpl_arg){ .type = KPL_T_MUT_SLICE(t), .ptr = (p), .len = (n) })

/* One call: the budget and expected return type in, the outcome out. */
struct kpl_call {
	/* in */
	u64 budget_ns;		/* wall-clock budget; 0: KPL_DEFAULT_BUDGET_NS,
				 * at most KPL_MAX_BUDGET_NS */
	u8 ret;			/* the export's return type, KPL_T_NONE if none */
	/* out (when kpl_plugin_call returns 0) */
	bool trapped;		/* the invocation trapped: result is 0 */
	u32 trap_kind;		/* KPL_TRAP_* */
	u32 trap_line, trap_col;	/* source position, 0 when unknown */
	u64 result;		/* the return value, in its type's 64-bit form */
	u64 duration_ns;	/* wall time from entry to return */
	u64 fuel, fuel_left;	/* fuel given (from the budget) and left */
};

/*
 * A reference to the newest loaded plugin named `name` (the name given at
 * load, `kplc kernel load --name`). ERR_PTR(-ENOENT) if there is none,
 * -ENODEV while kpl.ko is being removed, -EINVAL for a NULL name. Holds
 * kpl.ko in memory until released. May sleep.
 */
struct kpl_plugin *kpl_plugin_get(const char *name);

/*
 * Calls `export` of `p` with `nargs` arguments. 0 when the export ran
 * (returned or trapped: see call->trapped), else a negative errno and
 * nothing ran:
 *   -ESTALE  the plugin has been unloaded since kpl_plugin_get
 *   -EIO     the plugin is disabled (the watchdog caught it breaking the
 *            sandbox)
 *   -ESRCH   no export of that name
 *   -EINVAL  the arguments or return type do not match the export's
 *            signature, a scalar is out of its type's range, a slice is
 *            not whole elements, or the budget is over KPL_MAX_BUDGET_NS
 *   -EFAULT  a slice is not kernel memory
 *   -E2BIG   the caller's stack has no room for the plugin's
 *   -EPERM   not called in task context with interrupts enabled
 * Does not sleep; runs with preemption disabled for at most the budget.
 */
int kpl_plugin_call(struct kpl_plugin *p, const char *export,
		    const struct kpl_arg *args, unsigned int nargs,
		    struct kpl_call *call);

/* The plugin's id (as `kplc kernel list` shows it). */
u32 kpl_plugin_id(const struct kpl_plugin *p);

/*
 * Drops a reference from kpl_plugin_get (NULL and ERR_PTR values are
 * ignored). The last reference to an unloaded plugin frees it. May sleep.
 */
void kpl_plugin_release(struct kpl_plugin *p);

#endif
