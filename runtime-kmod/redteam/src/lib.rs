//! Red-team tooling for the KPL verifier. Everything lives in `tests/`:
//! the execution oracle (unicorn-engine, GPL-2.0, a dev-dependency only),
//! the structural mutator and the adversarial corpus. This library part
//! is empty on purpose so that no GPL code is ever linked into anything
//! shipped.
#![no_std]
#![forbid(unsafe_code)]
