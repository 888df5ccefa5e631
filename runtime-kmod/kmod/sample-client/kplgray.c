// SPDX-License-Identifier: GPL-2.0
/*
 * kplgray.ko: a sample client of kpl.ko's kernel services
 * (../include/kpl_services.h), the VM'04 paper's scenario: a character
 * device that transcodes video frames with a KPL plugin.
 *
 * /dev/kplgray: each write() is one RGB24 frame (3 bytes a pixel, at most
 * `max_frame` bytes), transcoded by the export `entry` (default
 * "grayscale") of the loaded plugin named `plugin` (default "grayscale")
 * under a `budget_ns` budget; read() then returns its gray bytes (one a
 * pixel) until they are consumed. Each open file holds its own reference
 * to the plugin from its first frame until it is closed: when the plugin
 * is unloaded the next frame drops it and looks the name up again, so
 * loading a new plugin under the same name before unloading the old one
 * replaces it without a failed frame.
 *
 * Errors of write(): EINVAL (not whole pixels, or the plugin's signature
 * is not fn([]u8, []mut u8) -> u32), EFBIG (over max_frame), ENOENT (no
 * plugin of that name), ESRCH (no such export), ETIME (the plugin ran out
 * of its budget), EIO (it trapped otherwise, or it is disabled), EPROTO
 * (it refused the frame: nonzero result).
 *
 * /sys/class/misc/kplgray/stats: frames, traps, refusals, stale
 * references dropped, and the in-kernel time of the invocations (the
 * plugin's own, entry to return, and the whole kpl_plugin_call); writing
 * anything resets them.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include "kpl_services.h"

static char plugin_name[32] = "grayscale";
module_param_string(plugin, plugin_name, sizeof(plugin_name), 0444);
MODULE_PARM_DESC(plugin, "name of the KPL plugin to call");
static char entry_name[64] = "grayscale";
module_param_string(entry, entry_name, sizeof(entry_name), 0444);
MODULE_PARM_DESC(entry, "its export: fn(rgb: []u8, out: []mut u8) -> u32");
static ulong budget_ns = 20 * NSEC_PER_MSEC;
module_param(budget_ns, ulong, 0644);
MODULE_PARM_DESC(budget_ns, "time budget per frame in ns (0: kpl.ko's default)");
static uint max_frame = 3 * 3840 * 2160;
module_param(max_frame, uint, 0444);
MODULE_PARM_DESC(max_frame, "largest frame in bytes");

/* One open file. */
struct kplgray_file {
	struct mutex lock;
	struct kpl_plugin *plugin;	/* our reference, or NULL */
	u8 *out;			/* the last frame's gray bytes */
	size_t out_len, out_pos;
};

static DEFINE_SPINLOCK(kplgray_stats_lock);
static struct {
	u64 frames, traps, refused, stale;
	u64 last_ns, last_call_ns, min_ns, min_call_ns, total_ns, total_call_ns;
	u32 plugin;
} kplgray_stats;

static void kplgray_stats_reset(void)
{
	spin_lock(&kplgray_stats_lock);
	memset(&kplgray_stats, 0, sizeof(kplgray_stats));
	kplgray_stats.min_ns = U64_MAX;
	kplgray_stats.min_call_ns = U64_MAX;
	spin_unlock(&kplgray_stats_lock);
}

static void kplgray_account(const struct kpl_call *call, u64 call_ns, u32 id)
{
	spin_lock(&kplgray_stats_lock);
	kplgray_stats.frames++;
	kplgray_stats.traps += call->trapped;
	kplgray_stats.refused += !call->trapped && call->result;
	kplgray_stats.last_ns = call->duration_ns;
	kplgray_stats.last_call_ns = call_ns;
	kplgray_stats.min_ns = min(kplgray_stats.min_ns, call->duration_ns);
	kplgray_stats.min_call_ns = min(kplgray_stats.min_call_ns, call_ns);
	kplgray_stats.total_ns += call->duration_ns;
	kplgray_stats.total_call_ns += call_ns;
	kplgray_stats.plugin = id;
	spin_unlock(&kplgray_stats_lock);
}

/* Transcodes `n` bytes of `rgb` into `gray` (n / 3 bytes); g->lock held. */
static int kplgray_transcode(struct kplgray_file *g, const u8 *rgb, size_t n, u8 *gray)
{
	struct kpl_arg args[2] = {
		KPL_ARG_SLICE(KPL_T_U8, rgb, n),
		KPL_ARG_MUT_SLICE(KPL_T_U8, gray, n / 3),
	};
	struct kpl_call call = { .budget_ns = READ_ONCE(budget_ns), .ret = KPL_T_U32 };
	u64 t0, call_ns = 0;
	int tries, ret = -ESTALE;

	for (tries = 0; tries < 2 && ret == -ESTALE; tries++) {
		if (!g->plugin) {
			struct kpl_plugin *p = kpl_plugin_get(plugin_name);

			if (IS_ERR(p))
				return PTR_ERR(p);
			g->plugin = p;
		}
		t0 = ktime_get_ns();
		ret = kpl_plugin_call(g->plugin, entry_name, args, ARRAY_SIZE(args), &call);
		call_ns = ktime_get_ns() - t0;
		if (ret == -ESTALE) {
			/* Unloaded since we took it: look the name up again. */
			kpl_plugin_release(g->plugin);
			g->plugin = NULL;
			spin_lock(&kplgray_stats_lock);
			kplgray_stats.stale++;
			spin_unlock(&kplgray_stats_lock);
		}
	}
	if (ret) {
		pr_warn_ratelimited("kplgray: %s.%s: error %d\n", plugin_name, entry_name, ret);
		return ret;
	}
	kplgray_account(&call, call_ns, kpl_plugin_id(g->plugin));
	if (call.trapped)
		return call.trap_kind == KPL_TRAP_BUDGET ? -ETIME : -EIO;
	return call.result ? -EPROTO : 0;
}

static ssize_t kplgray_write(struct file *file, const char __user *buf, size_t n,
			     loff_t *pos)
{
	struct kplgray_file *g = file->private_data;
	u8 *rgb, *gray = NULL;
	ssize_t ret;

	if (n % 3)
		return -EINVAL;
	if (n > READ_ONCE(max_frame))
		return -EFBIG;
	rgb = kvmalloc(max_t(size_t, n, 1), GFP_KERNEL);
	if (!rgb)
		return -ENOMEM;
	ret = -EFAULT;
	if (copy_from_user(rgb, buf, n))
		goto out;
	ret = -ENOMEM;
	gray = kvmalloc(max_t(size_t, n / 3, 1), GFP_KERNEL);
	if (!gray)
		goto out;
	ret = mutex_lock_interruptible(&g->lock);
	if (ret)
		goto out;
	ret = kplgray_transcode(g, rgb, n, gray);
	if (!ret) {
		kvfree(g->out);
		g->out = gray;
		g->out_len = n / 3;
		g->out_pos = 0;
		gray = NULL;
		ret = n;
	}
	mutex_unlock(&g->lock);
out:
	kvfree(gray);
	kvfree(rgb);
	return ret;
}

static ssize_t kplgray_read(struct file *file, char __user *buf, size_t n, loff_t *pos)
{
	struct kplgray_file *g = file->private_data;
	ssize_t ret;

	ret = mutex_lock_interruptible(&g->lock);
	if (ret)
		return ret;
	n = min(n, g->out_len - g->out_pos);
	if (copy_to_user(buf, g->out + g->out_pos, n)) {
		ret = -EFAULT;
	} else {
		g->out_pos += n;
		ret = n;
	}
	mutex_unlock(&g->lock);
	return ret;
}

static int kplgray_open(struct inode *inode, struct file *file)
{
	struct kplgray_file *g = kzalloc(sizeof(*g), GFP_KERNEL);

	if (!g)
		return -ENOMEM;
	mutex_init(&g->lock);
	file->private_data = g;
	return stream_open(inode, file);
}

static int kplgray_release(struct inode *inode, struct file *file)
{
	struct kplgray_file *g = file->private_data;

	kpl_plugin_release(g->plugin);
	kvfree(g->out);
	kfree(g);
	return 0;
}

static const struct file_operations kplgray_fops = {
	.owner = THIS_MODULE,	/* no rmmod while a file is open */
	.open = kplgray_open,
	.release = kplgray_release,
	.read = kplgray_read,
	.write = kplgray_write,
	/* No .llseek: stream_open (kplgray_open) makes the file unseekable.
	 * (no_llseek was only ever NULL, and 6.12 no longer has it.) */
};

static ssize_t stats_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	ssize_t n;

	spin_lock(&kplgray_stats_lock);
	n = sysfs_emit(buf, "frames %llu traps %llu refused %llu stale %llu last_ns %llu last_call_ns %llu min_ns %llu min_call_ns %llu total_ns %llu total_call_ns %llu plugin %u\n",
		       kplgray_stats.frames, kplgray_stats.traps, kplgray_stats.refused,
		       kplgray_stats.stale, kplgray_stats.last_ns, kplgray_stats.last_call_ns,
		       kplgray_stats.frames ? kplgray_stats.min_ns : 0,
		       kplgray_stats.frames ? kplgray_stats.min_call_ns : 0,
		       kplgray_stats.total_ns, kplgray_stats.total_call_ns,
		       kplgray_stats.plugin);
	spin_unlock(&kplgray_stats_lock);
	return n;
}

static ssize_t stats_store(struct device *dev, struct device_attribute *attr,
			   const char *buf, size_t n)
{
	kplgray_stats_reset();
	return n;
}
static DEVICE_ATTR_RW(stats);

static struct attribute *kplgray_attrs[] = {
	&dev_attr_stats.attr,
	NULL,
};
ATTRIBUTE_GROUPS(kplgray);

static struct miscdevice kplgray_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "kplgray",
	.fops = &kplgray_fops,
	.groups = kplgray_groups,
	.mode = 0600,
};

static int __init kplgray_init(void)
{
	kplgray_stats_reset();
	return misc_register(&kplgray_misc);
}

static void __exit kplgray_exit(void)
{
	misc_deregister(&kplgray_misc);
}

module_init(kplgray_init);
module_exit(kplgray_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KPL sample client: /dev/kplgray transcodes RGB24 frames with a KPL plugin");
