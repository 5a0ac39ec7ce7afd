//! The `wxrun` executable.

fn main() -> std::process::ExitCode {
    wxrun::cli::main()
}
