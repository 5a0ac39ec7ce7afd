//! The `wxrun` executable.

// musl's allocator takes one global lock per call; under concurrent requests it showed as
// ~11% of the profile (free, alloc_slot, __lock/__unlock). glibc builds keep their own.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    wxrun::cli::main()
}
