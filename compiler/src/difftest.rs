//! Differential testing: random well-typed KPL programs with equivalent C (in progress).
