//! Netfilter attachments from user space: where to attach (`--hook
//! ipv6:local-in`), the hook ioctls of [`Device`], and the in-VM test's
//! helpers for them (the first attach ioctls' check, the UDP probe).

use std::process::ExitCode;

use super::uapi::*;
use super::{Device, KernelError, plain, put_str};

impl Device {
    /// Attaches export `entry` of plugin `id` at `hook` and `priority` of
    /// the caller's network namespace: (attachment id, plugin replaced or 0).
    pub fn hook_attach(&self, req: &HookAttach<'_>) -> Result<(u32, u32), KernelError> {
        let mut r = KplHookAttach::zeroed();
        r.family = req.hook.family;
        r.point = req.hook.point;
        r.priority = req.priority;
        r.id = req.id;
        put_str(&mut r.entry, req.entry);
        r.budget_ns = req.budget_ns;
        r.flags = if req.exclusive { ATTACH_EXCLUSIVE } else { 0 };
        self.ioctl(IOC_HOOK_ATTACH, &mut r).map_err(plain)?;
        Ok((r.att_id, r.old_id))
    }

    pub fn hook_detach(&self, att: u32) -> Result<(), KernelError> {
        let mut r = KplHookRef::zeroed();
        r.att_id = att;
        self.ioctl(IOC_HOOK_DETACH, &mut r).map_err(plain)
    }

    /// The attachments of the caller's network namespace (`all_netns`: of
    /// every namespace).
    pub fn hooks(&self, all_netns: bool) -> Result<Vec<KplHookEntry>, KernelError> {
        let mut entries = vec![KplHookEntry::zeroed(); MAX_ATTACHMENTS as usize];
        let mut r = KplHookList::zeroed();
        r.ptr = entries.as_mut_ptr() as u64;
        r.cap = entries.len() as u32;
        r.entry_size = std::mem::size_of::<KplHookEntry>() as u32;
        r.flags = if all_netns { HOOKS_ALL_NETNS } else { 0 };
        self.ioctl(IOC_HOOK_LIST, &mut r).map_err(plain)?;
        entries.truncate((r.count as usize).min(entries.len()));
        Ok(entries)
    }
}

/// A netfilter hook: an address family and a hook point (uapi values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hook {
    pub family: u32,
    pub point: u32,
}

const FAMILIES: [(&str, u32); 2] = [("ipv4", FAMILY_IPV4), ("ipv6", FAMILY_IPV6)];
/// Hook points by name; the second name of each is nftables'.
const POINTS: [(&str, &str, u32); 5] = [
    ("pre-routing", "prerouting", POINT_PRE_ROUTING),
    ("local-in", "input", POINT_LOCAL_IN),
    ("forward", "forward", POINT_FORWARD),
    ("local-out", "output", POINT_LOCAL_OUT),
    ("post-routing", "postrouting", POINT_POST_ROUTING),
];

/// `ipv4:local-in` and the like (for `--hook`).
pub fn parse_hook(text: &str) -> Result<Hook, String> {
    let usage = "expected FAMILY:POINT with FAMILY `ipv4` or `ipv6` and POINT `pre-routing`, \
                 `local-in`, `forward`, `local-out` or `post-routing` (nftables' names \
                 `prerouting`, `input`, `output`, `postrouting` work too), e.g. `ipv6:local-in`";
    let Some((fam, point)) = text.split_once(':') else {
        return Err(usage.to_string());
    };
    let family = FAMILIES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(fam))
        .map(|f| f.1)
        .ok_or_else(|| format!("unknown address family `{fam}`: {usage}"))?;
    let point = POINTS
        .iter()
        .find(|(a, b, _)| a.eq_ignore_ascii_case(point) || b.eq_ignore_ascii_case(point))
        .map(|p| p.2)
        .ok_or_else(|| format!("unknown hook point `{point}`: {usage}"))?;
    Ok(Hook { family, point })
}

impl std::fmt::Display for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fam = FAMILIES
            .iter()
            .find(|x| x.1 == self.family)
            .map_or("?", |x| x.0);
        let point = POINTS
            .iter()
            .find(|x| x.2 == self.point)
            .map_or("?", |x| x.0);
        write!(f, "{fam}:{point}")
    }
}

/// What `Device::hook_attach` attaches, and where.
pub struct HookAttach<'a> {
    pub hook: Hook,
    pub priority: i32,
    pub id: u32,
    pub entry: &'a str,
    pub budget_ns: u64,
    /// Fail with EEXIST rather than replace.
    pub exclusive: bool,
}

/// Where [`udp_probe`] sends from and receives: the receiving socket is
/// bound to `addr`:`port`, the sending one to `from` (`addr` if `None`),
/// and with `rx_netns` (a namespace file such as `/proc/PID/ns/net`) the
/// receiving socket is in that network namespace instead of the caller's,
/// so that the datagrams are routed between the two.
pub(super) struct ProbeEnds<'a> {
    pub addr: std::net::IpAddr,
    pub port: u16,
    pub from: Option<std::net::IpAddr>,
    pub rx_netns: Option<&'a std::path::Path>,
}

/// Moves the calling thread into the network namespace of file `ns`.
fn enter_netns(ns: &std::path::Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let f = std::fs::File::open(ns)?;
    // SAFETY: setns only reads its two integer arguments; the descriptor
    // is open (owned by `f`) for the duration of the call.
    if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Datagrams that reach a socket on `addr`:`port`, sent from `from`, and
/// sends the kernel refused (a filter dropping them at `local-out` makes
/// `sendto` fail with EPERM). With `wait_ms` > 0 they go one at a time, each
/// awaited up to `wait_ms` (so the receive queue never overflows; a dropped
/// one costs the wait); with 0, back to back, 100 µs apart, and the
/// arrivals are counted afterwards.
pub(super) fn udp_probe(
    ends: &ProbeEnds<'_>,
    count: u32,
    wait_ms: u64,
) -> std::io::Result<(u32, u32)> {
    use std::net::UdpSocket;
    use std::time::Duration;
    let (addr, port) = (ends.addr, ends.port);
    // A socket stays in the namespace it was created in: the sender first,
    // in the caller's, then the receiver, in `rx_netns` if given.
    let tx = UdpSocket::bind((ends.from.unwrap_or(addr), 0))?;
    if let Some(ns) = ends.rx_netns {
        enter_netns(ns)?;
    }
    let rx = UdpSocket::bind((addr, port))?;
    let mut got = 0;
    let mut refused = 0;
    let mut buf = [0u8; 64];
    rx.set_read_timeout(Some(Duration::from_millis(wait_ms.max(1))))?;
    let mut seen = vec![false; count as usize];
    let mut take = |n: usize, buf: &[u8], got: &mut u32| {
        if n == 4 {
            let i = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
            if i < seen.len() && !seen[i] {
                seen[i] = true;
                *got += 1;
            }
        }
    };
    for i in 0..count {
        if tx.send_to(&i.to_le_bytes(), (addr, port)).is_err() {
            refused += 1;
            continue;
        }
        if wait_ms > 0 {
            if let Ok((n, _)) = rx.recv_from(&mut buf) {
                take(n, &buf, &mut got);
            }
        } else {
            std::thread::sleep(Duration::from_micros(100));
            rx.set_nonblocking(true)?;
            while let Ok((n, _)) = rx.recv_from(&mut buf) {
                take(n, &buf, &mut got);
            }
            rx.set_nonblocking(false)?;
        }
    }
    if wait_ms == 0 {
        rx.set_read_timeout(Some(Duration::from_millis(300)))?;
        while let Ok((n, _)) = rx.recv_from(&mut buf) {
            take(n, &buf, &mut got);
        }
    }
    Ok((got, refused))
}

/// The first attach ioctls must keep their meaning: KPL_HOOK_IPV4_LOCAL_IN
/// is the ipv4:local-in attachment at priority 0 of this namespace.
pub(super) fn legacy_abi(dev: &Device, id: u32) -> Result<ExitCode, String> {
    fn errno(what: &'static str) -> impl Fn(i32) -> String {
        move |e| format!("{what}: errno {e}")
    }
    let mut a = KplAttach::zeroed();
    a.hook = HOOK_IPV4_LOCAL_IN;
    a.id = id;
    put_str(&mut a.entry, "filter");
    dev.ioctl(IOC_ATTACH, &mut a)
        .map_err(errno("KPL_IOC_ATTACH"))?;
    if a.old_id != 0 {
        return Err(format!("KPL_IOC_ATTACH replaced plugin {}", a.old_id));
    }
    let hooks = dev.hooks(false).map_err(|e| format!("hooks: {e}"))?;
    let att = hooks
        .iter()
        .find(|h| (h.family, h.point, h.priority, h.id) == (FAMILY_IPV4, POINT_LOCAL_IN, 0, id))
        .map(|h| h.att_id)
        .ok_or("KPL_IOC_ATTACH did not attach at ipv4:local-in priority 0")?;
    let mut again = a;
    dev.ioctl(IOC_ATTACH, &mut again)
        .map_err(errno("KPL_IOC_ATTACH (replace)"))?;
    if again.old_id != id {
        return Err(format!(
            "KPL_IOC_ATTACH again: replaced {}, want {id}",
            again.old_id
        ));
    }
    let mut st = KplHook::zeroed();
    st.hook = HOOK_IPV4_LOCAL_IN;
    dev.ioctl(IOC_HOOK_STATS, &mut st)
        .map_err(errno("KPL_IOC_HOOK_STATS"))?;
    if st.id != id {
        return Err(format!("KPL_IOC_HOOK_STATS: plugin {}, want {id}", st.id));
    }
    let mut d = KplHook::zeroed();
    d.hook = HOOK_IPV4_LOCAL_IN;
    dev.ioctl(IOC_DETACH, &mut d)
        .map_err(errno("KPL_IOC_DETACH"))?;
    let hooks = dev.hooks(false).map_err(|e| format!("hooks: {e}"))?;
    if hooks.iter().any(|h| h.att_id == att) {
        return Err(format!("KPL_IOC_DETACH left attachment {att}"));
    }
    crate::outln!(
        "first attach ioctls: attach, replace, stats and detach at ipv4:local-in priority 0"
    )?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hooks_parse_by_name_and_print_back() {
        for (text, family, point) in [
            ("ipv4:local-in", FAMILY_IPV4, POINT_LOCAL_IN),
            ("ipv6:forward", FAMILY_IPV6, POINT_FORWARD),
            ("IPv6:PreRouting", FAMILY_IPV6, POINT_PRE_ROUTING),
            ("ipv4:output", FAMILY_IPV4, POINT_LOCAL_OUT),
            ("ipv6:post-routing", FAMILY_IPV6, POINT_POST_ROUTING),
        ] {
            let hook = parse_hook(text).expect(text);
            assert_eq!((hook.family, hook.point), (family, point), "{text}");
            assert_eq!(parse_hook(&hook.to_string()), Ok(hook));
        }
        assert_eq!(
            parse_hook("ipv4:input").map(|h| h.to_string()),
            Ok("ipv4:local-in".to_string())
        );
        for bad in [
            "ipv5:local-in",
            "ipv4:ingress",
            "ipv4",
            "",
            ":",
            "local-in:ipv4",
        ] {
            let e = parse_hook(bad).expect_err(bad);
            assert!(e.contains("expected FAMILY:POINT"), "{bad}: {e}");
        }
    }
}
