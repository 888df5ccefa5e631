//! Which x86-64 cores the code is tuned for. Cores differ in which ports
//! run which instructions, so where two encodings of one computation are
//! equally valid (the verifier accepts both, the result is the same), the
//! faster one depends on the core. Every such choice is made here, by a
//! method of [`Tune`]; a pass asks, it does not look at the vendor itself.
//!
//! One choice so far, measured on the grayscale example's pixel loop
//! (three multiplies, then a byte store of `sum >> 8`):
//!
//! | | `shr r, 8` then store the low byte | `movzx eax, ah` then store `al` |
//! |---|--:|--:|
//! | AMD EPYC (Zen 4) | 2.85 ms (5 cycles a pixel) | 1.79 ms |
//! | Intel Xeon | 2.38 ms | 3.16 ms |
//!
//! Zen runs shifts on two ports, one of them the only multiplier; Intel
//! runs `movzx r32, ah` on the multiplier's ports. [`Tune::Amd`] is the
//! default: its worst case (+33 % on Intel) is smaller than
//! [`Tune::Intel`]'s (+59 % on AMD), and the library's output must not
//! depend on the machine that runs it (snapshots, reproducible objects).
//! `kplc` tunes for the machine it runs on unless told otherwise
//! (`--tune`), as `wasmtime compile` does; the bytes differ, never the
//! meaning.

use std::sync::OnceLock;

/// The cores code is tuned for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Tune {
    /// AMD's Zen cores (and the default).
    #[default]
    Amd,
    /// Intel's Core and Xeon cores.
    Intel,
}

impl Tune {
    /// The tuning for the processor this program runs on: [`Tune::Intel`]
    /// for an Intel processor, [`Tune::Amd`] for every other.
    pub fn host() -> Tune {
        #[cfg(target_arch = "x86_64")]
        {
            // Leaf 0 gives the vendor string in ebx, edx, ecx; every
            // x86-64 processor has the instruction and the leaf.
            let leaf = std::arch::x86_64::__cpuid(0);
            let mut vendor = [0u8; 12];
            vendor[..4].copy_from_slice(&leaf.ebx.to_le_bytes());
            vendor[4..8].copy_from_slice(&leaf.edx.to_le_bytes());
            vendor[8..].copy_from_slice(&leaf.ecx.to_le_bytes());
            Tune::for_vendor(&vendor)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            Tune::Amd
        }
    }

    /// The tuning for a processor whose `cpuid` vendor string is `vendor`.
    pub fn for_vendor(vendor: &[u8; 12]) -> Tune {
        if vendor == b"GenuineIntel" {
            Tune::Intel
        } else {
            Tune::Amd
        }
    }

    /// The name `--tune` takes.
    pub fn name(self) -> &'static str {
        match self {
            Tune::Amd => "amd",
            Tune::Intel => "intel",
        }
    }

    /// Whether a byte store of `x >> 8` reads bits 8–15 of `x` through a
    /// high-byte register (`movzx eax, ah`) instead of shifting
    /// ([`crate::opt::bytes`]).
    pub fn stores_second_byte_from_high_register(self) -> bool {
        self == Tune::Amd
    }
}

/// The process's tuning, when set.
static PROCESS: OnceLock<Tune> = OnceLock::new();

/// Sets the tuning [`crate::lower::Options::default`] takes for the rest of
/// the process (a program's front door, such as `kplc`'s `--tune`, calls it
/// once, before compiling anything). Returns `false`, changing nothing, if
/// a different tuning was set before.
pub fn set_process_tune(tune: Tune) -> bool {
    *PROCESS.get_or_init(|| tune) == tune
}

/// The process's tuning: what [`set_process_tune`] set, else the default.
pub fn process_tune() -> Tune {
    PROCESS.get().copied().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intel_processors_get_intel_tuning_and_every_other_the_default() {
        assert_eq!(Tune::for_vendor(b"GenuineIntel"), Tune::Intel);
        assert_eq!(Tune::for_vendor(b"AuthenticAMD"), Tune::Amd);
        assert_eq!(Tune::for_vendor(b"HygonGenuine"), Tune::Amd);
        assert_eq!(Tune::for_vendor(&[0; 12]), Tune::Amd);
        assert!(Tune::Amd.stores_second_byte_from_high_register());
        assert!(!Tune::Intel.stores_second_byte_from_high_register());
    }
}
