//! Memory of the front end (`book/src/reference/limits.md`, "Hostile
//! input"): a dropped database gives back everything it allocated, so a
//! long-lived process (the editor server, the benchmarks) that makes many
//! databases does not grow.
//!
//! Allocations are counted by a global allocator that wraps the system's and
//! keeps the number of live bytes: exact, unlike the resident set size, which
//! also depends on how the C allocator caches freed memory.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};

use kpl_testgen::hostile;
use kplc::std_imports::ImportSources;

/// The system allocator, counting the bytes currently allocated.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the counter only observes sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `System` with `layout` (above).
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: forwarded with the caller's pointer, layout and size.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn check_with_fresh_db(src: &str, imports: &Arc<kpl_lang::imports::ImportTable>) -> usize {
    let db = kplc::db::Db::default();
    let file = db.file(src.to_string(), imports.clone());
    kplc::db::diagnostics(&db, file).len()
}

/// Checks each shape with many fresh databases and compares the live bytes
/// before and after. The shapes split into many chunks (one parse each) and
/// many items, so anything kept per parse, per chunk or per item shows up
/// multiplied. The one test of this file: the counter is process-wide, and a
/// second test running at the same time would move it.
#[test]
fn dropped_databases_give_back_their_memory() {
    let imports = Arc::new(ImportSources::embedded().load().0);
    for name in ["const_chain", "stray_closers", "call_graph_chain"] {
        let shape = hostile::shape(name).expect("a hostile shape");
        let src = (shape.build)(hostile::size_for(&shape, 16 << 10));
        // The first check fills what lives as long as the process (salsa's
        // per-thread and per-type registrations).
        check_with_fresh_db(&src, &imports);
        let before = LIVE.load(Ordering::Relaxed);
        const ROUNDS: isize = 10;
        for _ in 0..ROUNDS {
            check_with_fresh_db(&src, &imports);
        }
        let grown = LIVE.load(Ordering::Relaxed) - before;
        // A leak of one parser per chunk was about 12 KB per chunk: hundreds
        // of kilobytes per round here. Allow a few bytes of noise per round.
        assert!(
            grown <= 1024 * ROUNDS,
            "{name}: {grown} bytes still allocated after {ROUNDS} databases were dropped \
             ({} bytes of source)",
            src.len()
        );
    }
}
