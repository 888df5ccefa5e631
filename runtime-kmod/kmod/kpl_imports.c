// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel implementations of the std-imports declarations
 * (std-imports/kernel.kpli). The table that links plugins to them,
 * kpl_imports_gen.h, is generated from those declarations by kplc, so
 * names, signatures and hashes cannot drift from the compiler's.
 *
 * Plugin code calls these with the context block first. Every offset,
 * length and slice handle a plugin passes is checked against the plugin's
 * own memory (its rodata, or a slice the runtime handed it) before use.
 * None of them sleeps, blocks or traps: they may run in softirq context.
 */
#include <linux/kernel.h>
#include <linux/printk.h>
#include <linux/random.h>
#include <linux/smp.h>
#include <linux/ktime.h>
#include <linux/timekeeping.h>
#include "kpl_internal.h"
/* First, for its prototypes of the kpl_imp_* functions below (kbuild of
 * 6.12 warns about a global function without a previous prototype). */
#include "kpl_imports_gen.h"

static struct kpl_plugin *plugin_of(struct kpl_ctx *ctx)
{
	return ((struct kpl_inv *)ctx->host)->plugin;
}

/* The [off, off + len) bytes of the plugin's rodata, or NULL. */
static const char *rodata_str(struct kpl_ctx *ctx, u64 off, u64 len, int *out_len)
{
	struct kpl_plugin *p = plugin_of(ctx);

	if (off > p->rodata_len || len > p->rodata_len - off)
		return NULL;
	if (len > 128)
		len = 128;	/* the declared limit: longer messages are cut */
	*out_len = (int)strnlen(p->ro + off, len);
	return p->ro + off;
}

u64 kpl_imp_clock_ns(struct kpl_ctx *ctx)
{
	return ktime_get_ns();
}

static void kpl_log(struct kpl_ctx *ctx, u64 off, u64 len, const char *fmt, s64 v, bool has_v)
{
	struct kpl_plugin *p = plugin_of(ctx);
	const char *s;
	int n = 0;

	if (!__ratelimit(&p->log_rs))
		return;
	s = rodata_str(ctx, off, len, &n);
	if (!s) {
		s = "<invalid string>";
		n = (int)strlen(s);
	}
	if (!has_v)
		pr_info("kpl: %s: %.*s\n", p->name, n, s);
	else if (fmt[0] == 'u')
		pr_info("kpl: %s: %.*s: %llu\n", p->name, n, s, (u64)v);
	else
		pr_info("kpl: %s: %.*s: %lld\n", p->name, n, s, v);
}

u64 kpl_imp_log(struct kpl_ctx *ctx, u64 a1, u64 a2)
{
	kpl_log(ctx, a1, a2, "", 0, false);
	return 0;
}

u64 kpl_imp_log_u64(struct kpl_ctx *ctx, u64 a1, u64 a2, u64 a3)
{
	kpl_log(ctx, a1, a2, "u", (s64)a3, true);
	return 0;
}

u64 kpl_imp_log_i64(struct kpl_ctx *ctx, u64 a1, u64 a2, u64 a3)
{
	kpl_log(ctx, a1, a2, "i", (s64)a3, true);
	return 0;
}

u64 kpl_imp_random_u32(struct kpl_ctx *ctx)
{
	return get_random_u32();
}

u64 kpl_imp_cpu_id(struct kpl_ctx *ctx)
{
	return raw_smp_processor_id();
}

u64 kpl_imp_fill_random(struct kpl_ctx *ctx, u64 handle)
{
	unsigned int h = handle & 7;

	/* Only a slice the runtime handed in as writable, only its bytes. */
	if (!ctx->slice_writable[h] || !ctx->slice_bytes[h])
		return 0;
	get_random_bytes((void *)ctx->slice_ptr[h], ctx->slice_bytes[h]);
	return 0;
}

const struct kpl_host_import *const kpl_import_table = kpl_host_imports;
const size_t kpl_import_count = ARRAY_SIZE(kpl_host_imports);
