//! Hostile input (`kpl_testgen::hostile`): every shape at 256 KiB, 512 KiB
//! and 1 MiB, through what `kplc check` does (a fresh database, the
//! diagnostics, the ones it shows by default rendered for a terminal). The growth table in
//! `book/src/reference/limits.md` comes from here: doubling an input should
//! cost at most about 2.2 times as much, and 1 MiB of any shape well under a
//! second.
//!
//! Measured in CPU time of the process (`CLOCK_PROCESS_CPUTIME_ID`), not
//! wall time: the machines this runs on are shared, and the growth ratios
//! should say what the front end costs, not how busy the other cores were.
//! The check is single-threaded, so the two agree on an idle machine.
//!
//! `cargo bench -p kplc --bench hostile [-- SHAPE]`

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kpl_testgen::hostile;
use kplc::std_imports::ImportSources;

/// CPU time used by this process, in nanoseconds, as a criterion measurement
/// (shown with wall time's units: it keeps a `WallTime` for its formatter).
struct CpuTime(WallTime);

fn cpu_now() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the call to fill in.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

impl Measurement for CpuTime {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        cpu_now()
    }
    fn end(&self, start: u64) -> u64 {
        cpu_now().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        self.0.formatter()
    }
}

/// Sizes in bytes: each twice the one before.
const SIZES: [usize; 3] = [256 << 10, 512 << 10, 1 << 20];

fn check_and_render(src: &str, imports: &Arc<kpl_lang::imports::ImportTable>) -> usize {
    let db = kplc::db::Db::default();
    let file = db.file(src.to_string(), imports.clone());
    let diags = kplc::db::diagnostics(&db, file);
    let lines = kpl_lang::LineIndex::new(src);
    // The ones `kplc check` shows by default, and its note on the rest.
    let shown = kplc::render::shown(diags, kplc::render::DEFAULT_SHOWN);
    let note = kplc::render::hidden_note("hostile.kpl", &shown, "`--max-diagnostics 0`")
        .map_or(0, |n| n.len());
    shown
        .indexes
        .iter()
        .map(|&i| kplc::render::render_plain("hostile.kpl", src, &lines, &diags[i]).len())
        .sum::<usize>()
        + note
}

fn bench_hostile(c: &mut Criterion<CpuTime>) {
    let imports = Arc::new(ImportSources::embedded().load().0);
    let mut g = c.benchmark_group("hostile");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for shape in hostile::shapes() {
        for bytes in SIZES {
            let src = (shape.build)(hostile::size_for(&shape, bytes));
            g.throughput(Throughput::Bytes(src.len() as u64));
            g.bench_with_input(BenchmarkId::new(shape.name, bytes >> 10), &src, |b, src| {
                b.iter(|| check_and_render(black_box(src), &imports))
            });
        }
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(CpuTime(WallTime));
    targets = bench_hostile
}
criterion_main!(benches);
