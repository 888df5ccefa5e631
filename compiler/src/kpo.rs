//! The `.kpo` writer (in progress).
