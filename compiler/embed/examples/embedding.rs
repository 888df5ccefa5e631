//! A complete embedding of a KPL plugin (the book's "Embedding KPL" chapter
//! includes this file, and `compiler/embed/tests/embed.rs` runs it): the
//! host declares two functions of its own in a `.kpli` file, compiles a
//! plugin that calls them, binds a frame buffer once, and calls typed
//! exports under a fuel budget.

use std::cell::Cell;
use std::rc::Rc;

/// The host's own functions, declared like `std-imports/kernel.kpli`.
const HOST_KPLI: &str = "
/// The brightness the host wants, added to every pixel.
extern fn brightness() -> u8;
/// Tells the host a frame is done; returns the number of frames so far.
extern fn frame_done(pixels: u32) -> u32;
";

const PLUGIN: &str = "
use host::{brightness, frame_done};

/// Adds the host's brightness to every pixel, saturating at 255.
/// Returns how many frames the host has seen.
export fn brighten(src: []u8, dst: []mut u8) -> u32 {
    let b = brightness() as u32;
    for i in 0..dst.len {
        var v = src[i] as u32 + b;
        if v > 255 {
            v = 255;
        }
        dst[i] = v as u8;
    }
    return frame_done(dst.len);
}
";

/// Runs the example and returns what it printed, line by line.
pub fn run() -> Result<Vec<String>, kpl::Error> {
    let mut out = Vec::new();
    let mut config = kpl::Config::new();
    config.fuel(1_000_000).imports("host.kpli", HOST_KPLI);
    let engine = kpl::Engine::new(&config)?;
    let module = kpl::Module::new(&engine, "brighten.kpl", PLUGIN)?;

    // The host functions: closures, checked against the declarations.
    let frames = Rc::new(Cell::new(0u32));
    let seen = Rc::clone(&frames);
    let mut linker = kpl::Linker::new(&engine);
    linker.func_wrap("host", "brightness", || 40u8)?.func_wrap(
        "host",
        "frame_done",
        move |pixels: u32| {
            assert_eq!(pixels, 4);
            seen.set(seen.get() + 1);
            seen.get()
        },
    )?;
    let mut instance = linker.instantiate(&module)?;

    // A typed export: asking for the wrong types is an error here, not a
    // crash at the call.
    let brighten =
        instance.get_typed_func::<(kpl::Slice<u8>, kpl::SliceMut<u8>), u32>("brighten")?;

    // Buffers bound once, reused by every call.
    let src = instance.bind_slice(&[0u8, 100, 200, 250])?;
    let dst = instance.bind_slice_mut::<u8>(4)?;
    for frame in 0..2u8 {
        instance.bytes_mut(&src)?[0] = frame;
        let n = brighten.call(&mut instance, (src, dst))?;
        out.push(format!(
            "frame {n}: {:?}, fuel left {}",
            instance.bytes(&dst)?,
            instance.fuel()
        ));
    }
    out.push(format!("host saw {} frames", frames.get()));
    Ok(out)
}

fn main() {
    match run() {
        Ok(lines) => lines.iter().for_each(|l| println!("{l}")),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
