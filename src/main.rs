//! The `vsimport` binary: everything lives in the library; this only hands over the exit code.

fn main() -> std::process::ExitCode {
    vsimport::run(std::env::args_os())
}
