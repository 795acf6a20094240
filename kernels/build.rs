//! Builds the kernel emulator: `emu/emulator.cpp`, which compiles `cuda/zkr_kernels.cu` for the host, into a shared
//! library in OUT_DIR that `src/gpu/emulator.rs` loads (its path is `ZKR_KERNELS_EMULATOR_BUILT`, empty when it could
//! not be built: the crate still builds, and `Gpu::emulated` says why it is missing).
//!
//! The emulator needs a C++17 compiler and Linux (ucontext fibers, mmap guard pages). The sanitizer build of the same
//! library is made by scripts/emulator-sanitize.sh, not here, so ordinary builds do not pay for it.

use std::{env, path::PathBuf, process::Command};

fn main() {
    println!("cargo::rerun-if-changed=emu");
    println!("cargo::rerun-if-changed=cuda");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("libzkr_emu.so");
    match build(&out) {
        Ok(()) => println!("cargo::rustc-env=ZKR_KERNELS_EMULATOR_BUILT={}", out.display()),
        Err(reason) => {
            println!("cargo::warning=the kernel emulator was not built: {reason}");
            println!("cargo::rustc-env=ZKR_KERNELS_EMULATOR_BUILT=");
        }
    }
}

fn build(out: &std::path::Path) -> Result<(), String> {
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return Err("it runs on Linux only".into());
    }
    // The host compiler cc would use for this target, without cc's own flags: the library is built as a whole here.
    let compiler = cc::Build::new()
        .cpp(true)
        .cargo_metadata(false)
        .cargo_warnings(false)
        .try_get_compiler()
        .map_err(|err| format!("no C++ compiler: {err}"))?;
    let status = Command::new(compiler.path())
        .args(["-std=c++17", "-O2", "-fPIC", "-shared", "-pthread", "-fvisibility=hidden"])
        .args(["-Wall", "-Wextra", "-Werror", "-Wno-unknown-pragmas", "-Wno-clobbered"])
        .arg("-o")
        .arg(out)
        .arg("emu/emulator.cpp")
        .status()
        .map_err(|err| format!("running {}: {err}", compiler.path().display()))?;
    if !status.success() {
        return Err(format!("{} failed ({status})", compiler.path().display()));
    }
    Ok(())
}
