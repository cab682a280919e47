//! Link settings of the `mimamori` binary.

use std::path::Path;

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    // Relative relocations packed (DT_RELR, glibc 2.36+ and binutils 2.38+, as on
    // Debian 12): the position-independent binary carries 128 000 of them, which
    // as plain RELA entries are 3 MB the loader reads at every start and that then
    // stay resident; packed they are a few kilobytes (issue 11: memory per stream
    // at 8 cameras). An older linker ignores the option with a warning.
    if target.ends_with("-linux-gnu") {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }

    // The functions that run while the binary starts and records, packed together
    // (text-order.txt, written by scripts/text-order.sh). The code is 40 MB, and
    // what a start runs lay scattered over 176 of its 64 KiB windows: each page
    // fault there makes the kernel map the 64 KiB around it, 11 MB that then stayed
    // resident. Packed, the same start touches 4.4 MB. Only rust-lld, the default
    // linker of this target, reads the list; a stale name is skipped silently.
    // MIMAMORI_TEXT_ORDER=off links without it.
    println!("cargo:rerun-if-changed=text-order.txt");
    println!("cargo:rerun-if-env-changed=MIMAMORI_TEXT_ORDER");
    let order = Path::new(env!("CARGO_MANIFEST_DIR")).join("text-order.txt");
    let wanted = std::env::var("MIMAMORI_TEXT_ORDER").as_deref() != Ok("off");
    let release = std::env::var("PROFILE").as_deref() == Ok("release");
    if wanted && release && target == "x86_64-unknown-linux-gnu" && order.exists() {
        println!(
            "cargo:rustc-link-arg-bin=mimamori=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        println!("cargo:rustc-link-arg-bin=mimamori=-Wl,--no-warn-symbol-ordering");
    }
}
