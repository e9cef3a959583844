//! The `porta` binary: parse the command line and hand over to the library.

use std::time::Duration;

use clap::Parser;

fn main() {
    tune_allocator();
    let cli = porta::cli::Cli::parse();
    let code = if cli.is_serve() {
        actix_web::rt::System::new().block_on(porta::cli::run(cli))
    } else {
        // One-shot commands: shut the runtime down and join its blocking threads before
        // the process exits, so no thread that used a database driver (libpq, with its
        // OpenSSL and Kerberos state) is still alive while exit handlers tear them down.
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("error: cannot start the runtime: {e}");
                std::process::exit(1);
            }
        };
        let code = runtime.block_on(porta::cli::run(cli));
        runtime.shutdown_timeout(Duration::from_secs(10));
        code
    };
    exit_now(code);
}

/// Caps glibc's malloc arenas at one per core (at least two) unless `MALLOC_ARENA_MAX` (or
/// `glibc.malloc.arena_max` in `GLIBC_TUNABLES`) is set. glibc's own default is eight per
/// core: every thread that meets contention gets an arena of its own, and each keeps what
/// it once held, so the hashing and database threads of a busy spell leave megabytes
/// behind that a node never uses again. Measured no slower in bench/run.sh
/// (docs/sizing.md). It also fixes the mmap threshold at glibc's starting 128 KiB (unless
/// `MALLOC_MMAP_THRESHOLD_` or its tunable is set): by default glibc raises it to the size
/// of any mapped block freed, so one freed 19 MiB argon2 block (the hash engine's
/// measurement at start) would send every later block below 19 MiB to the heaps.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(
    unsafe_code,
    reason = "libc::mallopt: tune the allocator before any other thread exists"
)]
fn tune_allocator() {
    let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
    if !tunables.contains("malloc.mmap_threshold")
        && std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none()
    {
        // SAFETY: as below.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        }
    }
    if tunables.contains("malloc.arena_max") || std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
    let arenas = libc::c_int::try_from(cores).unwrap_or(libc::c_int::MAX);
    // SAFETY: `mallopt` only changes the allocator's tuning; it runs first thing in
    // `main`, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, arenas);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

/// Ends the process without running C exit handlers. libpq's OpenSSL (and Kerberos)
/// state is torn down by such handlers while r2d2's connection threads are still alive,
/// which crashes the process at random on its way out (a non-zero exit after a
/// successful command). Everything of ours is done and flushed by now.
#[expect(
    unsafe_code,
    reason = "libc::_exit: end the process without running exit handlers"
)]
fn exit_now(code: i32) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: `_exit` only ends the process; all output was flushed above.
    unsafe { libc::_exit(code) }
}
