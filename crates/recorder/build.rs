//! Links the C++ runtime of the test-pattern camera's encoder (OpenH264) into the
//! binary instead of loading libstdc++.so at every start.
//!
//! The shared library cost 0.8 MB of resident memory in every `mimamori` process
//! (its relocated tables and the code its start-up runs; issue 11, memory per
//! stream), while OpenH264 uses a few kilobytes of it. `.cargo/config.toml` tells
//! `cc` not to link the shared one for this target; this links the archive that
//! g++ installs with it.

fn main() {
    println!("cargo:rerun-if-env-changed=CXXSTDLIB_x86_64_unknown_linux_gnu");
    if std::env::var("TARGET").as_deref() == Ok("x86_64-unknown-linux-gnu") {
        println!("cargo:rustc-link-lib=static:-bundle=stdc++");
    }
}
