//! Memory of the long-running commands (#12, "idle memory"): glibc's malloc tuned so that what
//! the server frees goes back to the system.
//!
//! Two defaults of glibc (`mallopt(3)`) make a server's resident memory grow with use and never
//! shrink: each thread that allocates gets an arena of its own (up to 8 per core), and the mmap
//! threshold rises to the size of the largest block freed (up to 32 MiB). A login's argon2
//! buffer is 19 MiB, so after the first login every later one lands in — and stays in — the
//! arena of whichever blocking thread ran it: 12 logins, 4 at a time, left the server at 134 MiB
//! RSS (measured, 20k conversations). Fixing the threshold at glibc's own default of 128 KiB
//! (which also turns off the dynamic adjustment) and allowing two arenas keeps it at about 20 MiB.
//!
//! The settings are glibc tunables (`GLIBC_TUNABLES`, read by the loader before `main`), so a
//! process that starts without them runs itself again, once, with them set (`exec`, same pid).
//! The systemd unit sets them itself; a value the user set is kept as it is.

/// The tunables the server runs with (glibc manual, "Memory Allocation Tunables").
pub const GLIBC_TUNABLES: &str = "glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=131072";

/// Runs this process again with [`GLIBC_TUNABLES`] when the environment has none (glibc on Linux
/// only; elsewhere it does nothing). Returns when there is nothing to do, or when the new run
/// could not be started — then the process goes on with glibc's defaults, which only cost
/// memory, and says so on standard error.
pub fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::io::Write;
        use std::os::unix::process::CommandExt;

        if std::env::var_os("GLIBC_TUNABLES").is_some() {
            return;
        }
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let mut args = std::env::args_os();
        let arg0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
        let err = std::process::Command::new(&exe)
            .arg0(arg0)
            .args(args)
            .env("GLIBC_TUNABLES", GLIBC_TUNABLES)
            .exec();
        // `exec` returns only when it failed. A closed stderr must not stop the server.
        let _ = writeln!(
            std::io::stderr(),
            "note: could not restart with tuned memory settings ({err}); going on without them"
        );
    }
}
