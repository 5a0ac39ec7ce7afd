// The build script of both binary packages, wxinfra and wxrun (its build.rs includes this
// file). On the static musl build (scripts/lib/build.sh) the binaries and test executables
// link with the lld that ships with the Rust toolchain instead of the system's ld.bfd:
// linking the 130 MB static wxinfra took 16 s with ld.bfd and 3 s with lld, and every test
// run links four such executables. The relative relocations are packed (RELR): a static-pie
// applies each one when it starts, and packed they take kilobytes to read instead of 2.6 MB
// (wxrun) and 7.7 MB (wxinfra).

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("TARGET").as_deref() != Ok("x86_64-unknown-linux-musl") {
        return;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let host = std::env::var("HOST").expect("cargo sets HOST for build scripts");
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    // rustup's toolchains have it; another toolchain keeps the system linker.
    let Some(gcc_ld) = sysroot
        .map(|root| root.join("lib/rustlib").join(host).join("bin/gcc-ld"))
        .filter(|dir| dir.join("ld.lld").is_file())
    else {
        println!("cargo:warning=no ld.lld in the Rust toolchain: linking with the system's ld");
        return;
    };
    println!("cargo:rustc-link-arg=-B{}", gcc_ld.display());
    println!("cargo:rustc-link-arg=-fuse-ld=lld");
    println!("cargo:rustc-link-arg=-Wl,-z,pack-relative-relocs");
}
