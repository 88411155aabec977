use std::process::ExitCode;

fn main() -> ExitCode {
    // glibc raises its mmap threshold after the first large free, after
    // which each 19 MiB argon2 buffer is carved from a per-thread heap and
    // never returned: RSS creeps up by that much per blocking thread. A
    // fixed threshold keeps big buffers on mmap, returned to the OS on free.
    // Fixing the mmap threshold also fixes the trim threshold at its 128 KiB
    // default, and then the message writer's heap was handed back to the OS
    // (madvise) and faulted in again on nearly every batch: SQLite frees and
    // reallocates its page cache whenever another connection has written.
    // That churn was a sixth of the core at a million deliveries a second;
    // a heap now keeps up to 4 MiB of free memory at its top.
    // SAFETY: mallopt only changes allocator tuning and is called before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 4 * 1024 * 1024);
    }

    // GLASSCHAT_WORKERS pins the number of runtime threads (benchmarks run
    // the server on one core); by default tokio uses one per core.
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Ok(text) = std::env::var("GLASSCHAT_WORKERS") {
        match text.trim().parse::<usize>() {
            Ok(n) if n >= 1 => {
                builder.worker_threads(n);
            }
            _ => {
                eprintln!("glasschat: bad configuration: GLASSCHAT_WORKERS must be a whole number of at least 1, got {text:?}");
                return ExitCode::FAILURE;
            }
        }
    }
    let runtime = match builder.build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("glasschat: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match args.first().map(String::as_str) {
        Some("keys") => Some(runtime.block_on(glasschat::server::keys_command(&args[1..]))),
        Some("search") => Some(runtime.block_on(glasschat::server::search_command(&args[1..]))),
        Some("admin") => Some(runtime.block_on(glasschat::server::admin_command(&args[1..]))),
        Some("backup") => Some(runtime.block_on(glasschat::server::backup_command(&args[1..]))),
        Some("export") => Some(runtime.block_on(glasschat::server::export_command(&args[1..]))),
        Some("import") => Some(runtime.block_on(glasschat::server::import_command(&args[1..]))),
        Some("loadtest-seed") => {
            Some(runtime.block_on(glasschat::server::loadtest_seed_command(&args[1..])))
        }
        _ => None,
    };
    if let Some(outcome) = command {
        return match outcome {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("glasschat: {err}");
                ExitCode::FAILURE
            }
        };
    }
    match runtime.block_on(glasschat::server::run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("glasschat: {err}");
            ExitCode::FAILURE
        }
    }
}
