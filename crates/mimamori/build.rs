//! Link settings of the `mimamori` binary.

fn main() {
    // Relative relocations packed (DT_RELR, glibc 2.36+ and binutils 2.38+, as on
    // Debian 12): the position-independent binary carries 128 000 of them, which
    // as plain RELA entries are 3 MB the loader reads at every start and that then
    // stay resident; packed they are a few kilobytes (issue 11: memory per stream
    // at 8 cameras). An older linker ignores the option with a warning.
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.ends_with("-linux-gnu") {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
