//! Running compiled plugins on the user-space host runtime (`kpl-host`):
//! [`run`] loads an object through the loader core and calls exports;
//! [`cases`] reads the examples' `cases.txt` (shared with the kernel test).

pub mod cases;
pub mod run;
