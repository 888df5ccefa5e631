//! The packet-filter benchmark's inputs and its Rust baseline, shared by
//! `benches/runtime.rs` (`packet_filter_1m_packets`) and
//! `examples/packet_count.rs` (callgrind counts of the same work), so that
//! both measure the same packets against the same filter.

/// The 16 ports the benchmark allows (`allow_port` is called with each).
pub fn allowed_ports() -> Vec<u16> {
    (0..16).map(|k| 1000 + 7 * k).collect()
}

/// `count` 64-byte IPv4/TCP packets, back to back: half of them to one of
/// `ports` (the first 16 are drawn from), half to a port in 2000..3000.
/// The same seed every time, so every run sees the same mix.
pub fn packets(count: usize, ports: &[u16]) -> Vec<u8> {
    let mut rng = kplc::difftest::Rng::new(7);
    let mut packets = vec![0u8; count * 64];
    for pkt in packets.chunks_exact_mut(64) {
        pkt[0] = 0x45;
        pkt[2..4].copy_from_slice(&64u16.to_be_bytes());
        pkt[8] = 64;
        pkt[9] = 6;
        let port = if rng.below(2) == 0 {
            ports[rng.below(16) as usize]
        } else {
            2000 + rng.below(1000) as u16
        };
        pkt[20..22].copy_from_slice(&(rng.below(60000) as u16).to_be_bytes());
        pkt[22..24].copy_from_slice(&port.to_be_bytes());
        pkt[32] = 0x50;
    }
    packets
}

/// The same filter as `examples/packet_filter/packet_filter.kpl`, in Rust.
pub fn native_filter(pkt: &[u8], ports: &[u16]) -> u32 {
    let be16 = |at: usize| (u32::from(pkt[at]) << 8) | u32::from(pkt[at + 1]);
    if pkt.len() < 20 || pkt[0] >> 4 != 4 {
        return 0;
    }
    let header_len = (u32::from(pkt[0] & 0x0F) * 4) as usize;
    if header_len < 20 || header_len > pkt.len() {
        return 0;
    }
    let total_len = be16(2) as usize;
    if total_len < header_len || total_len > pkt.len() {
        return 0;
    }
    if pkt[9] != 6 {
        return 1;
    }
    if be16(6) & 0x1FFF != 0 || total_len - header_len < 20 {
        return 0;
    }
    let port = be16(header_len + 2);
    u32::from(ports.iter().any(|&p| u32::from(p) == port))
}
