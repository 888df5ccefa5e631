// SPDX-License-Identifier: GPL-2.0
/*
 * kpl.ko's kernel services: other kernel modules find a loaded plugin by
 * name, call its exports with scalars and their own buffers under a time
 * budget, and release it (include/kpl_services.h is the API and its
 * contract; book/src/runtime/services.md the guide).
 *
 * References. A handle is a counted reference on the plugin (the same
 * refcount RUN and attachments hold) plus one on this module, so neither
 * the plugin's code, data and object nor kpl.ko can go while a client
 * holds it. UNLOAD takes the plugin off the list and marks it unloaded:
 * calls that start afterwards fail with ESTALE, a call already running
 * finishes on its own reference, and the memory goes with the last
 * reference. Nothing here trusts the client beyond C's contract: every
 * argument is checked against the export's signature before the plugin
 * runs, scalars against their type's range, buffers against their
 * element size and the kernel half of the address space.
 *
 * Calls run in task context with preemption disabled, in the watchdog's
 * KPL_WD_RUN slot (like a test run: at most one per CPU), with this CPU's
 * context block; the buffers are handed to the plugin in place.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/err.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/irqflags.h>
#include <linux/sched.h>
#include <linux/sched/task_stack.h>
#include <linux/string.h>
#include <asm/asm.h>
#include "kpl_internal.h"
#include "include/kpl_services.h"

/*
 * Stack a call needs on top of the plugin's verified depth: kpl_enter's
 * frame, an import's kernel call chain (printk through a console driver
 * is the deepest), an exception frame.
 */
#define KPL_SVC_STACK_RESERVE 4096u

atomic_t kpl_svc_handles = ATOMIC_INIT(0);
atomic_t kpl_svc_held_unloaded = ATOMIC_INIT(0);

/* One context block per CPU for clients' calls (preemption disabled). */
static DEFINE_PER_CPU(struct kpl_frame, kpl_svc_frame);

static_assert(KPL_T_SLICE(0) == 0x80 && KPL_T_MUT_SLICE(0) == 0xc0);
static_assert(KPL_MAX_ARGS <= KPL_MAX_BUFS);

struct kpl_plugin *kpl_plugin_get(const char *name)
{
	struct kpl_plugin *p;

	might_sleep();
	if (!name)
		return ERR_PTR(-EINVAL);
	if (!try_module_get(THIS_MODULE))
		return ERR_PTR(-ENODEV);
	p = kpl_find_client(name);
	if (!p) {
		module_put(THIS_MODULE);
		return ERR_PTR(-ENOENT);
	}
	atomic_inc(&kpl_svc_handles);
	return p;
}
EXPORT_SYMBOL_GPL(kpl_plugin_get);

void kpl_plugin_release(struct kpl_plugin *p)
{
	if (IS_ERR_OR_NULL(p))
		return;
	might_sleep();
	atomic_dec(&p->clients);
	atomic_dec(&kpl_svc_handles);
	kpl_plugin_put(p);	/* may free it (takes kpl_lock) */
	module_put(THIS_MODULE);
}
EXPORT_SYMBOL_GPL(kpl_plugin_release);

u32 kpl_plugin_id(const struct kpl_plugin *p)
{
	return IS_ERR_OR_NULL(p) ? 0 : p->id;
}
EXPORT_SYMBOL_GPL(kpl_plugin_id);

/* Whether `v` is the canonical 64-bit form of a value of scalar type `t`. */
static bool kpl_svc_in_range(u8 t, u64 v)
{
	return kpl_canonical(t, v) == v;
}

/* Room on this task's stack for `need` more bytes (plus the reserve). */
static bool kpl_svc_stack_ok(u64 need)
{
	unsigned long base = (unsigned long)task_stack_page(current);
	unsigned long sp = current_stack_pointer;

	if (sp <= base || sp - base > THREAD_SIZE)
		return false;	/* not on the task stack */
	return sp - base >= need + KPL_SVC_STACK_RESERVE;
}

/* A slice argument for a parameter of type `param`: 0 or -errno. */
static int kpl_svc_check_slice(u8 param, const struct kpl_arg *a)
{
	unsigned int size = kpl_elem_size(param);
	u8 elem = param & 0x0f;

	if (!(a->type & 0x80) || (a->type & 0x0f) != elem || (a->type & 0x30))
		return -EINVAL;
	/* A writable buffer may go to a []T parameter (read-only). */
	if ((param & 0x40) && !(a->type & 0x40))
		return -EINVAL;
	/* Under 4 GiB: every length-table entry below 2^32 (sandbox.md, 7). */
	if (a->len % size || a->len > U32_MAX)
		return -EINVAL;
	if (!a->len)
		return 0;
	if (!a->ptr || (unsigned long)a->ptr < TASK_SIZE_MAX ||
	    a->len - 1 > ULONG_MAX - (unsigned long)a->ptr)
		return -EFAULT;
	return 0;
}

int kpl_plugin_call(struct kpl_plugin *p, const char *export,
		    const struct kpl_arg *args, unsigned int nargs,
		    struct kpl_call *call)
{
	const struct kpl_export *e;
	struct kpl_result r = {};
	struct kpl_trap trap;
	struct kpl_frame *f;
	u64 regs[KPL_MAX_ARGS] = {}, budget;
	unsigned int i, nb = 0, slice_of[KPL_MAX_ARGS] = {};
	int ret;

	/* The watchdog needs its timer interrupt on this CPU. */
	if (WARN_ON_ONCE(!in_task() || irqs_disabled()))
		return -EPERM;
	if (IS_ERR_OR_NULL(p) || !export || !call || (nargs && !args))
		return -EINVAL;
	if (call->budget_ns > KPL_MAX_BUDGET_NS)
		return -EINVAL;
	if (READ_ONCE(p->unloaded))
		return -ESTALE;
	if (READ_ONCE(p->poisoned))
		return -EIO;
	e = kpl_export_named(p, export);
	if (!e)
		return -ESRCH;
	if (e->nparams > KPL_MAX_ARGS || nargs != e->nparams || call->ret != e->ret)
		return -EINVAL;
	for (i = 0; i < nargs; i++) {
		u8 param = e->params[i];

		if (!(param & 0x80)) {
			if (args[i].type != param || !kpl_svc_in_range(param, args[i].value))
				return -EINVAL;
			regs[i] = args[i].value;
			continue;
		}
		ret = kpl_svc_check_slice(param, &args[i]);
		if (ret)
			return ret;
		slice_of[i] = 1;
		regs[i] = nb++;		/* its handle */
	}
	if (!kpl_svc_stack_ok(p->max_stack))
		return -E2BIG;
	budget = call->budget_ns ? call->budget_ns : KPL_DEFAULT_BUDGET_NS;

	/* On this CPU, under its watchdog, until it returns. */
	preempt_disable();
	f = this_cpu_ptr(&kpl_svc_frame);
	memset(&f->ctx, 0, sizeof(f->ctx));
	for (i = 0; i < nargs; i++)
		if (slice_of[i])
			kpl_set_slice(&f->ctx, regs[i], args[i].ptr, args[i].len,
				      (e->params[i] & 0x40) != 0);
	kpl_invoke(p, e->code_offset, f, regs, kpl_fuel_for(budget), budget,
		   KPL_WD_RUN, &r);
	preempt_enable();

	call->trapped = r.trapped;
	call->result = r.trapped ? 0 : r.value;
	call->duration_ns = r.duration_ns;
	call->fuel = r.fuel;
	call->fuel_left = r.fuel_left;
	kpl_trap_info(p, &r, &trap);
	call->trap_kind = trap.kind;
	call->trap_line = trap.line;
	call->trap_col = trap.col;
	return 0;
}
EXPORT_SYMBOL_GPL(kpl_plugin_call);
