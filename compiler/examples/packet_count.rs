//! The packet filter of `benches/runtime.rs` (`packet_filter_1m_packets`)
//! for counting instructions per packet with callgrind (deterministic,
//! unlike criterion on a shared machine):
//!
//! ```text
//! cargo build --release -p kplc --example packet_count
//! kplc build examples/packet_filter/packet_filter.kpl -o pf.kpo
//! valgrind --tool=callgrind --collect-atstart=no \
//!     --toggle-collect='*packet_count*filter_packets*' \
//!     target/release/examples/packet_count pf.kpo N
//! ```
//!
//! It takes the object as a file, so objects from two compilers can be
//! compared with one host binary. The packets are the benchmark's mix (the
//! same generator and seed): half to one of the 16 allowed ports. The
//! instructions per packet are the difference between two `N`s divided by
//! their difference (the set-up cancels out); `native` instead of a file
//! runs the benchmark's Rust filter through a function pointer.

#[path = "../benches/common/packets.rs"]
mod packets;

use packets::{allowed_ports, native_filter};
use std::hint::black_box;

const PACKETS: usize = 4096;

/// The measured loop, out of line so that `--toggle-collect` sees it.
#[inline(never)]
fn filter_packets(i: &mut kpl_host::Instance, e: kpl_host::Export, pk: &[u8], n: u64) -> u64 {
    let mut accepted = 0;
    for pkt in pk.chunks_exact(64).cycle().take(n as usize) {
        let mut args = [kpl_host::Arg::Slice {
            bytes: pkt,
            elem_size: 1,
        }];
        accepted += i.call(e, &mut args, 1000).unwrap_or(0);
    }
    accepted
}

#[inline(never)]
fn filter_packets_native(pk: &[u8], ports: &[u16], n: u64) -> u64 {
    let hook: fn(&[u8], &[u16]) -> u32 = native_filter;
    let hook = black_box(hook);
    let mut accepted = 0;
    for pkt in pk.chunks_exact(64).cycle().take(n as usize) {
        accepted += u64::from(hook(pkt, ports));
    }
    accepted
}

fn main() {
    let mut argv = std::env::args().skip(1);
    let Some(which) = argv.next() else {
        eprintln!("usage: packet_count OBJECT.kpo|native N");
        std::process::exit(2);
    };
    let n: u64 = argv
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let ports = allowed_ports();
    let pk = packets::packets(PACKETS, &ports);
    let accepted = if which == "native" {
        filter_packets_native(&pk, &ports, n)
    } else {
        let object = std::fs::read(&which).expect("object file");
        let mut inst = kpl_host::Instance::load(&object).expect("loads");
        let filter = inst.export("filter").expect("filter");
        let allow = inst.export("allow_port").expect("allow_port");
        for &p in &ports {
            assert_eq!(inst.call_scalars(allow, &[u64::from(p)], 1000), Ok(0));
        }
        filter_packets(&mut inst, filter, &pk, n)
    };
    println!("{accepted} of {n} accepted");
}
