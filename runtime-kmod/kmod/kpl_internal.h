/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal interfaces of kpl.ko: the context block of the runtime ABI
 * (book/src/runtime/abi.md), the per-invocation host state the imports
 * see, the invocation path kpl_main.c shares with kpl_services.c, and the
 * C ABI of the Rust loader core (runtime-kmod/kcore).
 */
#ifndef KPL_INTERNAL_H
#define KPL_INTERNAL_H

#include <linux/types.h>
#include <linux/build_bug.h>
#include <linux/stddef.h>
#include <linux/ratelimit.h>
#include <linux/refcount.h>
#include <linux/list.h>
#include <linux/atomic.h>
#include <linux/mutex.h>
#include <linux/compiler.h>
#include "uapi/kpl.h"

/* The context block, layout fixed by the ABI (offsets asserted below). */
struct kpl_ctx {
	u64 saved_rsp;
	u64 trap_site;
	u64 data_base;
	u64 host;		/* struct kpl_inv * */
	u64 slice_ptr[8];
	u64 slice_bytes[8];
	u8 slice_writable[8];
	u64 fuel_left;
	u8 stop;
	u8 _pad[0x4f];
	u64 len_r[4][8];
	u64 len_w[4][8];
} __aligned(64);

static_assert(offsetof(struct kpl_ctx, trap_site) == 0x08);
static_assert(offsetof(struct kpl_ctx, data_base) == 0x10);
static_assert(offsetof(struct kpl_ctx, slice_ptr) == 0x20);
static_assert(offsetof(struct kpl_ctx, slice_bytes) == 0x60);
static_assert(offsetof(struct kpl_ctx, slice_writable) == 0xa0);
static_assert(offsetof(struct kpl_ctx, fuel_left) == 0xa8);
static_assert(offsetof(struct kpl_ctx, stop) == 0xb0);
static_assert(offsetof(struct kpl_ctx, len_r) == 0x100);
static_assert(offsetof(struct kpl_ctx, len_w) == 0x200);
static_assert(sizeof(struct kpl_ctx) == 0x300);

struct kpl_export {
	char name[64];
	u32 code_offset;
	u32 nparams;
	u8 params[8];	/* scalar code, or 0x80 | 0x40 (writable) | elem code */
	u8 ret;		/* scalar code, 0xff: none */
	u8 _pad[7];
};

/* A loaded plugin. Freed when the last reference goes. */
struct kpl_plugin {
	struct list_head node;		/* kpl_plugins, under kpl_lock */
	refcount_t ref;
	u32 id;
	char name[KPL_NAME_LEN];
	u8 *obj;			/* a copy of the object (for trap lookups, INFO) */
	size_t obj_len;
	u8 *code;			/* CODE in the code arena (read + execute) */
	u8 *ro;				/* RODATA, then the import slots, in the
					 * read-only arena (read, never execute) */
	u32 code_first, code_pages;	/* pages of the code arena */
	u32 ro_first, ro_pages;		/* pages of the read-only arena */
	u32 code_len, image_len, rodata_offset, rodata_len, ro_len;
	u8 *data;			/* its own statics, vzalloc'd */
	u32 data_size;
	struct kpl_export *exports;
	u32 nexports, nimports;
	u64 max_stack;
	struct ratelimit_state log_rs;
	atomic64_t invocations, traps, total_ns;
	u32 attached;
	/* Kernel clients (kpl_services.c) holding a reference. */
	atomic_t clients;
	/* Unloaded (no longer listed): clients' calls fail with ESTALE. */
	bool unloaded;
	/* Unloaded while clients held it (counted in kpl_svc_held_unloaded
	 * until freed). Under kpl_lock. */
	bool held_unloaded;
	/* Set by the watchdog when it found the plugin running with its
	 * reserved registers changed (the sandbox failed): no further
	 * invocation is started (RUN fails with EIO, a hook passes). */
	bool poisoned;
};

/* What the imports reach through ctx->host. */
struct kpl_inv {
	struct kpl_plugin *plugin;
};

/* The context block and the invocation state, in one naturally aligned
 * 1 KiB allocation. */
struct kpl_frame {
	struct kpl_ctx ctx;
	struct kpl_inv inv;
};
static_assert(sizeof(struct kpl_frame) <= 1024);

/*
 * trap_site when the watchdog stopped the invocation (no site of the
 * object's table: it interrupted the code wherever it was).
 */
#define KPL_SITE_WATCHDOG (U64_MAX - 1)

/* The outcome of one invocation (kpl_invoke). */
struct kpl_result {
	u64 value, duration_ns, fuel, fuel_left;
	bool trapped;
	bool watchdog;		/* the watchdog unwound it, at stop_offset */
	u32 stop_offset;
	u64 site;
};

/* Where a trapped invocation stopped (kpl_trap_info). */
struct kpl_trap {
	u32 kind;		/* 1 DivByZero, 2 Overflow, 3 Bounds, 4 Budget, 5 Abort */
	u32 offset, line, col;	/* code offset; source line, column (0: unknown) */
	u64 site;		/* trap site, KPL_SITE_WATCHDOG for the watchdog */
};

/*
 * The watchdog's per-CPU invocation slots: RUN and kernel clients run in
 * task context with preemption disabled (at most one per CPU), hooks in
 * softirq with BH disabled (at most one per CPU, may nest in the other).
 */
enum kpl_wd_slot { KPL_WD_RUN, KPL_WD_HOOK, KPL_WD_SLOTS };

/* kpl_main.c */
extern struct mutex kpl_lock;		/* plugins list, ids, arena, attachments */
struct kpl_plugin *kpl_find_locked(u32 id);
void kpl_plugin_put(struct kpl_plugin *p);
struct kpl_plugin *kpl_find_client(const char *name);
const struct kpl_export *kpl_export_named(struct kpl_plugin *p, const char *name);
u64 kpl_fuel_for(u64 budget_ns);
void kpl_set_slice(struct kpl_ctx *c, unsigned int h, void *ptr, u64 bytes,
		   bool writable);
void kpl_invoke(struct kpl_plugin *p, u32 code_offset, struct kpl_frame *f,
		const u64 *args, u64 fuel, u64 budget_ns,
		enum kpl_wd_slot slot, struct kpl_result *r);
void kpl_trap_info(struct kpl_plugin *p, const struct kpl_result *r,
		   struct kpl_trap *t);
u64 kpl_canonical(u8 code, u64 v);
unsigned int kpl_elem_size(u8 code);

/* kpl_hooks.c: netfilter attachments (the ioctls, /proc/kpl lines). */
struct seq_file;
int kpl_hooks_init(void);
void kpl_hooks_exit(void);
void kpl_hooks_show(struct seq_file *m);
long kpl_ioctl_hook_attach(void __user *uarg, size_t usize);
long kpl_ioctl_hook_detach(struct kpl_hook_ref __user *uarg);
long kpl_ioctl_hook_list(struct kpl_hook_list __user *uarg);
long kpl_ioctl_attach(struct kpl_attach __user *uarg);
long kpl_ioctl_detach(struct kpl_hook __user *uarg);
long kpl_ioctl_hook_stats(struct kpl_hook __user *uarg);

/* kpl_services.c: handles held by kernel clients; plugins unloaded while
 * clients still held them, not yet freed (both for /proc/kpl). */
extern atomic_t kpl_svc_handles, kpl_svc_held_unloaded;

/* kpl_entry.S */
u64 kpl_enter(struct kpl_ctx *ctx, void *data, u64 fuel, const void *entry,
	      const u64 *args, u64 *saved_rsp);
void kpl_spin(u64 n);
/* Inside kpl_enter, just after its call into the plugin: where the
 * watchdog makes a stopped invocation resume (with rsp as after the
 * call's return). */
extern const u8 kpl_enter_resume[];

/* The generated import table's entry type (mirrors kcore's KplHostImport). */
struct kpl_host_import {
	const char *module;
	size_t module_len;
	const char *name;
	size_t name_len;
	u64 hash;
	const void *func;
};

/* Rust loader core (runtime-kmod/kcore/src/lib.rs). */
struct kpl_core_info {
	u32 code_len, rodata_offset, rodata_len, slots_offset, slot_count;
	u32 image_len, ro_len, data_size, export_count, import_count, trap_count;
	u32 _pad;
	u64 max_stack, hash;
};

struct kpl_core_error {
	u32 stage;
	u32 offset;
	char rule[16];
	char msg[192];
};

int kpl_core_check(const u8 *obj, size_t len, const struct kpl_host_import *t,
		   size_t nt, struct kpl_core_info *info, struct kpl_core_error *err);
#ifdef KPL_TESTING
int kpl_core_check_unverified(const u8 *obj, size_t len,
			      const struct kpl_host_import *t, size_t nt,
			      struct kpl_core_info *info,
			      struct kpl_core_error *err);
#endif
int kpl_core_write(const u8 *obj, size_t len, const struct kpl_host_import *t,
		   size_t nt, u8 *code, size_t code_len, u8 *ro, size_t ro_len,
		   s64 ro_delta, u8 *data, size_t data_len,
		   struct kpl_core_error *err);
int kpl_core_export(const u8 *obj, size_t len, u32 index, struct kpl_export *out);
int kpl_core_import(const u8 *obj, size_t len, u32 index, char *buf, size_t buf_len);
/* A static of the object's STATICS table (kcore's KplStatic). */
struct kpl_core_static {
	u32 offset;
	u32 size;
	u32 elem;	/* scalar code of the static or its elements, 0: none */
	u32 count;
};
int kpl_core_static(const u8 *obj, size_t len, const char *name, size_t name_len,
		    struct kpl_core_static *out);
int kpl_core_trap(const u8 *obj, size_t len, u64 site, u32 *kind,
		  u32 *code_offset, u32 *line, u32 *col);
int kpl_core_location(const u8 *obj, size_t len, u32 code_offset, u32 *line,
		      u32 *col);
int kpl_core_source_file(const u8 *obj, size_t len, char *buf, size_t buf_len);
void *kpl_kvzalloc(size_t size);
void kpl_kvfree(void *p);

/* kpl_imports.c */
extern const struct kpl_host_import *const kpl_import_table;
extern const size_t kpl_import_count;

#endif
