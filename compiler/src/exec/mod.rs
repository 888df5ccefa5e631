//! Running compiled plugins on the user-space host runtime (`kpl-host`):
//! [`run`] loads an object through the loader core and calls exports;
//! [`invoke`] is `kplc run` (bytes in, bytes out, timed); [`cases`] reads
//! the examples' `cases.txt` (shared with the kernel test).

pub mod cases;
pub mod invoke;
pub mod run;
