//! The hot loops only: pure functions over slices, no allocation inside, benchmarked with
//! criterion (`benches/`).
