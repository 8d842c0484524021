//! `bookrec`: the command-line face of bookrec-core.
fn main() {
    println!("bookrec {}", env!("CARGO_PKG_VERSION"));
}
