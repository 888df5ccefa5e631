//! `kplc kernel ...`: drives the kernel module through `/dev/kpl` (the
//! ioctls of [`uapi`]): load, unload, run, list, attach,
//! detach, stats. The same commands work in the test VM and on a real
//! machine with `kpl.ko` loaded. `KPL_DEV` overrides the device path.
//!
//! Hidden commands used by the in-VM test (`scripts/kernel-test.sh`):
//! `cases` runs an example's `cases.txt` on the kernel and on the host
//! runtime side by side; `expect-reject` checks a load is refused with a
//! given verifier rule; `stress` loops load/run/unload.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub mod hooks;
pub mod uapi;

pub use hooks::{Hook, HookAttach, parse_hook};
use hooks::{ProbeEnds, legacy_abi, udp_probe};

use uapi::*;

#[derive(clap::Subcommand)]
pub enum KernelCmd {
    /// Verify, link and load a plugin (`.kpo`, or `.kpl` compiled first); prints its id.
    Load {
        file: PathBuf,
        /// Name shown by `list` and in the kernel log (default: the file stem).
        #[arg(long)]
        name: Option<String>,
    },
    /// Unload a plugin.
    Unload { id: u32 },
    /// Test-run an export: scalars by `--arg`, read-only slices from `--in`
    /// files, a writable slice of `--out-len` bytes written to `--out`.
    Run {
        id: u32,
        #[arg(long)]
        entry: String,
        #[arg(long = "arg", allow_hyphen_values = true)]
        args: Vec<String>,
        #[arg(long = "in")]
        inputs: Vec<PathBuf>,
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long)]
        out_len: Option<usize>,
        /// Time budget in nanoseconds (default 1 ms).
        #[arg(long, default_value_t = 0)]
        budget_ns: u64,
    },
    /// Print an element of a loaded plugin's integer static (read with
    /// one atomic load: never torn).
    Stat {
        id: u32,
        /// The static's name in the plugin's source.
        name: String,
        /// Element of an array static.
        #[arg(long, default_value_t = 0)]
        index: u32,
    },
    /// Replace an element of a loaded plugin's integer static (one atomic
    /// exchange, so no concurrent `atomic_add` is lost); prints the value
    /// it replaced.
    Set {
        id: u32,
        name: String,
        #[arg(allow_hyphen_values = true)]
        value: String,
        #[arg(long, default_value_t = 0)]
        index: u32,
    },
    /// List loaded plugins with their exports, imports and counters.
    List,
    /// Attach a plugin's packet filter to a netfilter hook of this network
    /// namespace; a plugin already attached at the same hook and priority
    /// is replaced atomically. Prints the attachment's id.
    Attach {
        id: u32,
        /// FAMILY:POINT: FAMILY `ipv4` or `ipv6`; POINT `pre-routing`,
        /// `local-in`, `forward`, `local-out` or `post-routing` (or
        /// nftables' `prerouting`, `input`, `output`, `postrouting`).
        #[arg(long, default_value = "ipv4:local-in", value_parser = parse_hook)]
        hook: Hook,
        /// Netfilter priority: where among the hook's other functions
        /// (conntrack -200, NAT -100/100, the filter table 0) it runs.
        #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
        priority: i32,
        /// `fn(pkt: []u8) -> u32`, or `fn(pkt: []u8, family: u32, point:
        /// u32) -> u32`: 0 drops the packet, anything else accepts it.
        #[arg(long, default_value = "filter")]
        entry: String,
        #[arg(long, default_value_t = 0)]
        budget_ns: u64,
        /// Fail if a plugin is attached there already, instead of replacing it.
        #[arg(long)]
        no_replace: bool,
    },
    /// Detach an attachment: by its id (see `hooks`), or the one at
    /// `--hook` and `--priority` in this network namespace.
    #[command(group(clap::ArgGroup::new("which").required(true).args(["attachment", "hook"])))]
    Detach {
        attachment: Option<u32>,
        #[arg(long, value_parser = parse_hook)]
        hook: Option<Hook>,
        #[arg(
            long,
            default_value_t = 0,
            allow_hyphen_values = true,
            requires = "hook"
        )]
        priority: i32,
    },
    /// List the attachments of this network namespace with their counters.
    #[command(alias = "stats")]
    Hooks {
        /// Every network namespace's attachments.
        #[arg(long)]
        all_netns: bool,
    },
    #[command(hide = true)]
    Cases { file: PathBuf, cases: PathBuf },
    /// Drops to uid/gid 65534 (keeping the open device) and checks that
    /// load, unload, run and attach are refused with EPERM and list is not.
    #[command(hide = true)]
    Unprivileged { file: PathBuf },
    /// Malformed ioctls (bad lengths, pointers, counts, names): each must
    /// fail with its errno. FILE: an object exporting
    /// `grayscale([]u8, []mut u8) -> u32`.
    #[command(hide = true)]
    BadInput { file: PathBuf },
    #[command(hide = true)]
    ExpectReject { file: PathBuf, rule: String },
    /// The first attach ioctls (KPL_IOC_ATTACH, KPL_IOC_HOOK_STATS,
    /// KPL_IOC_DETACH), with nothing at ipv4:local-in priority 0: attach
    /// plugin ID's `filter`, replace it by itself, read it back, detach.
    #[command(hide = true)]
    LegacyAbi { id: u32 },
    /// Sends `count` UDP datagrams to `addr`:`port` from the same
    /// address (or `--from`), and prints how many arrived. With
    /// `--wait-ms 0` they are sent back to back (for a stream while
    /// attachments change), else one at a time, each awaited up to that
    /// long. With `--rx-netns /proc/PID/ns/net` the receiver is in that
    /// network namespace (so the datagrams are routed to it).
    #[command(hide = true)]
    Probe {
        #[arg(long)]
        port: u16,
        #[arg(long)]
        count: u32,
        #[arg(long, default_value = "127.0.0.1")]
        addr: std::net::IpAddr,
        #[arg(long)]
        from: Option<std::net::IpAddr>,
        #[arg(long)]
        rx_netns: Option<PathBuf>,
        #[arg(long, default_value_t = 100)]
        wait_ms: u64,
    },
    /// Listens on 127.0.0.1:`port` and connects to it from source port
    /// `src`; prints whether the handshake completed within 500 ms.
    #[command(hide = true)]
    TcpProbe {
        #[arg(long)]
        port: u16,
        #[arg(long)]
        src: u16,
        /// After connecting, send this many bytes and report how many arrived.
        #[arg(long, default_value_t = 0)]
        bytes: usize,
    },
    #[command(hide = true)]
    Stress {
        file: PathBuf,
        #[arg(long)]
        cycles: u32,
        #[arg(long)]
        entry: String,
        #[arg(long = "arg")]
        args: Vec<u64>,
        #[arg(long)]
        expect: u64,
    },
}

/// An open `/dev/kpl`.
pub struct Device {
    file: File,
}

/// Why an ioctl failed: the errno and, for LOAD, the kernel's explanation.
#[derive(Debug)]
pub struct KernelError {
    pub errno: i32,
    pub what: String,
    pub rule: String,
}

impl std::fmt::Display for KernelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let os = std::io::Error::from_raw_os_error(self.errno);
        if self.what.is_empty() {
            write!(f, "{os}")
        } else {
            write!(f, "{} ({os})", self.what)
        }
    }
}

fn c_str(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

fn put_str(dst: &mut [u8], s: &str) {
    let n = s.len().min(dst.len() - 1);
    dst[..n].copy_from_slice(&s.as_bytes()[..n]);
    dst[n..].fill(0);
}

/// Result of a test run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOutcome {
    pub result: u64,
    pub duration_ns: u64,
    pub fuel: u64,
    pub fuel_left: u64,
    /// (kind code, line, col) when it trapped.
    pub trap: Option<(u32, u32, u32)>,
}

/// A slice argument of a test run.
pub enum Buf<'a> {
    In(&'a [u8]),
    Out(&'a mut [u8]),
}

impl Device {
    pub fn open() -> Result<Device, String> {
        let path = std::env::var("KPL_DEV").unwrap_or_else(|_| "/dev/kpl".to_string());
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| format!("cannot open `{path}` (is kpl.ko loaded?): {e}"))?;
        Ok(Device { file })
    }

    fn ioctl<T>(&self, req: u32, arg: &mut T) -> Result<(), i32> {
        // SAFETY: `arg` is the repr(C) struct the request number encodes
        // (size included), valid and exclusive for the call; the kernel
        // reads and writes only its bytes and the user buffers it names,
        // which the callers keep alive across the call.
        let rc = unsafe {
            libc::ioctl(
                self.file.as_raw_fd(),
                req as libc::c_ulong,
                arg as *mut T as *mut libc::c_void,
            )
        };
        if rc < 0 {
            Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
        } else {
            Ok(())
        }
    }

    pub fn load(&self, object: &[u8], name: &str) -> Result<u32, KernelError> {
        let mut req = KplLoad::zeroed();
        req.obj_ptr = object.as_ptr() as u64;
        req.obj_len = u32::try_from(object.len()).unwrap_or(u32::MAX);
        put_str(&mut req.name, name);
        self.ioctl(IOC_LOAD, &mut req)
            .map_err(|errno| KernelError {
                errno,
                what: c_str(&req.err_msg),
                rule: c_str(&req.err_rule),
            })?;
        Ok(req.id)
    }

    pub fn unload(&self, id: u32) -> Result<(), KernelError> {
        let mut req = KplId::zeroed();
        req.id = id;
        self.ioctl(IOC_UNLOAD, &mut req).map_err(plain)
    }

    pub fn run(
        &self,
        id: u32,
        entry: &str,
        args: &[u64],
        bufs: &mut [Buf<'_>],
        budget_ns: u64,
    ) -> Result<RunOutcome, KernelError> {
        let mut req = KplRun::zeroed();
        req.id = id;
        put_str(&mut req.entry, entry);
        for (d, a) in req.args.iter_mut().zip(args) {
            *d = *a;
        }
        req.budget_ns = budget_ns;
        if bufs.len() > MAX_BUFS {
            return Err(plain(libc::EINVAL));
        }
        req.nbufs = bufs.len() as u32;
        for (d, b) in req.bufs.iter_mut().zip(bufs.iter_mut()) {
            let (ptr, len) = match b {
                Buf::In(s) => (s.as_ptr() as u64, s.len()),
                Buf::Out(s) => (s.as_mut_ptr() as u64, s.len()),
            };
            d.ptr = ptr;
            d.len = len as u64;
        }
        self.ioctl(IOC_RUN, &mut req).map_err(plain)?;
        Ok(RunOutcome {
            result: req.result,
            duration_ns: req.duration_ns,
            fuel: req.fuel,
            fuel_left: req.fuel_left,
            trap: (req.trapped != 0).then_some((req.trap_kind, req.trap_line, req.trap_col)),
        })
    }

    pub fn list(&self) -> Result<Vec<u32>, KernelError> {
        let mut ids = vec![0u32; 1024];
        let mut req = KplList::zeroed();
        req.ids_ptr = ids.as_mut_ptr() as u64;
        req.cap = ids.len() as u32;
        self.ioctl(IOC_LIST, &mut req).map_err(plain)?;
        ids.truncate((req.count as usize).min(1024));
        Ok(ids)
    }

    /// Element `index` of the static `name` of plugin `id`; with `new`,
    /// replaced by it. The value read (before the write), and the element
    /// type's code.
    pub fn static_var(
        &self,
        id: u32,
        name: &str,
        index: u32,
        new: Option<u64>,
    ) -> Result<(u64, u32), KernelError> {
        let mut req = KplStatic::zeroed();
        req.id = id;
        put_str(&mut req.name, name);
        req.index = index;
        if let Some(v) = new {
            req.flags = STATIC_WRITE;
            req.new_value = v;
        }
        self.ioctl(IOC_STATIC, &mut req).map_err(plain)?;
        Ok((req.value, req.elem))
    }

    /// The plugin's counters and its description text.
    pub fn info(&self, id: u32) -> Result<(KplInfo, String), KernelError> {
        let mut text = vec![0u8; 8192];
        let mut req = KplInfo::zeroed();
        req.id = id;
        req.text_ptr = text.as_mut_ptr() as u64;
        req.text_cap = text.len() as u32;
        self.ioctl(IOC_INFO, &mut req).map_err(plain)?;
        Ok((req, c_str(&text)))
    }
}

fn plain(errno: i32) -> KernelError {
    KernelError {
        errno,
        what: String::new(),
        rule: String::new(),
    }
}

/// A parameter: (is a slice, writable, element or scalar type name).
type Param = (bool, bool, String);

/// An export's parameters as the kernel describes them (`export f([]u8,
/// []mut u8) -> u32`): for each, `(is_slice, writable, type name)`.
fn export_signature(text: &str, entry: &str) -> Option<(Vec<Param>, Option<String>)> {
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(&format!("export {entry}(")))?;
    let (params, rest) = line.split_once(')')?;
    let params = params
        .split(", ")
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (slice, p) = p.strip_prefix("[]").map_or((false, p), |q| (true, q));
            let (w, p) = p.strip_prefix("mut ").map_or((false, p), |q| (true, q));
            (slice, w, p.to_string())
        })
        .collect();
    let ret = rest.strip_prefix(" -> ").map(str::to_string);
    Some((params, ret))
}

/// The display of a raw return value of type `ty`.
fn show_value(ty: Option<&str>, raw: u64) -> String {
    match ty {
        None => "()".to_string(),
        Some("bool") => (raw & 1 != 0).to_string(),
        Some("i8") => (raw as i8).to_string(),
        Some("i16") => (raw as i16).to_string(),
        Some("i32") => (raw as i32).to_string(),
        Some("i64") => (raw as i64).to_string(),
        Some(_) => raw.to_string(),
    }
}

/// The KPL name of a STATICS element type code.
fn elem_name(code: u32) -> &'static str {
    match code {
        1 => "u8",
        2 => "u16",
        3 => "u32",
        4 => "u64",
        5 => "i8",
        6 => "i16",
        7 => "i32",
        8 => "i64",
        _ => "bool",
    }
}

/// `v` (as `parse_u64` read it, negatives wrapped) as the zero-extended
/// bits of a `ty`, if `ty` holds it.
fn fit(ty: &str, v: u64) -> Option<u64> {
    let s = v as i64;
    let ok = match ty {
        "bool" => v <= 1,
        "u8" => v <= u64::from(u8::MAX),
        "u16" => v <= u64::from(u16::MAX),
        "u32" => v <= u64::from(u32::MAX),
        "i8" => i8::try_from(s).is_ok(),
        "i16" => i16::try_from(s).is_ok(),
        "i32" => i32::try_from(s).is_ok(),
        _ => true,
    };
    let bits = match ty {
        "bool" | "u8" | "i8" => 8,
        "u16" | "i16" => 16,
        "u32" | "i32" => 32,
        _ => 64,
    };
    ok.then(|| {
        if bits == 64 {
            v
        } else {
            v & ((1u64 << bits) - 1)
        }
    })
}

/// What a failed KPL_IOC_STATIC means, in the user's terms.
fn static_error(id: u32, name: &str, index: u32, e: &KernelError) -> String {
    match e.errno {
        libc::ENOENT => format!("plugin {id} has no static `{name}` (or there is no plugin {id})"),
        libc::EMEDIUMTYPE => {
            format!("static `{name}` of plugin {id} is not an integer or an array of integers")
        }
        libc::ERANGE => format!("index {index} is past the end of static `{name}`"),
        _ => format!("static `{name}` of plugin {id}: {e}"),
    }
}

fn parse_u64(text: &str) -> Option<u64> {
    match text {
        "true" => return Some(1),
        "false" => return Some(0),
        _ => {}
    }
    let (neg, body) = text.strip_prefix('-').map_or((false, text), |b| (true, b));
    let body = body.replace('_', "");
    let v = match body.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok()?,
        None => body.parse::<u64>().ok()?,
    };
    Some(if neg { v.wrapping_neg() } else { v })
}

/// Object bytes from a `.kpo`, or compiled from a `.kpl` with the built-in imports.
fn object_bytes(path: &Path) -> Result<Vec<u8>, String> {
    if path.extension().is_some_and(|e| e == "kpo") {
        return read_object(path);
    }
    let src = crate::cli_io::read_source(path)?;
    let (imports, _) = kpl_codegen::std_imports::ImportSources::embedded().load();
    let analysis = kpl_lang::analyze(&src, &imports);
    if analysis.has_errors() {
        return Err(format!(
            "`{}` has errors (run `kplc check` for details)",
            path.display()
        ));
    }
    let compiled = kpl_codegen::compile(&analysis.file, &analysis.program);
    Ok(kpl_codegen::object::write(
        &compiled,
        &path.display().to_string(),
        &src,
    ))
}

/// An object file, at most [`crate::cli_io::MAX_OBJECT_BYTES`].
fn read_object(path: &Path) -> Result<Vec<u8>, String> {
    crate::cli_io::read_bounded(path, crate::cli_io::MAX_OBJECT_BYTES, "an object file")
}

const TRAP_NAMES: [&str; 6] = ["?", "DivByZero", "Overflow", "Bounds", "Budget", "Abort"];

fn trap_name(kind: u32) -> &'static str {
    TRAP_NAMES.get(kind as usize).copied().unwrap_or("?")
}

/// Runs `kplc kernel CMD`.
pub fn main(cmd: KernelCmd) -> ExitCode {
    match run_cmd(cmd) {
        Ok(code) => code,
        Err(e) => {
            crate::errln!("kplc: {e}");
            ExitCode::from(2)
        }
    }
}

fn run_cmd(cmd: KernelCmd) -> Result<ExitCode, String> {
    let dev = Device::open()?;
    match cmd {
        KernelCmd::Load { file, name } => {
            let object = object_bytes(&file)?;
            let name = name.unwrap_or_else(|| {
                file.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
            match dev.load(&object, &name) {
                Ok(id) => {
                    crate::outln!("{id}")?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    crate::errln!("kplc: the kernel refused `{}`: {e}", file.display());
                    Ok(ExitCode::from(1))
                }
            }
        }
        KernelCmd::Unload { id } => {
            dev.unload(id).map_err(|e| format!("unload {id}: {e}"))?;
            Ok(ExitCode::SUCCESS)
        }
        KernelCmd::Run {
            id,
            entry,
            args,
            inputs,
            out,
            out_len,
            budget_ns,
        } => {
            let (_, text) = dev.info(id).map_err(|e| format!("plugin {id}: {e}"))?;
            let (params, ret) = export_signature(&text, &entry)
                .ok_or_else(|| format!("plugin {id} exports no function `{entry}`"))?;
            let mut scalars = args.iter();
            let mut inputs = inputs.iter();
            let mut ins = Vec::new();
            let mut regs = [0u64; 6];
            let mut plan = Vec::new();
            for (i, (slice, writable, _)) in params.iter().enumerate() {
                if !slice {
                    let text = scalars
                        .next()
                        .ok_or_else(|| format!("parameter {} needs an --arg", i + 1))?;
                    regs[i] = parse_u64(text).ok_or_else(|| format!("bad --arg `{text}`"))?;
                } else if *writable {
                    plan.push(true);
                } else {
                    let path = inputs
                        .next()
                        .ok_or_else(|| format!("parameter {} needs an --in file", i + 1))?;
                    ins.push(crate::cli_io::read_bounded(
                        path,
                        crate::cli_io::MAX_DATA_BYTES,
                        "an input",
                    )?);
                    plan.push(false);
                }
            }
            let n_out = out_len.or(ins.first().map(Vec::len)).unwrap_or(0);
            if n_out as u64 > crate::cli_io::MAX_DATA_BYTES {
                return Err(format!(
                    "--out-len {n_out} is larger than {} MiB, the limit for an output",
                    crate::cli_io::MAX_DATA_BYTES >> 20
                ));
            }
            let mut outs: Vec<Vec<u8>> = plan
                .iter()
                .filter(|w| **w)
                .map(|_| vec![0; n_out])
                .collect();
            let mut bufs = Vec::new();
            let (mut ii, mut oi) = (ins.iter(), outs.iter_mut());
            for w in &plan {
                bufs.push(if *w {
                    Buf::Out(oi.next().map(Vec::as_mut_slice).unwrap_or_default())
                } else {
                    Buf::In(ii.next().map(Vec::as_slice).unwrap_or_default())
                });
            }
            let r = dev
                .run(id, &entry, &regs, &mut bufs, budget_ns)
                .map_err(|e| format!("run {id} {entry}: {e}"))?;
            drop(bufs);
            if let (Some(path), Some(o)) = (&out, outs.first()) {
                std::fs::write(path, o)
                    .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
            }
            match r.trap {
                None => {
                    crate::outln!("{}", show_value(ret.as_deref(), r.result))?;
                    crate::errln!(
                        "kplc: {} ns, fuel used {} of {}",
                        r.duration_ns,
                        r.fuel - r.fuel_left,
                        r.fuel
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Some((kind, line, col)) => {
                    crate::errln!(
                        "kplc: trap: {} at line {line}, column {col} (after {} ns)",
                        trap_name(kind),
                        r.duration_ns
                    );
                    Ok(ExitCode::from(3))
                }
            }
        }
        KernelCmd::Stat { id, name, index } => {
            let (raw, elem) = dev
                .static_var(id, &name, index, None)
                .map_err(|e| static_error(id, &name, index, &e))?;
            crate::outln!("{}", show_value(Some(elem_name(elem)), raw))?;
            Ok(ExitCode::SUCCESS)
        }
        KernelCmd::Set {
            id,
            name,
            value,
            index,
        } => {
            // The element type decides the width: read it first.
            let (_, elem) = dev
                .static_var(id, &name, index, None)
                .map_err(|e| static_error(id, &name, index, &e))?;
            let ty = elem_name(elem);
            let v = parse_u64(&value)
                .and_then(|v| fit(ty, v))
                .ok_or_else(|| format!("`{value}` is not a value of type {ty}"))?;
            let (old, _) = dev
                .static_var(id, &name, index, Some(v))
                .map_err(|e| static_error(id, &name, index, &e))?;
            crate::outln!("{}", show_value(Some(ty), old))?;
            Ok(ExitCode::SUCCESS)
        }
        KernelCmd::List => {
            for id in dev.list().map_err(|e| format!("list: {e}"))? {
                let Ok((info, text)) = dev.info(id) else {
                    continue;
                };
                crate::outln!(
                    "{id} {}: code {} B, data {} B, {} invocations, {} traps, {} ns total{}",
                    c_str(&info.name),
                    info.code_size,
                    info.data_size,
                    info.invocations,
                    info.traps,
                    info.total_ns,
                    if info.attached != 0 { ", attached" } else { "" }
                )?;
                for l in text.lines() {
                    crate::outln!("    {l}")?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        KernelCmd::Attach {
            id,
            hook,
            priority,
            entry,
            budget_ns,
            no_replace,
        } => {
            let (att, old) = dev
                .hook_attach(&HookAttach {
                    hook,
                    priority,
                    id,
                    entry: &entry,
                    budget_ns,
                    exclusive: no_replace,
                })
                .map_err(|e| match e.errno {
                    libc::EEXIST => format!(
                        "attach {id}: a plugin is attached at {hook} priority {priority} \
                         already (without --no-replace it would be replaced)"
                    ),
                    libc::EINVAL => format!(
                        "attach {id} at {hook}: {e} (is `{entry}` a filter, \
                         `fn(pkt: []u8[, family: u32, point: u32]) -> u32`?)"
                    ),
                    _ => format!("attach {id} at {hook}: {e}"),
                })?;
            crate::outln!("{att}")?;
            if old != 0 {
                crate::errln!("kplc: replaced plugin {old} at attachment {att}");
            }
            Ok(ExitCode::SUCCESS)
        }
        KernelCmd::Detach {
            attachment,
            hook,
            priority,
        } => {
            let att = match (attachment, hook) {
                (Some(att), _) => att,
                (None, Some(hook)) => dev
                    .hooks(false)
                    .map_err(|e| format!("hooks: {e}"))?
                    .iter()
                    .find(|h| {
                        h.family == hook.family && h.point == hook.point && h.priority == priority
                    })
                    .map(|h| h.att_id)
                    .ok_or_else(|| {
                        format!("detach: nothing is attached at {hook} priority {priority}")
                    })?,
                (None, None) => return Err("detach: which attachment?".to_string()),
            };
            dev.hook_detach(att)
                .map_err(|e| format!("detach {att}: {e}"))?;
            Ok(ExitCode::SUCCESS)
        }
        KernelCmd::Hooks { all_netns } => {
            for h in dev.hooks(all_netns).map_err(|e| format!("hooks: {e}"))? {
                let name = dev
                    .info(h.id)
                    .map(|(i, _)| c_str(&i.name))
                    .unwrap_or_else(|_| "?".to_string());
                crate::outln!(
                    "{} {} priority {} netns {} plugin {} name {} entry {} budget_ns {} \
                     invocations {} accepted {} dropped {} traps {} unfiltered {} replaced {}",
                    h.att_id,
                    Hook {
                        family: h.family,
                        point: h.point
                    },
                    h.priority,
                    h.netns,
                    h.id,
                    name,
                    c_str(&h.entry),
                    h.budget_ns,
                    h.invocations,
                    h.accepted,
                    h.dropped,
                    h.traps,
                    h.unfiltered,
                    h.replaced
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
        KernelCmd::Cases { file, cases } => cases_cmd(&dev, &file, &cases),
        KernelCmd::BadInput { file } => bad_input(&dev, &file),
        KernelCmd::Unprivileged { file } => {
            let object = read_object(&file)?;
            // SAFETY: plain system calls that change this process's credentials.
            let rc = unsafe {
                libc::setgroups(0, std::ptr::null());
                libc::setgid(65534) | libc::setuid(65534)
            };
            if rc != 0 {
                return Err("cannot drop privileges".to_string());
            }
            let eperm = |r: Result<(), KernelError>, what: &str| match r {
                Err(e) if e.errno == libc::EPERM => Ok(()),
                other => Err(format!("unprivileged {what}: {other:?}, expected EPERM")),
            };
            eperm(dev.load(&object, "x").map(|_| ()), "load")?;
            eperm(dev.unload(1), "unload")?;
            eperm(dev.run(1, "inc", &[1], &mut [], 0).map(|_| ()), "run")?;
            let mut legacy = KplAttach::zeroed();
            legacy.hook = HOOK_IPV4_LOCAL_IN;
            legacy.id = 1;
            eperm(dev.ioctl(IOC_ATTACH, &mut legacy).map_err(plain), "attach")?;
            let mut legacy = KplHook::zeroed();
            legacy.hook = HOOK_IPV4_LOCAL_IN;
            eperm(dev.ioctl(IOC_DETACH, &mut legacy).map_err(plain), "detach")?;
            let hook = Hook {
                family: FAMILY_IPV6,
                point: POINT_FORWARD,
            };
            let req = HookAttach {
                hook,
                priority: 0,
                id: 1,
                entry: "filter",
                budget_ns: 0,
                exclusive: false,
            };
            eperm(dev.hook_attach(&req).map(|_| ()), "hook attach")?;
            eperm(dev.hook_detach(1), "hook detach")?;
            eperm(dev.hooks(true).map(|_| ()), "hook list of every namespace")?;
            eperm(
                dev.static_var(1, "x", 0, Some(0)).map(|_| ()),
                "static write",
            )?;
            // Reading a static is allowed (no plugin 1 here: ENOENT).
            if let Err(e) = dev.static_var(1, "x", 0, None)
                && e.errno == libc::EPERM
            {
                return Err("unprivileged static read refused with EPERM".to_string());
            }
            dev.list().map_err(|e| format!("unprivileged list: {e}"))?;
            dev.hooks(false)
                .map_err(|e| format!("unprivileged hook list: {e}"))?;
            crate::outln!(
                "unprivileged: load, unload, run, attach, detach, static writes and other \
                 namespaces' hooks refused; list, static reads and this namespace's hooks allowed"
            )?;
            Ok(ExitCode::SUCCESS)
        }
        KernelCmd::TcpProbe { port, src, bytes } => {
            let listener = std::net::TcpListener::bind(("127.0.0.1", port))
                .map_err(|e| format!("listen on {port}: {e}"))?;
            // The reader; left blocked in accept (and dropped at exit) when
            // the connection is filtered.
            let reader = std::thread::spawn(move || -> usize {
                use std::io::Read;
                let Ok((mut s, _)) = listener.accept() else {
                    return 0;
                };
                let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(3)));
                let mut buf = vec![0u8; 65536];
                let mut got = 0;
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    got += n;
                }
                got
            });
            let fd = tcp_connect(port, src, 500).map_err(|e| format!("connect: {e}"))?;
            let Some(fd) = fd else {
                crate::outln!("tcp port {port} from {src}: timed out")?;
                return Ok(ExitCode::SUCCESS);
            };
            let sent = send_all(&fd, bytes);
            drop(fd);
            let got = if bytes > 0 {
                reader.join().unwrap_or(0)
            } else {
                0
            };
            crate::outln!(
                "tcp port {port} from {src}: connected; sent {sent} bytes, received {got}"
            )?;
            Ok(ExitCode::SUCCESS)
        }
        KernelCmd::Probe {
            port,
            count,
            addr,
            from,
            rx_netns,
            wait_ms,
        } => {
            let ends = ProbeEnds {
                addr,
                port,
                from,
                rx_netns: rx_netns.as_deref(),
            };
            let (got, refused) =
                udp_probe(&ends, count, wait_ms).map_err(|e| format!("probe: {e}"))?;
            if refused == 0 {
                crate::outln!("udp port {port}: received {got} of {count}")?;
            } else {
                crate::outln!(
                    "udp port {port}: received {got} of {count} ({refused} sends refused)"
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
        KernelCmd::LegacyAbi { id } => legacy_abi(&dev, id),
        KernelCmd::ExpectReject { file, rule } => {
            let object = read_object(&file)?;
            match dev.load(&object, "adversarial") {
                Ok(id) => {
                    let _ = dev.unload(id);
                    crate::outln!("FAIL: {} was loaded", file.display())?;
                    Ok(ExitCode::from(1))
                }
                Err(e) if e.rule == rule => {
                    crate::outln!("ok: {} rejected: {}", file.display(), e.what)?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    crate::outln!(
                        "FAIL: {} rejected with rule `{}`, expected `{rule}`: {e}",
                        file.display(),
                        e.rule
                    )?;
                    Ok(ExitCode::from(1))
                }
            }
        }
        KernelCmd::Stress {
            file,
            cycles,
            entry,
            args,
            expect,
        } => {
            let object = read_object(&file)?;
            let t0 = std::time::Instant::now();
            let (mut load_ns, mut run_ns, mut unload_ns) = (0u128, 0u128, 0u128);
            let mut invoke_ns = 0u128;
            for i in 0..cycles {
                let t = std::time::Instant::now();
                let id = dev
                    .load(&object, "stress")
                    .map_err(|e| format!("cycle {i}: load: {e}"))?;
                load_ns += t.elapsed().as_nanos();
                let t = std::time::Instant::now();
                let r = dev
                    .run(id, &entry, &args, &mut [], 0)
                    .map_err(|e| format!("cycle {i}: run: {e}"))?;
                run_ns += t.elapsed().as_nanos();
                invoke_ns += u128::from(r.duration_ns);
                if r.trap.is_some() || r.result != expect {
                    return Err(format!("cycle {i}: got {:?}, want {expect}", r));
                }
                let t = std::time::Instant::now();
                dev.unload(id)
                    .map_err(|e| format!("cycle {i}: unload: {e}"))?;
                unload_ns += t.elapsed().as_nanos();
            }
            let n = u128::from(cycles.max(1));
            crate::outln!(
                "stress: {cycles} cycles in {} ms; per cycle: load+verify+link {} us, \
                 RUN ioctl {} us (invoke in the kernel {} ns), unload {} us",
                t0.elapsed().as_millis(),
                load_ns / n / 1000,
                run_ns / n / 1000,
                invoke_ns / n,
                unload_ns / n / 1000
            )?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Sends malformed requests; every one must fail with the expected errno.
fn bad_input(dev: &Device, file: &Path) -> Result<ExitCode, String> {
    let object = read_object(file)?;
    let mut failures = Vec::new();
    let mut n = 0;
    let mut expect = |what: &str, got: Result<(), i32>, want: i32| {
        n += 1;
        if got != Err(want) {
            failures.push(format!("{what}: got {got:?}, want errno {want}"));
        }
    };
    let bad_ptr = 0x10u64;
    let mut l = KplLoad::zeroed();
    expect("load of 0 bytes", dev.ioctl(IOC_LOAD, &mut l), libc::EINVAL);
    l.obj_len = MAX_OBJECT as u32 + 1;
    l.obj_ptr = object.as_ptr() as u64;
    expect(
        "load over the limit",
        dev.ioctl(IOC_LOAD, &mut l),
        libc::EINVAL,
    );
    l.obj_len = object.len() as u32;
    l.obj_ptr = bad_ptr;
    expect(
        "load from a bad pointer",
        dev.ioctl(IOC_LOAD, &mut l),
        libc::EFAULT,
    );
    l.obj_ptr = object.as_ptr() as u64;
    l.obj_len = object.len() as u32 - 1;
    expect(
        "load of a truncated object",
        dev.ioctl(IOC_LOAD, &mut l),
        libc::EINVAL,
    );
    // A name without its NUL is cut, not overrun.
    l.obj_len = object.len() as u32;
    l.name = [b'A'; NAME_LEN];
    dev.ioctl(IOC_LOAD, &mut l)
        .map_err(|e| format!("load with an unterminated name: errno {e}"))?;
    let id = l.id;
    let mut r = KplRun::zeroed();
    r.id = u32::MAX;
    put_str(&mut r.entry, "grayscale");
    expect(
        "run of a missing plugin",
        dev.ioctl(IOC_RUN, &mut r),
        libc::ENOENT,
    );
    r.id = id;
    r.nbufs = MAX_BUFS as u32 + 1;
    expect(
        "run with 9 buffers",
        dev.ioctl(IOC_RUN, &mut r),
        libc::EINVAL,
    );
    r.nbufs = 0;
    expect(
        "run without the slices",
        dev.ioctl(IOC_RUN, &mut r),
        libc::EINVAL,
    );
    r.budget_ns = MAX_BUDGET_NS + 1;
    expect(
        "run over the budget limit",
        dev.ioctl(IOC_RUN, &mut r),
        libc::EINVAL,
    );
    r.budget_ns = 0;
    r.nbufs = 2;
    r.bufs[0] = KplBuf {
        ptr: bad_ptr,
        len: 3,
    };
    r.bufs[1] = KplBuf {
        ptr: bad_ptr,
        len: 1,
    };
    expect(
        "run with a bad slice pointer",
        dev.ioctl(IOC_RUN, &mut r),
        libc::EFAULT,
    );
    r.bufs[0].len = u64::MAX;
    expect(
        "run with a huge slice",
        dev.ioctl(IOC_RUN, &mut r),
        libc::EINVAL,
    );
    r.entry = [b'g'; ENTRY_LEN];
    expect(
        "run of an unterminated entry name",
        dev.ioctl(IOC_RUN, &mut r),
        libc::ESRCH,
    );
    let mut li = KplList::zeroed();
    li.cap = 1 << 20;
    expect(
        "list with a huge capacity",
        dev.ioctl(IOC_LIST, &mut li),
        libc::EINVAL,
    );
    li.cap = 4;
    li.ids_ptr = bad_ptr;
    expect(
        "list into a bad pointer",
        dev.ioctl(IOC_LIST, &mut li),
        libc::EFAULT,
    );
    let mut inf = KplInfo::zeroed();
    inf.id = id;
    inf.text_cap = 1 << 20;
    expect(
        "info with a huge text",
        dev.ioctl(IOC_INFO, &mut inf),
        libc::EINVAL,
    );
    inf.text_cap = 64;
    inf.text_ptr = bad_ptr;
    expect(
        "info into a bad pointer",
        dev.ioctl(IOC_INFO, &mut inf),
        libc::EFAULT,
    );
    let mut a = KplAttach::zeroed();
    a.hook = 99;
    a.id = id;
    put_str(&mut a.entry, "grayscale");
    expect(
        "attach to an unknown hook",
        dev.ioctl(IOC_ATTACH, &mut a),
        libc::EINVAL,
    );
    a.hook = HOOK_IPV4_LOCAL_IN;
    expect(
        "attach of a non-filter export",
        dev.ioctl(IOC_ATTACH, &mut a),
        libc::EINVAL,
    );
    let mut h = KplHook::zeroed();
    h.hook = HOOK_IPV4_LOCAL_IN;
    expect(
        "detach with nothing attached",
        dev.ioctl(IOC_DETACH, &mut h),
        libc::ENOENT,
    );
    // The attach ioctl of any namespace and hook point.
    let mut ha = KplHookAttach::zeroed();
    ha.id = id;
    put_str(&mut ha.entry, "grayscale");
    ha.point = POINT_LOCAL_IN;
    for (what, family, point, priority, flags, budget) in [
        ("family 5", 5, POINT_LOCAL_IN, 0, 0, 0),
        ("family 0", 0, POINT_LOCAL_IN, 0, 0, 0),
        ("hook point 0", FAMILY_IPV6, 0, 0, 0, 0),
        ("hook point 6", FAMILY_IPV4, 6, 0, 0, 0),
        (
            "priority INT_MIN",
            FAMILY_IPV4,
            POINT_LOCAL_IN,
            i32::MIN,
            0,
            0,
        ),
        (
            "priority INT_MAX",
            FAMILY_IPV4,
            POINT_LOCAL_IN,
            i32::MAX,
            0,
            0,
        ),
        ("unknown flags", FAMILY_IPV4, POINT_LOCAL_IN, 0, 2, 0),
        (
            "a budget over the limit",
            FAMILY_IPV6,
            POINT_FORWARD,
            0,
            0,
            MAX_BUDGET_NS + 1,
        ),
        ("a non-filter export", FAMILY_IPV6, POINT_LOCAL_IN, 0, 0, 0),
    ] {
        let mut r = ha;
        (r.family, r.point, r.priority, r.flags, r.budget_ns) =
            (family, point, priority, flags, budget);
        expect(
            &format!("hook attach with {what}"),
            dev.ioctl(IOC_HOOK_ATTACH, &mut r),
            libc::EINVAL,
        );
    }
    let mut r = ha;
    r.family = FAMILY_IPV6;
    r.id = u32::MAX;
    expect(
        "hook attach of a missing plugin",
        dev.ioctl(IOC_HOOK_ATTACH, &mut r),
        libc::ENOENT,
    );
    // Sized: shorter than the first version is refused; longer is read
    // when the bytes this module does not know are zero (here it then
    // refuses the export: EINVAL), else refused with E2BIG.
    r.id = id;
    const LONGER: usize = std::mem::size_of::<KplHookAttach>() + 8;
    let mut bytes = [0u8; LONGER];
    // SAFETY: KplHookAttach is repr(C) plain integers, copied as bytes into a
    // larger buffer.
    unsafe {
        std::ptr::copy_nonoverlapping(
            (&r as *const KplHookAttach).cast::<u8>(),
            bytes.as_mut_ptr(),
            std::mem::size_of::<KplHookAttach>(),
        )
    };
    const SHORT: usize = HOOK_ATTACH_SIZE_VER0 as usize - 8;
    let mut short = [0u8; SHORT];
    short.copy_from_slice(&bytes[..SHORT]);
    expect(
        "hook attach with a struct shorter than its first version",
        dev.ioctl(hook_attach_ioc(short.len()), &mut short),
        libc::EINVAL,
    );
    expect(
        "hook attach with a longer struct, zeros past the known fields",
        dev.ioctl(hook_attach_ioc(LONGER), &mut bytes),
        libc::EINVAL,
    );
    bytes[LONGER - 1] = 1;
    expect(
        "hook attach with a longer struct, not zeros past the known fields",
        dev.ioctl(hook_attach_ioc(LONGER), &mut bytes),
        libc::E2BIG,
    );
    let mut hr = KplHookRef::zeroed();
    hr.att_id = u32::MAX;
    expect(
        "hook detach of a missing attachment",
        dev.ioctl(IOC_HOOK_DETACH, &mut hr),
        libc::ENOENT,
    );
    let mut hl = KplHookList::zeroed();
    hl.entry_size = HOOK_ENTRY_SIZE_VER0 - 1;
    expect(
        "hook list with entries smaller than their first version",
        dev.ioctl(IOC_HOOK_LIST, &mut hl),
        libc::EINVAL,
    );
    hl.entry_size = 1 << 20;
    expect(
        "hook list with huge entries",
        dev.ioctl(IOC_HOOK_LIST, &mut hl),
        libc::EINVAL,
    );
    hl.entry_size = std::mem::size_of::<KplHookEntry>() as u32;
    hl.flags = 2;
    expect(
        "hook list with unknown flags",
        dev.ioctl(IOC_HOOK_LIST, &mut hl),
        libc::EINVAL,
    );
    let mut x = KplId::zeroed();
    expect(
        "unknown ioctl",
        dev.ioctl(IOC_UNLOAD + 0x100, &mut x),
        libc::ENOTTY,
    );
    // SAFETY: a NULL argument; the kernel must answer EFAULT.
    let rc = unsafe { libc::ioctl(dev.file.as_raw_fd(), IOC_RUN as libc::c_ulong, 0usize) };
    let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
    expect(
        "NULL argument",
        if rc < 0 { Err(errno) } else { Ok(()) },
        libc::EFAULT,
    );
    dev.unload(id).map_err(|e| format!("unload: {e}"))?;
    for f in &failures {
        crate::outln!("FAIL: {f}")?;
    }
    crate::outln!(
        "bad input: {n} malformed requests, {} not refused as expected",
        failures.len()
    )?;
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Connects to 127.0.0.1:`port` from 127.0.0.1:`src` (a fixed source
/// port, so a filter can let the replies through); true if the handshake
/// completes within `timeout_ms` (then the connected socket, blocking).
fn tcp_connect(
    port: u16,
    src: u16,
    timeout_ms: i32,
) -> std::io::Result<Option<std::os::fd::OwnedFd>> {
    use std::os::fd::FromRawFd;
    let last = std::io::Error::last_os_error;
    let addr = |p: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: p.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_be_bytes([127, 0, 0, 1]).to_be(),
        },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: plain socket calls on a descriptor this function owns and
    // closes; every pointer is to a local of the size passed with it.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_NONBLOCK, 0);
        if fd < 0 {
            return Err(last());
        }
        let one: libc::c_int = 1;
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
        let from = addr(src);
        let to = addr(port);
        let result = if libc::bind(fd, (&from as *const libc::sockaddr_in).cast(), len) != 0 {
            Err(last())
        } else if libc::connect(fd, (&to as *const libc::sockaddr_in).cast(), len) == 0 {
            Ok(true)
        } else if *libc::__errno_location() != libc::EINPROGRESS {
            Err(last())
        } else {
            let mut p = libc::pollfd {
                fd,
                events: libc::POLLOUT,
                revents: 0,
            };
            let n = libc::poll(&mut p, 1, timeout_ms);
            let mut err: libc::c_int = 0;
            let mut elen = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_ERROR,
                (&mut err as *mut libc::c_int).cast(),
                &mut elen,
            );
            Ok(n == 1 && err == 0)
        };
        match result {
            Ok(true) => {
                let flags = libc::fcntl(fd, libc::F_GETFL);
                libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
                Ok(Some(std::os::fd::OwnedFd::from_raw_fd(fd)))
            }
            other => {
                libc::close(fd);
                other.map(|_| None)
            }
        }
    }
}

/// Writes `n` bytes to a connected socket (3 s send timeout); the count sent.
fn send_all(fd: &std::os::fd::OwnedFd, n: usize) -> usize {
    let tv = libc::timeval {
        tv_sec: 3,
        tv_usec: 0,
    };
    let buf = vec![0x5au8; 65536];
    let mut sent = 0;
    // SAFETY: setsockopt/send on a socket `fd` owns, with a local timeval
    // and a buffer of the length passed.
    unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        );
        while sent < n {
            let chunk = (n - sent).min(buf.len());
            let w = libc::send(
                fd.as_raw_fd(),
                buf.as_ptr().cast(),
                chunk,
                libc::MSG_NOSIGNAL,
            );
            if w <= 0 {
                break;
            }
            sent += w as usize;
        }
    }
    sent
}

/// Runs every case of an example on the kernel and on the host runtime (one
/// instance each, in order) and compares return values and output bytes
/// with each other and with the expectation.
fn cases_cmd(dev: &Device, file: &Path, cases: &Path) -> Result<ExitCode, String> {
    use crate::exec::cases;
    use crate::exec::run::{Runner, Value};
    let object = read_object(file)?;
    let text = crate::cli_io::read_source(cases)?;
    let mut host = Runner::load(&object).map_err(|e| format!("host runtime: {e}"))?;
    host.instance.host_mut().quiet = true;
    let name = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let t = std::time::Instant::now();
    let id = dev.load(&object, &name).map_err(|e| format!("load: {e}"))?;
    let load_us = t.elapsed().as_micros();
    let (_, desc) = dev.info(id).map_err(|e| format!("info: {e}"))?;
    let (mut total, mut failed) = (0, 0);
    for line in cases::lines(&text) {
        total += 1;
        let field = |k: &str| cases::field(line, k).unwrap_or("-");
        let hex = |s: &str| cases::hex(s).unwrap_or_default();
        let entry = field("entry");
        let Some((params, ret)) = export_signature(&desc, entry) else {
            crate::outln!("FAIL {name}: no export {entry}")?;
            failed += 1;
            continue;
        };
        let input = hex(field("in"));
        let out_len: usize = field("out_len")
            .parse::<usize>()
            .unwrap_or(0)
            .min(crate::cli_io::MAX_DATA_BYTES as usize);
        let mut scalars = field("args").split(',').filter(|a| *a != "-");
        let mut regs = [0u64; 6];
        let mut host_args = Vec::new();
        let mut kin = Vec::new();
        for (i, (slice, writable, ty)) in params.iter().enumerate() {
            if *slice {
                kin.push(*writable);
                host_args.push(if *writable {
                    Value::SliceMut(vec![0; out_len])
                } else {
                    Value::Slice(input.iter().map(|b| i128::from(*b)).collect())
                });
            } else {
                let v = parse_u64(scalars.next().unwrap_or("0")).unwrap_or(0);
                regs[i] = v;
                host_args.push(if ty == "bool" {
                    Value::Bool(v != 0)
                } else {
                    Value::Int(i128::from(v))
                });
            }
        }
        let host_ret = cases::outcome(&host.call(entry, &mut host_args, kpl_host::DEFAULT_FUEL));
        let host_out: Vec<u8> = host_args
            .iter()
            .find_map(|a| match a {
                Value::SliceMut(v) => Some(v.iter().map(|x| *x as u8).collect()),
                _ => None,
            })
            .unwrap_or_default();
        let mut out = vec![0u8; out_len];
        let mut bufs: Vec<Buf<'_>> = Vec::new();
        let mut out_slot = Some(&mut out);
        for w in &kin {
            bufs.push(if *w {
                Buf::Out(out_slot.take().map(Vec::as_mut_slice).unwrap_or_default())
            } else {
                Buf::In(&input)
            });
        }
        let kernel_ret = match dev.run(id, entry, &regs, &mut bufs, 100_000_000) {
            Ok(r) => match r.trap {
                Some((k, _, _)) => format!("trap{k}"),
                None => match ret.as_deref() {
                    None => "-".to_string(),
                    Some("bool") => (r.result & 1).to_string(),
                    t => show_value(t, r.result),
                },
            },
            Err(e) => format!("error: {e}"),
        };
        drop(bufs);
        let want = field("expect_ret");
        let want_out = hex(field("expect_out"));
        let has_out = kin.contains(&true);
        let ok = kernel_ret == host_ret
            && kernel_ret == want
            && (!has_out || (out == host_out && out == want_out));
        if !ok {
            failed += 1;
            crate::outln!(
                "FAIL {name}: `{line}`: kernel {kernel_ret} {}, host {host_ret} {}",
                hexs(&out),
                hexs(&host_out)
            )?;
        }
    }
    dev.unload(id).map_err(|e| format!("unload: {e}"))?;
    crate::outln!(
        "{name}: {} bytes loaded (verify + link) in {load_us} us; {total} cases, {failed} differ \
         (kernel vs host runtime vs expected)",
        object.len()
    )?;
    Ok(if failed == 0 && total > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn hexs(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_signatures_parse_from_info_text() {
        let text =
            "export grayscale([]u8, []mut u8) -> u32\nexport clear_ports()\nimport kernel::log\n";
        let (params, ret) = export_signature(text, "grayscale").expect("found");
        assert_eq!(
            params,
            vec![
                (true, false, "u8".to_string()),
                (true, true, "u8".to_string())
            ]
        );
        assert_eq!(ret.as_deref(), Some("u32"));
        let (params, ret) = export_signature(text, "clear_ports").expect("found");
        assert!(params.is_empty() && ret.is_none());
        assert!(export_signature(text, "gray").is_none());
    }

    #[test]
    fn scalar_arguments_and_results() {
        assert_eq!(parse_u64("-1"), Some(u64::MAX));
        assert_eq!(parse_u64("0x1_0"), Some(16));
        assert_eq!(parse_u64("true"), Some(1));
        assert_eq!(parse_u64("x"), None);
        assert_eq!(show_value(Some("i8"), 0xff), "-1");
        assert_eq!(show_value(Some("bool"), 1), "true");
        assert_eq!(show_value(None, 7), "()");
    }

    #[test]
    fn ioctl_numbers_encode_direction_size_and_type() {
        assert_eq!(IOC_LOAD >> 30, 3);
        assert_eq!(
            (IOC_LOAD >> 16) & 0x3fff,
            std::mem::size_of::<KplLoad>() as u32
        );
        assert_eq!((IOC_RUN >> 8) & 0xff, u32::from(b'k'));
        assert_eq!(IOC_UNLOAD >> 30, 1);
    }
}
