//! Generated-code and runtime speed, each against a native baseline measured
//! in the same run: grayscale 1920×1080 vs the same algorithm in Rust,
//! invoking an empty export vs a native indirect call (also with one slice
//! argument), an import call, the budget check's cost on a tight loop (same
//! build with and without it),
//! the packet-filter example against the same filter in Rust, loading and
//! unlinking an instance, and compiling grayscale in-process.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kplc::run::Runner;
use kplc::std_imports::ImportSources;

#[path = "common/packets.rs"]
mod packets;
use packets::native_filter;

const BENCH_SRC: &str = r#"
use kernel::random_u32;

export fn empty() {
}

export fn empty_slice(s: []u8) {
}

export fn inc(x: u32) -> u32 {
    return x + 1;
}

export fn spin(n: u32) -> u32 {
    var s: u32 = 0;
    for i in 0..n {
        s = s * 31 + i;
    }
    return s;
}

export fn imports(n: u32) -> u32 {
    var s: u32 = 0;
    for i in 0..n {
        s = s * 31 + random_u32();
    }
    return s;
}
"#;

fn compile(src: &str, name: &str, budget: bool) -> Runner {
    compile_opts(
        src,
        name,
        kplc::lower::Options {
            budget_checks: budget,
            ..Default::default()
        },
    )
}

/// Code tuned for the processor the benchmark runs on, as `kplc build`
/// makes it by default (`--tune native`).
fn compile_opts(src: &str, name: &str, options: kplc::lower::Options) -> Runner {
    let options = kplc::lower::Options {
        tune: kplc::tune::Tune::host(),
        ..options
    };
    let (imports, _) = ImportSources::embedded().load();
    let a = kpl_lang::analyze(src, &imports);
    assert!(!a.has_errors(), "{:?}", a.diagnostics);
    let c = kplc::codegen::compile_with(&a.file, &a.program, options);
    let object = kplc::object::write(&c, name, src);
    // Code without budget checks is the unchecked baseline: the verifier
    // refuses it, as it should, so it is loaded around the verifier.
    let instance = if options.budget_checks {
        kpl_host::Instance::load(&object)
    } else {
        // SAFETY: `object` was just compiled by kplc in this process from
        // the benchmark's own source; it differs from verified code only by
        // the missing fuel checks, and its exports are only called with
        // bounded loop counts, so it terminates and stays in its memory.
        unsafe { kpl_host::Instance::load_unverified(&object) }
    };
    let mut r = Runner {
        instance: instance.expect("loads"),
    };
    r.instance.host_mut().quiet = true;
    r
}

/// The handle of export `name`.
fn entry(r: &Runner, name: &str) -> kpl_host::Export {
    r.instance
        .export(name)
        .unwrap_or_else(|| panic!("no export {name}"))
}

fn native_grayscale(rgb: &[u8], out: &mut [u8]) -> u32 {
    if rgb.len() != out.len() * 3 {
        return 1;
    }
    for (o, p) in out.iter_mut().zip(rgb.chunks_exact(3)) {
        *o = ((77 * u32::from(p[0]) + 150 * u32::from(p[1]) + 29 * u32::from(p[2])) >> 8) as u8;
    }
    0
}

fn bench(c: &mut Criterion) {
    let gray_src = include_str!("../../examples/grayscale/grayscale.kpl");
    let (w, h) = (1920usize, 1080usize);
    let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 7 % 251) as u8).collect();

    let mut g = c.benchmark_group("grayscale_1080p");
    g.sample_size(30);
    let mut gray = compile(gray_src, "grayscale", true);
    let gray_entry = entry(&gray, "grayscale");
    let mut out = vec![0u8; w * h];
    g.bench_function("kpl", |b| {
        b.iter(|| {
            let mut args = [
                kpl_host::Arg::Slice {
                    bytes: &rgb,
                    elem_size: 1,
                },
                kpl_host::Arg::SliceMut {
                    bytes: &mut out,
                    elem_size: 1,
                },
            ];
            black_box(
                gray.instance
                    .call(gray_entry, &mut args, kpl_host::DEFAULT_FUEL),
            )
        })
    });
    let mut out2 = vec![0u8; w * h];
    g.bench_function("native_rust", |b| {
        b.iter(|| black_box(native_grayscale(black_box(&rgb), black_box(&mut out2))))
    });
    g.finish();
    // Same results, or the comparison means nothing (filters may skip the runs above).
    {
        let mut args = [
            kpl_host::Arg::Slice {
                bytes: &rgb,
                elem_size: 1,
            },
            kpl_host::Arg::SliceMut {
                bytes: &mut out,
                elem_size: 1,
            },
        ];
        assert_eq!(
            gray.instance
                .call(gray_entry, &mut args, kpl_host::DEFAULT_FUEL),
            Ok(0)
        );
    }
    native_grayscale(&rgb, &mut out2);
    assert!(out == out2, "KPL and native grayscale differ");

    let mut r = compile(BENCH_SRC, "bench", true);
    let empty = entry(&r, "empty");
    let mut g = c.benchmark_group("invoke");
    g.bench_function("kpl_empty_export", |b| {
        b.iter(|| black_box(r.instance.call_scalars(empty, &[], 1000)))
    });
    #[inline(never)]
    fn native_empty() -> u64 {
        0
    }
    let f: fn() -> u64 = native_empty;
    g.bench_function("native_indirect_call", |b| {
        b.iter(|| black_box(black_box(f)()))
    });
    // The issue's target: an export that computes something from an
    // argument, against the same function in Rust through a pointer.
    let inc = entry(&r, "inc");
    assert_eq!(r.instance.call_scalars(inc, &[41], 1000), Ok(42));
    g.bench_function("kpl_x_plus_1", |b| {
        b.iter(|| black_box(r.instance.call_scalars(inc, &[black_box(41)], 1000)))
    });
    #[inline(never)]
    fn native_inc(x: u32) -> u32 {
        x.wrapping_add(1)
    }
    let f_inc: fn(u32) -> u32 = native_inc;
    g.bench_function("native_x_plus_1", |b| {
        b.iter(|| black_box(black_box(f_inc)(black_box(41))))
    });
    // The cost of handing in one slice (a hook's packet), without the
    // packet filter's own work: `call` with one `Arg::Slice` of 64 bytes.
    let empty_slice = entry(&r, "empty_slice");
    let packet = [0x45u8; 64];
    let slice_call = |r: &mut Runner| {
        let mut args = [kpl_host::Arg::Slice {
            bytes: black_box(&packet),
            elem_size: 1,
        }];
        r.instance.call(empty_slice, &mut args, 1000)
    };
    assert!(slice_call(&mut r).is_ok());
    g.bench_function("kpl_empty_export_one_slice", |b| {
        b.iter(|| black_box(slice_call(&mut r)))
    });
    #[inline(never)]
    fn native_take(s: &[u8]) -> u64 {
        black_box(s);
        0
    }
    let f_take: fn(&[u8]) -> u64 = native_take;
    g.bench_function("native_one_slice", |b| {
        b.iter(|| black_box(black_box(f_take)(black_box(&packet))))
    });
    g.finish();

    let n: u32 = 10_000;
    let mut g = c.benchmark_group("import_call_x10000");
    let imports = entry(&r, "imports");
    let spin = entry(&r, "spin");
    g.bench_function("kpl_loop_with_import", |b| {
        b.iter(|| {
            black_box(
                r.instance
                    .call(imports, &mut [kpl_host::Arg::Int(u64::from(n))], u64::MAX),
            )
        })
    });
    g.bench_function("kpl_loop_without_import", |b| {
        b.iter(|| {
            black_box(
                r.instance
                    .call(spin, &mut [kpl_host::Arg::Int(u64::from(n))], u64::MAX),
            )
        })
    });
    g.finish();

    let mut unbudgeted = compile(BENCH_SRC, "bench", false);
    let spin_nb = entry(&unbudgeted, "spin");
    let mut g = c.benchmark_group("budget_check_tight_loop_x1e6");
    g.bench_function("with_budget_check", |b| {
        b.iter(|| {
            black_box(
                r.instance
                    .call(spin, &mut [kpl_host::Arg::Int(1_000_000)], u64::MAX),
            )
        })
    });
    g.bench_function("without_budget_check", |b| {
        b.iter(|| {
            black_box(unbudgeted.instance.call(
                spin_nb,
                &mut [kpl_host::Arg::Int(1_000_000)],
                u64::MAX,
            ))
        })
    });
    g.finish();

    packet_filter(c);
    load_and_unlink(c, gray_src);

    let (table, _) = ImportSources::embedded().load();
    let mut g = c.benchmark_group("compile");
    g.bench_function("grayscale_source_to_object", |b| {
        b.iter(|| {
            let a = kpl_lang::analyze(black_box(gray_src), &table);
            let c = kplc::codegen::compile(&a.file, &a.program);
            black_box(kplc::object::write(&c, "grayscale.kpl", gray_src))
        })
    });
    g.finish();
}

/// One million prebuilt 64-byte IPv4/TCP packets, half of them to one of
/// the 16 allowed ports, through the example filter one invocation per
/// packet (as a hook calls it), against the same filter in Rust called
/// through a function pointer.
fn packet_filter(c: &mut Criterion) {
    const PACKETS: usize = 1_000_000;
    let src = include_str!("../../examples/packet_filter/packet_filter.kpl");
    let mut pf = compile(src, "packet_filter", true);
    let (filter, allow) = (entry(&pf, "filter"), entry(&pf, "allow_port"));
    let ports = packets::allowed_ports();
    for &p in &ports {
        assert_eq!(
            pf.instance.call_scalars(allow, &[u64::from(p)], 1000),
            Ok(0)
        );
    }
    let packets = packets::packets(PACKETS, &ports);
    let run_kpl = |pf: &mut Runner| {
        let mut accepted = 0u64;
        for pkt in packets.chunks_exact(64) {
            let mut args = [kpl_host::Arg::Slice {
                bytes: pkt,
                elem_size: 1,
            }];
            accepted += pf.instance.call(filter, &mut args, 1000).unwrap();
        }
        accepted
    };
    let hook: fn(&[u8], &[u16]) -> u32 = native_filter;
    let run_native = || {
        let hook = black_box(hook);
        let mut accepted = 0u64;
        for pkt in packets.chunks_exact(64) {
            accepted += u64::from(hook(pkt, &ports));
        }
        accepted
    };
    let expected = run_native();
    assert_eq!(run_kpl(&mut pf), expected, "KPL and native filters differ");
    assert!(expected > 400_000 && expected < 600_000, "{expected}");
    let mut g = c.benchmark_group("packet_filter_1m_packets");
    g.sample_size(20);
    g.bench_function("kpl", |b| b.iter(|| black_box(run_kpl(&mut pf))));
    g.bench_function("native_rust", |b| b.iter(|| black_box(run_native())));
    g.finish();
}

/// The paper's link and unlink, on the host: `Instance::load` (parse,
/// verify, link, map W^X) and dropping the instance (unmapping it).
fn load_and_unlink(c: &mut Criterion, gray_src: &str) {
    let (imports, _) = ImportSources::embedded().load();
    let a = kpl_lang::analyze(gray_src, &imports);
    let compiled = kplc::codegen::compile(&a.file, &a.program);
    let object = kplc::object::write(&compiled, "grayscale.kpl", gray_src);
    let mut g = c.benchmark_group("host_instance_grayscale");
    g.bench_function("load_verify_link_map", |b| {
        b.iter(|| black_box(kpl_host::Instance::load(black_box(&object)).unwrap()))
    });
    g.bench_function("unlink_unmap", |b| {
        b.iter_batched(
            || kpl_host::Instance::load(&object).unwrap(),
            drop,
            criterion::BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
