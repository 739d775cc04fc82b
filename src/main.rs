//! The panda-install executable: hands the command line to the library and exits with its code.

fn main() {
    std::process::exit(panda_install::main_with_args(std::env::args_os()));
}
