//! The `porta` binary: parse the command line and hand over to the library.

use clap::Parser;

fn main() {
    let cli = porta::cli::Cli::parse();
    let code = actix_web::rt::System::new().block_on(porta::cli::run(cli));
    std::process::exit(code);
}
