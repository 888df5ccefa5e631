// SPDX-License-Identifier: GPL-2.0
/*
 * kpl.ko's netfilter attachments: plugins filtering IPv4 and IPv6 packets
 * at every netfilter hook point, several at once, in the network namespace
 * of the process that attaches them (book/src/runtime/kernel.md, "Attach
 * to netfilter hooks"). The ioctls are dispatched by kpl_main.c.
 */
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/uaccess.h>
#include <linux/capability.h>
#include <linux/seq_file.h>
#include <linux/rcupdate.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/nsproxy.h>
#include <linux/sched.h>
#include <linux/skbuff.h>
#include <net/net_namespace.h>
#include "kpl_internal.h"

#define KPL_MAX_PACKET 65536u		/* bytes of a packet a hook plugin sees */
/* Hooks run in softirq on the 16 KiB IRQ stack under the network stack's
 * own frames (or under a sender's system call at LOCAL_OUT): a hook plugin
 * may use at most this much (RUN allows the verifier's whole limit, 8 KiB,
 * from the ioctl's shallow stack). */
#define KPL_HOOK_MAX_STACK 4096u

/*
 * An attachment point ("slot") is (network namespace, family, hook point,
 * netfilter priority); each has its own nf_hook_ops registration, made
 * with nf_register_net_hook in that namespace, whose priv is the slot. A
 * slot holds one RCU pointer to what runs there (struct kpl_attachment:
 * plugin reference, export, budget). Attaching to an occupied slot
 * replaces that pointer with one rcu_replace_pointer under kpl_lock, so
 * every packet sees the old filter or the new one, never none; the old
 * attachment's plugin reference is dropped only after a grace period. The
 * slot's id and counters survive a replace; detach removes the slot.
 *
 * A slot does not count a reference on its namespace (that would keep
 * the namespace alive forever): the pernet pre_exit below unregisters
 * every slot of a dying namespace before netfilter's own state goes, and
 * the exit frees them after the grace period cleanup_net waits for.
 */
struct kpl_attachment {
	struct kpl_plugin *plugin;	/* a reference and one `attached` count */
	u32 code_offset;
	/* Scalar parameters after the packet (0, 1: family, 2: + point),
	 * with their type codes. */
	u32 nscalars;
	u8 scalar[2];
	u64 fuel;
	u64 budget_ns;
	char entry[KPL_ENTRY_LEN];
};

/* Per CPU, written with BH disabled by the hook on its CPU only. */
struct kpl_slot_stats {
	u64 invocations, accepted, dropped, traps, unfiltered;
};

struct kpl_slot {
	struct list_head node;		/* kpl_slots or kpl_dying; kpl_lock */
	u32 id;
	struct net *net;		/* not counted; see above */
	u32 netns_ino;
	u32 family, point;		/* KPL_FAMILY_*, KPL_POINT_* */
	s32 priority;
	u64 replaced;			/* kpl_lock */
	struct nf_hook_ops ops;		/* .priv is this slot */
	struct kpl_attachment __rcu *att;
	struct kpl_slot_stats __percpu *stats;
};

static LIST_HEAD(kpl_slots);		/* registered slots */
static LIST_HEAD(kpl_dying);		/* unregistered by pre_exit, freed by exit */
static u32 kpl_nslots, kpl_next_att = 1;
static DEFINE_PER_CPU(struct kpl_frame, kpl_hook_frame);
static DEFINE_PER_CPU(u8, kpl_hook_busy);
/* Where a non-linear packet is gathered for the plugin (kvmalloc'd per CPU). */
static DEFINE_PER_CPU(u8 *, kpl_hook_pkt);

static const char *kpl_family_name(u32 f)
{
	return f == KPL_FAMILY_IPV4 ? "ipv4" : f == KPL_FAMILY_IPV6 ? "ipv6" : "?";
}

static const char *kpl_point_name(u32 p)
{
	static const char *const names[] = {
		"?", "pre-routing", "local-in", "forward", "local-out", "post-routing"
	};

	return p < ARRAY_SIZE(names) ? names[p] : "?";
}

static unsigned int kpl_nf_hook(void *priv, struct sk_buff *skb,
				const struct nf_hook_state *state)
{
	struct kpl_slot *s = priv;
	struct kpl_attachment *a;
	struct kpl_slot_stats *st;
	struct kpl_result r = {};
	struct kpl_frame *f;
	unsigned int verdict = NF_ACCEPT;
	int noff = skb_network_offset(skb);
	u32 len;
	const void *pkt;
	u8 *copy;
	u64 args[6] = {};

	rcu_read_lock();
	a = rcu_dereference(s->att);
	if (!a)
		goto out;
	/* Hooks at LOCAL_OUT run in process context: BH off keeps us on
	 * this CPU (its frame, its watchdog) until the plugin returns. */
	local_bh_disable();
	st = this_cpu_ptr(s->stats);
	/* A plugin the watchdog caught breaking the sandbox never runs
	 * again; a nested call on this CPU (none is known to happen) passes. */
	if (READ_ONCE(a->plugin->poisoned) || this_cpu_read(kpl_hook_busy) ||
	    noff > (int)skb->len) {
		st->unfiltered++;
		goto out_bh;
	}
	this_cpu_write(kpl_hook_busy, 1);
	f = this_cpu_ptr(&kpl_hook_frame);
	copy = this_cpu_read(kpl_hook_pkt);
	/* From the network header, for both families. */
	len = min_t(u32, skb->len - noff, KPL_MAX_PACKET);
	/* The bytes in place when linear, else gathered into this CPU's buffer. */
	pkt = copy ? skb_header_pointer(skb, noff, len, copy) : NULL;
	if (!pkt) {
		this_cpu_write(kpl_hook_busy, 0);
		st->unfiltered++;
		goto out_bh;
	}
	memset(&f->ctx, 0, sizeof(f->ctx));
	kpl_set_slice(&f->ctx, 0, (void *)pkt, len, false);
	if (a->nscalars >= 1)
		args[1] = kpl_canonical(a->scalar[0], s->family);
	if (a->nscalars >= 2)
		args[2] = kpl_canonical(a->scalar[1], s->point);
	kpl_invoke(a->plugin, a->code_offset, f, args, a->fuel, a->budget_ns,
		   KPL_WD_HOOK, &r);
	this_cpu_write(kpl_hook_busy, 0);
	st->invocations++;
	if (r.trapped) {
		st->traps++;		/* a trapping filter passes the packet */
	} else if ((u32)r.value == 0) {
		verdict = NF_DROP;
		st->dropped++;
	} else {
		st->accepted++;
	}
out_bh:
	local_bh_enable();
out:
	rcu_read_unlock();
	return verdict;
}

static void kpl_slot_sum(struct kpl_slot *s, struct kpl_slot_stats *sum)
{
	int cpu;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		const struct kpl_slot_stats *c = per_cpu_ptr(s->stats, cpu);

		sum->invocations += READ_ONCE(c->invocations);
		sum->accepted += READ_ONCE(c->accepted);
		sum->dropped += READ_ONCE(c->dropped);
		sum->traps += READ_ONCE(c->traps);
		sum->unfiltered += READ_ONCE(c->unfiltered);
	}
}

/* Drops what an attachment holds; a grace period has passed since the
 * last packet could see it. Not under kpl_lock. */
static void kpl_attachment_free(struct kpl_attachment *a)
{
	if (!a)
		return;
	mutex_lock(&kpl_lock);
	a->plugin->attached--;
	mutex_unlock(&kpl_lock);
	kpl_plugin_put(a->plugin);
	kfree(a);
}

/* Frees an unregistered slot once no hook can be inside it. Not under
 * kpl_lock. */
static void kpl_slot_free(struct kpl_slot *s)
{
	kpl_attachment_free(rcu_dereference_protected(s->att, 1));
	free_percpu(s->stats);
	kfree(s);
}

/* The slot at (net, family, point, priority), or NULL; kpl_lock held. */
static struct kpl_slot *kpl_slot_at(struct net *net, u32 family, u32 point,
				    s32 priority)
{
	struct kpl_slot *s;

	list_for_each_entry(s, &kpl_slots, node)
		if (s->net == net && s->family == family && s->point == point &&
		    s->priority == priority)
			return s;
	return NULL;
}

static struct kpl_slot *kpl_slot_by_id(u32 id)
{
	struct kpl_slot *s;

	list_for_each_entry(s, &kpl_slots, node)
		if (s->id == id)
			return s;
	return NULL;
}

/* A filter export: fn(pkt: []u8[, family: int[, point: int]]) -> value. */
static bool kpl_filter_signature(const struct kpl_export *e)
{
	u32 i;

	if (e->nparams < 1 || e->nparams > 3 || e->params[0] != (0x80 | 1) ||
	    e->ret == 0xff)
		return false;
	for (i = 1; i < e->nparams; i++) {
		u8 c = e->params[i];

		/* An integer scalar (u8..i64; not bool, not a slice). */
		if ((c & 0x80) || (c & 0x0f) < 1 || (c & 0x0f) > 8)
			return false;
	}
	return true;
}

/*
 * Attaches export `entry` of plugin `id` at (net, family, point, priority),
 * replacing what runs there unless KPL_ATTACH_EXCLUSIVE. `net` is the
 * caller's namespace (alive: the caller holds it).
 */
static int kpl_hook_attach(struct net *net, u32 family, u32 point, s32 priority,
			   u32 id, const char *entry, u64 budget_ns, u32 flags,
			   u32 *att_id, u32 *old_id)
{
	struct kpl_attachment *a, *old = NULL;
	const struct kpl_export *e;
	struct kpl_plugin *p;
	struct kpl_slot *s, *fresh = NULL;
	int ret;

	if ((family != KPL_FAMILY_IPV4 && family != KPL_FAMILY_IPV6) ||
	    point < KPL_POINT_PRE_ROUTING || point > KPL_POINT_POST_ROUTING ||
	    priority == INT_MIN || priority == INT_MAX ||
	    (flags & ~KPL_ATTACH_EXCLUSIVE) || budget_ns > KPL_MAX_BUDGET_NS)
		return -EINVAL;
	a = kzalloc(sizeof(*a), GFP_KERNEL);
	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL);
	if (fresh)
		fresh->stats = alloc_percpu(struct kpl_slot_stats);
	if (!a || !fresh || !fresh->stats) {
		ret = -ENOMEM;
		goto out_free;
	}
	mutex_lock(&kpl_lock);
	p = kpl_find_locked(id);
	ret = -ENOENT;
	if (!p)
		goto unlock;
	e = kpl_export_named(p, entry);
	ret = -EINVAL;
	if (!e || !kpl_filter_signature(e))
		goto unlock;
	ret = -E2BIG;
	if (p->max_stack > KPL_HOOK_MAX_STACK)
		goto unlock;
	a->plugin = p;
	a->code_offset = e->code_offset;
	a->nscalars = e->nparams - 1;
	a->scalar[0] = e->params[1];
	a->scalar[1] = e->params[2];
	a->fuel = kpl_fuel_for(budget_ns);
	a->budget_ns = budget_ns ? budget_ns : KPL_DEFAULT_BUDGET_NS;
	strscpy(a->entry, entry, sizeof(a->entry));
	s = kpl_slot_at(net, family, point, priority);
	if (s) {
		ret = -EEXIST;
		if (flags & KPL_ATTACH_EXCLUSIVE)
			goto unlock;
		p->attached++;
		old = rcu_replace_pointer(s->att, a, lockdep_is_held(&kpl_lock));
		s->replaced++;
	} else {
		ret = -ENOSPC;
		if (kpl_nslots >= KPL_MAX_ATTACHMENTS)
			goto unlock;
		s = fresh;
		s->net = net;
		s->netns_ino = net->ns.inum;
		s->family = family;
		s->point = point;
		s->priority = priority;
		s->ops.hook = kpl_nf_hook;
		s->ops.pf = family == KPL_FAMILY_IPV4 ? NFPROTO_IPV4 : NFPROTO_IPV6;
		s->ops.hooknum = point - 1;	/* KPL_POINT_* is NF_INET_* + 1 */
		s->ops.priority = priority;
		s->ops.priv = s;
		/* In place before the first packet can reach the hook. */
		RCU_INIT_POINTER(s->att, a);
		ret = nf_register_net_hook(net, &s->ops);
		if (ret) {
			RCU_INIT_POINTER(s->att, NULL);
			goto unlock;
		}
		p->attached++;
		s->id = kpl_next_att++;
		if (kpl_next_att == 0)
			kpl_next_att = 1;
		list_add_tail(&s->node, &kpl_slots);
		kpl_nslots++;
		fresh = NULL;
	}
	*att_id = s->id;
	*old_id = old ? old->plugin->id : 0;
	mutex_unlock(&kpl_lock);
	if (fresh) {
		free_percpu(fresh->stats);
		kfree(fresh);
	}
	if (old) {
		/* No new packet sees `old`; wait for those already inside it. */
		synchronize_rcu();
		kpl_attachment_free(old);
	}
	return 0;
unlock:
	mutex_unlock(&kpl_lock);
	if (p)
		kpl_plugin_put(p);
out_free:
	if (fresh)
		free_percpu(fresh->stats);
	kfree(fresh);
	kfree(a);
	return ret;
}

/* Detach attachment `att_id`, of any namespace (the pernet exit may not
 * have run for a dying one yet: then its net is still valid). */
static int kpl_hook_detach(u32 att_id)
{
	struct kpl_slot *s;

	mutex_lock(&kpl_lock);
	s = kpl_slot_by_id(att_id);
	if (!s) {
		mutex_unlock(&kpl_lock);
		return -ENOENT;
	}
	list_del(&s->node);
	kpl_nslots--;
	/* Under the lock, so pre_exit cannot free the net first. */
	nf_unregister_net_hook(s->net, &s->ops);
	mutex_unlock(&kpl_lock);
	synchronize_rcu();
	kpl_slot_free(s);
	return 0;
}

static struct net *kpl_caller_net(void)
{
	return current->nsproxy->net_ns;
}

long kpl_ioctl_hook_attach(void __user *uarg, size_t usize)
{
	struct kpl_hook_attach req;
	int ret;

	if (usize < KPL_HOOK_ATTACH_SIZE_VER0)
		return -EINVAL;
	/* A shorter (older) struct reads as zeros past its end; a longer one
	 * must have zeros in what this module does not know (else E2BIG). */
	ret = copy_struct_from_user(&req, sizeof(req), uarg, usize);
	if (ret)
		return ret;
	req.entry[KPL_ENTRY_LEN - 1] = 0;
	if (req._pad)
		return -EINVAL;
	ret = kpl_hook_attach(kpl_caller_net(), req.family, req.point, req.priority,
			      req.id, (char *)req.entry, req.budget_ns, req.flags,
			      &req.att_id, &req.old_id);
	if (ret)
		return ret;
	/* Attached; the listing shows it if the reply cannot be written. */
	return copy_to_user(uarg, &req, min(usize, sizeof(req))) ? -EFAULT : 0;
}

long kpl_ioctl_hook_detach(struct kpl_hook_ref __user *uarg)
{
	struct kpl_hook_ref req;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	return kpl_hook_detach(req.att_id);
}

long kpl_ioctl_hook_list(struct kpl_hook_list __user *uarg)
{
	struct kpl_hook_list req;
	struct kpl_hook_entry *out;
	struct kpl_slot_stats sum;
	struct kpl_attachment *a;
	struct net *net = kpl_caller_net();
	struct kpl_slot *s;
	u32 n = 0, i, cap;
	long ret = 0;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.entry_size < KPL_HOOK_ENTRY_SIZE_VER0 || req.entry_size > 4096 ||
	    (req.flags & ~KPL_HOOKS_ALL_NETNS))
		return -EINVAL;
	/* Other namespaces' attachments are the administrator's business. */
	if ((req.flags & KPL_HOOKS_ALL_NETNS) && !capable(CAP_SYS_ADMIN))
		return -EPERM;
	cap = min_t(u32, req.cap, KPL_MAX_ATTACHMENTS);
	out = kvcalloc(max(cap, 1u), sizeof(*out), GFP_KERNEL);
	if (!out)
		return -ENOMEM;
	mutex_lock(&kpl_lock);
	list_for_each_entry(s, &kpl_slots, node) {
		struct kpl_hook_entry *o;

		if (!(req.flags & KPL_HOOKS_ALL_NETNS) && s->net != net)
			continue;
		if (n++ >= cap)
			continue;
		o = &out[n - 1];
		a = rcu_dereference_protected(s->att, lockdep_is_held(&kpl_lock));
		kpl_slot_sum(s, &sum);
		o->att_id = s->id;
		o->id = a ? a->plugin->id : 0;
		o->family = s->family;
		o->point = s->point;
		o->priority = s->priority;
		o->netns = s->netns_ino;
		if (a) {
			strscpy(o->entry, a->entry, sizeof(o->entry));
			o->budget_ns = a->budget_ns;
		}
		o->invocations = sum.invocations;
		o->accepted = sum.accepted;
		o->dropped = sum.dropped;
		o->traps = sum.traps;
		o->unfiltered = sum.unfiltered;
		o->replaced = s->replaced;
	}
	mutex_unlock(&kpl_lock);
	for (i = 0; i < min(n, cap) && !ret; i++) {
		void __user *dst = u64_to_user_ptr(req.ptr + (u64)i * req.entry_size);

		if (copy_to_user(dst, &out[i], min_t(size_t, req.entry_size, sizeof(*out))))
			ret = -EFAULT;
		else if (req.entry_size > sizeof(*out) &&
			 clear_user(dst + sizeof(*out), req.entry_size - sizeof(*out)))
			ret = -EFAULT;
	}
	kvfree(out);
	req.count = n;
	if (!ret && copy_to_user(uarg, &req, sizeof(req)))
		ret = -EFAULT;
	return ret;
}

/*
 * The first attach ioctls, kept with their meaning: KPL_HOOK_IPV4_LOCAL_IN
 * is the IPv4 LOCAL_IN attachment at priority 0 (filter), of the caller's
 * namespace.
 */
long kpl_ioctl_attach(struct kpl_attach __user *uarg)
{
	struct kpl_attach req;
	u32 att;
	int ret;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	req.entry[KPL_ENTRY_LEN - 1] = 0;
	if (req.hook != KPL_HOOK_IPV4_LOCAL_IN)
		return -EINVAL;
	ret = kpl_hook_attach(kpl_caller_net(), KPL_FAMILY_IPV4, KPL_POINT_LOCAL_IN,
			      0, req.id, (char *)req.entry, req.budget_ns, 0, &att,
			      &req.old_id);
	if (ret)
		return ret;
	return copy_to_user(uarg, &req, sizeof(req)) ? -EFAULT : 0;
}

long kpl_ioctl_detach(struct kpl_hook __user *uarg)
{
	struct kpl_hook req;
	struct kpl_slot *s;
	u32 att;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.hook != KPL_HOOK_IPV4_LOCAL_IN)
		return -EINVAL;
	mutex_lock(&kpl_lock);
	s = kpl_slot_at(kpl_caller_net(), KPL_FAMILY_IPV4, KPL_POINT_LOCAL_IN, 0);
	att = s ? s->id : 0;
	mutex_unlock(&kpl_lock);
	return att ? kpl_hook_detach(att) : -ENOENT;
}

long kpl_ioctl_hook_stats(struct kpl_hook __user *uarg)
{
	struct kpl_hook req;
	struct kpl_slot_stats sum = {};
	struct kpl_attachment *a;
	struct kpl_slot *s;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.hook != KPL_HOOK_IPV4_LOCAL_IN)
		return -EINVAL;
	req.id = 0;
	mutex_lock(&kpl_lock);
	s = kpl_slot_at(kpl_caller_net(), KPL_FAMILY_IPV4, KPL_POINT_LOCAL_IN, 0);
	if (s) {
		a = rcu_dereference_protected(s->att, lockdep_is_held(&kpl_lock));
		req.id = a ? a->plugin->id : 0;
		kpl_slot_sum(s, &sum);
	}
	mutex_unlock(&kpl_lock);
	req.invocations = sum.invocations;
	req.accepted = sum.accepted;
	req.dropped = sum.dropped;
	req.traps = sum.traps + sum.unfiltered;	/* as before: passed unfiltered */
	return copy_to_user(uarg, &req, sizeof(req)) ? -EFAULT : 0;
}

/* A namespace is going: unregister its slots (netfilter's state for it
 * still exists); kpl_net_exit frees them after the grace period. */
static void __net_exit kpl_net_pre_exit(struct net *net)
{
	struct kpl_slot *s, *n;

	mutex_lock(&kpl_lock);
	list_for_each_entry_safe(s, n, &kpl_slots, node)
		if (s->net == net) {
			nf_unregister_net_hook(net, &s->ops);
			list_move_tail(&s->node, &kpl_dying);
			kpl_nslots--;
		}
	mutex_unlock(&kpl_lock);
}

static void __net_exit kpl_net_exit(struct net *net)
{
	struct kpl_slot *s, *n;
	LIST_HEAD(gone);

	mutex_lock(&kpl_lock);
	list_for_each_entry_safe(s, n, &kpl_dying, node)
		if (s->net == net)
			list_move_tail(&s->node, &gone);
	mutex_unlock(&kpl_lock);
	/* cleanup_net (and unregister_pernet_subsys) waited for a grace
	 * period between pre_exit and exit. */
	list_for_each_entry_safe(s, n, &gone, node) {
		pr_info("kpl: attachment %u detached: its network namespace is gone\n",
			s->id);
		kpl_slot_free(s);
	}
}

static struct pernet_operations kpl_net_ops = {
	.pre_exit = kpl_net_pre_exit,
	.exit = kpl_net_exit,
};

/* One /proc/kpl line per attachment. */
void kpl_hooks_show(struct seq_file *m)
{
	struct kpl_slot *s;

	mutex_lock(&kpl_lock);
	list_for_each_entry(s, &kpl_slots, node) {
		struct kpl_attachment *a =
			rcu_dereference_protected(s->att, lockdep_is_held(&kpl_lock));
		struct kpl_slot_stats sum;

		kpl_slot_sum(s, &sum);
		seq_printf(m, "hook %u %s:%s priority %d netns %u plugin %u entry %s invocations %llu accepted %llu dropped %llu traps %llu unfiltered %llu replaced %llu\n",
			   s->id, kpl_family_name(s->family), kpl_point_name(s->point),
			   s->priority, s->netns_ino, a ? a->plugin->id : 0,
			   a ? a->entry : "-", sum.invocations, sum.accepted,
			   sum.dropped, sum.traps, sum.unfiltered, s->replaced);
	}
	mutex_unlock(&kpl_lock);
}

/* Per-CPU packet buffers and the pernet operations. */
int kpl_hooks_init(void)
{
	int cpu, ret;

	for_each_possible_cpu(cpu) {
		per_cpu(kpl_hook_pkt, cpu) = kvmalloc_node(KPL_MAX_PACKET, GFP_KERNEL,
							   cpu_to_node(cpu));
		if (!per_cpu(kpl_hook_pkt, cpu)) {
			ret = -ENOMEM;
			goto fail;
		}
	}
	ret = register_pernet_subsys(&kpl_net_ops);
	if (!ret)
		return 0;
fail:
	for_each_possible_cpu(cpu) {
		kvfree(per_cpu(kpl_hook_pkt, cpu));
		per_cpu(kpl_hook_pkt, cpu) = NULL;
	}
	return ret;
}

void kpl_hooks_exit(void)
{
	int cpu;

	/* Runs pre_exit and exit for every namespace: every slot is
	 * unregistered, a grace period passes, every slot is freed. */
	unregister_pernet_subsys(&kpl_net_ops);
	/* No hook is registered or running any more. */
	for_each_possible_cpu(cpu) {
		kvfree(per_cpu(kpl_hook_pkt, cpu));
		per_cpu(kpl_hook_pkt, cpu) = NULL;
	}
}
