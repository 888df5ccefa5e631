// SPDX-License-Identifier: GPL-2.0
/*
 * kplsvccheck.ko: checks of kpl.ko's kernel services API
 * (include/kpl_services.h) from a client's side, for the kernel test
 * (runtime-kmod/kmod/tests/vm-test.sh) only. Its init calls the test
 * plugins the test loaded under fixed names -- svc_spin (tests/spin.kpl),
 * svc_imports (tests/imports.kpl), svc_udp (tests/udp_block.kpl) -- with
 * good and bad arguments, logs one line per check and
 * "kplsvccheck: N passed, M failed", and stays loaded until rmmod.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/err.h>
#include <linux/slab.h>
#include "kpl_services.h"

static int passed, failed;

static void check(bool ok, const char *what, long got)
{
	if (ok)
		passed++;
	else
		failed++;
	pr_info("kplsvccheck: %s: %s (%ld)\n", ok ? "PASS" : "FAIL", what, got);
}

/* Calls `export` of `p`: kpl_plugin_call's return value. */
static int call(struct kpl_plugin *p, const char *export, const struct kpl_arg *args,
		unsigned int nargs, u8 ret, u64 budget_ns, struct kpl_call *c)
{
	memset(c, 0, sizeof(*c));
	c->ret = ret;
	c->budget_ns = budget_ns;
	return kpl_plugin_call(p, export, args, nargs, c);
}

static void check_spin(struct kpl_plugin *p)
{
	struct kpl_arg a = KPL_ARG_SCALAR(KPL_T_U64, 41);
	struct kpl_call c;
	u8 *pkt = kzalloc(64, GFP_KERNEL);
	int r;

	r = call(p, "inc", &a, 1, KPL_T_U64, 0, &c);
	check(!r && !c.trapped && c.result == 42, "inc(41) returns 42", r ? r : (long)c.result);
	check(c.duration_ns > 0 && c.fuel > 0, "the call reports its time and fuel", c.duration_ns);
	r = call(p, "nope", &a, 1, KPL_T_U64, 0, &c);
	check(r == -ESRCH, "an unknown export: ESRCH", r);
	r = call(p, "inc", &a, 0, KPL_T_U64, 0, &c);
	check(r == -EINVAL, "too few arguments: EINVAL", r);
	a.type = KPL_T_U32;
	r = call(p, "inc", &a, 1, KPL_T_U64, 0, &c);
	check(r == -EINVAL, "a u32 for a u64 parameter: EINVAL", r);
	a.type = KPL_T_I64;
	r = call(p, "inc", &a, 1, KPL_T_U64, 0, &c);
	check(r == -EINVAL, "an i64 for a u64 parameter: EINVAL", r);
	a.type = KPL_T_U64;
	r = call(p, "inc", &a, 1, KPL_T_U32, 0, &c);
	check(r == -EINVAL, "expecting u32 from a u64 export: EINVAL", r);
	r = call(p, "inc", &a, 1, KPL_T_NONE, 0, &c);
	check(r == -EINVAL, "expecting nothing from a u64 export: EINVAL", r);
	r = call(p, "inc", &a, 1, KPL_T_U64, KPL_MAX_BUDGET_NS + 1, &c);
	check(r == -EINVAL, "a budget over the limit: EINVAL", r);

	r = call(p, "spin", NULL, 0, KPL_T_U64, 1000000, &c);
	check(!r && c.trapped && c.trap_kind == KPL_TRAP_BUDGET && c.trap_line > 0,
	      "an infinite loop traps (Budget, with its line) within a 1 ms budget",
	      r ? r : (long)c.duration_ns);
	check(c.result == 0 && c.fuel_left == 0, "a trapped call returns 0 with no fuel left",
	      (long)c.fuel_left);

	if (!pkt)
		return;
	a = (struct kpl_arg)KPL_ARG_SLICE(KPL_T_U16, pkt, 64);
	r = call(p, "spin_filter", &a, 1, KPL_T_U32, 0, &c);
	check(r == -EINVAL, "a []u16 for a []u8 parameter: EINVAL", r);
	a = (struct kpl_arg)KPL_ARG_SCALAR(KPL_T_U8, 0);
	r = call(p, "spin_filter", &a, 1, KPL_T_U32, 0, &c);
	check(r == -EINVAL, "a scalar for a slice parameter: EINVAL", r);
	a = (struct kpl_arg)KPL_ARG_SLICE(KPL_T_U8, (void *)0x10000, 64);
	r = call(p, "spin_filter", &a, 1, KPL_T_U32, 0, &c);
	check(r == -EFAULT, "a user-space address as a slice: EFAULT", r);
	a = (struct kpl_arg)KPL_ARG_SLICE(KPL_T_U8, NULL, 64);
	r = call(p, "spin_filter", &a, 1, KPL_T_U32, 0, &c);
	check(r == -EFAULT, "a NULL slice of 64 bytes: EFAULT", r);
	a = (struct kpl_arg)KPL_ARG_SLICE(KPL_T_U8, (void *)-16L, 64);
	r = call(p, "spin_filter", &a, 1, KPL_T_U32, 0, &c);
	check(r == -EFAULT, "a slice wrapping around the address space: EFAULT", r);
	a = (struct kpl_arg)KPL_ARG_MUT_SLICE(KPL_T_U8, pkt, 64);
	r = call(p, "spin_filter", &a, 1, KPL_T_U32, 1000000, &c);
	check(!r && c.trapped && c.trap_kind == KPL_TRAP_BUDGET,
	      "a writable buffer for a []u8 parameter runs (and the loop traps)", r);
	kfree(pkt);
}

static void check_imports(struct kpl_plugin *p)
{
	struct kpl_arg a;
	struct kpl_call c;
	u8 *buf = kzalloc(64, GFP_KERNEL);
	int r, i, nonzero = 0;

	if (!buf)
		return;
	a = (struct kpl_arg)KPL_ARG_SLICE(KPL_T_U8, buf, 64);
	r = call(p, "fill", &a, 1, KPL_T_U32, 0, &c);
	check(r == -EINVAL, "a read-only buffer for a []mut u8 parameter: EINVAL", r);
	/* Refused on its length alone: the 4 GiB are never touched. */
	a = (struct kpl_arg)KPL_ARG_MUT_SLICE(KPL_T_U8, buf, 1ULL << 32);
	r = call(p, "fill", &a, 1, KPL_T_U32, 0, &c);
	check(r == -EINVAL, "a 4 GiB buffer: EINVAL (lengths stay below 2^32)", r);
	a = (struct kpl_arg)KPL_ARG_MUT_SLICE(KPL_T_U8, buf, 64);
	r = call(p, "fill", &a, 1, KPL_T_U32, 100000000, &c);
	for (i = 0; i < 64; i++)
		nonzero += buf[i] != 0;
	check(!r && !c.trapped && nonzero >= 56,
	      "fill_random fills the caller's writable buffer in place", nonzero);
	r = call(p, "cpu", NULL, 0, KPL_T_U32, 0, &c);
	check(!r && !c.trapped && c.result < num_possible_cpus(),
	      "cpu_id returns a CPU of this machine", r ? r : (long)c.result);
	kfree(buf);
}

static void check_udp(struct kpl_plugin *p)
{
	struct kpl_arg a = KPL_ARG_SCALAR(KPL_T_U32, 1ULL << 32);
	struct kpl_call c;
	int r;

	r = call(p, "block_port", &a, 1, KPL_T_U32, 0, &c);
	check(r == -EINVAL, "2^32 for a u32 parameter: EINVAL", r);
	a.value = 4444;
	r = call(p, "block_port", &a, 1, KPL_T_U32, 0, &c);
	check(!r && !c.trapped, "4444 for a u32 parameter runs", r);
}

static int __init kplsvccheck_init(void)
{
	struct kpl_plugin *p;

	p = kpl_plugin_get("svc_no_such_plugin");
	check(PTR_ERR(p) == -ENOENT, "get an unknown name: ENOENT", PTR_ERR(p));
	p = kpl_plugin_get(NULL);
	check(PTR_ERR(p) == -EINVAL, "get NULL: EINVAL", PTR_ERR(p));
	kpl_plugin_release(ERR_PTR(-ENOENT));	/* ignored */
	kpl_plugin_release(NULL);		/* ignored */

	p = kpl_plugin_get("svc_spin");
	check(!IS_ERR(p), "get svc_spin", PTR_ERR_OR_ZERO(p));
	if (!IS_ERR(p)) {
		check(kpl_plugin_id(p) > 0, "its id", kpl_plugin_id(p));
		check_spin(p);
		kpl_plugin_release(p);
	}
	p = kpl_plugin_get("svc_imports");
	check(!IS_ERR(p), "get svc_imports", PTR_ERR_OR_ZERO(p));
	if (!IS_ERR(p)) {
		check_imports(p);
		kpl_plugin_release(p);
	}
	p = kpl_plugin_get("svc_udp");
	check(!IS_ERR(p), "get svc_udp", PTR_ERR_OR_ZERO(p));
	if (!IS_ERR(p)) {
		check_udp(p);
		kpl_plugin_release(p);
	}
	pr_info("kplsvccheck: %d passed, %d failed\n", passed, failed);
	return 0;
}

static void __exit kplsvccheck_exit(void)
{
}

module_init(kplsvccheck_init);
module_exit(kplsvccheck_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KPL kernel test: checks of the kernel services API");
