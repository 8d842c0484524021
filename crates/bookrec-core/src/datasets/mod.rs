//! Data sets bookrec makes itself, to try it out and test it without a download: the embedded
//! [`demo`] set (a catalogue of 450 real books and ratings from simulated readers with planted
//! genre tastes, as CSV text or the two files `bookrec demo` reads) and the [`synth`] generator
//! (ratings at any scale with planted low-rank structure and a known noise floor, as a CSV
//! file or straight into [`Interactions`](crate::Interactions)). Both are determined by their
//! seed; what comes out goes in through [`data`](crate::data) like any other ratings.

pub mod demo;
pub mod synth;
