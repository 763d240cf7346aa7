//! The `teaminbox` command line: `serve` (the default), `user` administration, `backup`,
//! `update`, `bench` and `webhooks` (set-aside WhatsApp webhook bodies), and the maintainer's
//! hidden `release`. Each command opens what it needs
//! and calls the same services as the HTTP doors.

mod invite;

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

use crate::config::{Config, DEFAULT_DATA, Overrides};
use crate::domain::Role;
use crate::service::{self, users::UserPatch};
use crate::store::Store;
use crate::store::users::{NewUser, User, find_user_by_email, list_users};

#[derive(Parser)]
#[command(
    name = "teaminbox",
    version,
    about = "A shared team inbox for WhatsApp, in one binary"
)]
/// The command line: a data directory, then a command (`serve` when none is given).
pub struct Cli {
    /// Data directory (database, media, teaminbox.toml).
    #[arg(long, env = "TEAMINBOX_DATA", global = true, default_value = DEFAULT_DATA)]
    data: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the inbox (the default).
    Serve(ServeArgs),
    /// Manage staff accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Write one archive (.tar.gz) of the database, media and config; safe while the server
    /// runs.
    Backup {
        /// The file to create [default: <data>/backups/teaminbox-<UTC time>.tar.gz].
        #[arg(long)]
        to: Option<PathBuf>,
    },
    /// Replace the data dir's database, media and config with a backup archive's (the server
    /// must be stopped; the replaced files are kept in <data>/pre-restore-<time>/).
    Restore {
        /// The archive written by `teaminbox backup`.
        file: PathBuf,
    },
    /// Try teaminbox: a throwaway workspace with a seeded team, sample conversations and a
    /// customer who keeps writing (deleted when you stop it).
    Demo(crate::demo::DemoArgs),
    /// Install the newest signed release from the release server (a backup first, the old
    /// binary kept as teaminbox.old), then restart the service.
    Update {
        /// Only say whether a newer version exists.
        #[arg(long, conflicts_with = "rollback")]
        check: bool,
        /// Go back to the binary kept by the last update.
        #[arg(long)]
        rollback: bool,
        /// Do not restart the teaminbox service afterwards.
        #[arg(long)]
        no_restart: bool,
    },
    /// Publishing releases (the maintainer's side; see packaging/release.sh).
    #[command(subcommand, hide = true)]
    Release(ReleaseCommand),
    /// Measure ingest and queue performance on a scratch database and print the figures.
    Bench(crate::bench::BenchArgs),
    /// WhatsApp webhook bodies set aside after failing processing (safe while the server runs).
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
}

#[derive(Subcommand)]
enum WebhooksCommand {
    /// List the bodies set aside, with why the last attempt failed.
    List,
    /// Put a set-aside body back in line (the running server tries it within a minute).
    Retry {
        #[arg(long)]
        id: i64,
    },
}

#[derive(Subcommand)]
enum ReleaseCommand {
    /// Create a signing key pair (keep the private file off the repository).
    Keygen {
        #[arg(long)]
        private: PathBuf,
        #[arg(long)]
        public: PathBuf,
    },
    /// Build, sign and lay out one release archive with its manifest entries.
    Publish {
        /// The private signing key.
        #[arg(long)]
        key: PathBuf,
        /// The program to ship.
        #[arg(long)]
        binary: PathBuf,
        /// Its version [default: this binary's].
        #[arg(long)]
        version: Option<String>,
        /// Target triple [default: this binary's].
        #[arg(long)]
        target: Option<String>,
        /// The release directory.
        #[arg(long)]
        out: PathBuf,
        /// Files shipped under packaging/ in the archive (systemd units).
        #[arg(long = "packaging")]
        packaging: Vec<PathBuf>,
        /// The installer to publish with the public key filled in.
        #[arg(long)]
        installer: Option<PathBuf>,
    },
}

#[derive(Args, Clone, Default)]
struct ServeArgs {
    /// Address to listen on [default: 0.0.0.0:8080].
    #[arg(long, env = "TEAMINBOX_BIND")]
    bind: Option<String>,
    /// HTTP worker threads [default: number of cores, 2 to 8].
    #[arg(long, env = "TEAMINBOX_WORKERS")]
    workers: Option<usize>,
    /// Log filter, such as `info` or `teaminbox=debug` [default: info].
    #[arg(long, env = "TEAMINBOX_LOG")]
    log: Option<String>,
    /// First retry delay of the outbox in milliseconds [default: 2000].
    #[arg(long, env = "TEAMINBOX_OUTBOX_RETRY_BASE_MS", hide = true)]
    outbox_retry_base_ms: Option<u64>,
    /// Send attempts before a message is marked failed [default: 10].
    #[arg(long, env = "TEAMINBOX_OUTBOX_MAX_ATTEMPTS", hide = true)]
    outbox_max_attempts: Option<i64>,
    /// Time limit of one send attempt in milliseconds [default: 15000].
    #[arg(long, env = "TEAMINBOX_OUTBOX_TIMEOUT_MS", hide = true)]
    outbox_timeout_ms: Option<u64>,
    /// Live event streams one user may have open at once (tabs and devices) [default: 12].
    #[arg(long, env = "TEAMINBOX_MAX_STREAMS_PER_USER")]
    max_streams_per_user: Option<usize>,
    /// Live event streams open at once over all users; lowered at start to fit the open-files
    /// limit [default: 512].
    #[arg(long, env = "TEAMINBOX_MAX_STREAMS")]
    max_streams: Option<usize>,
    /// Where the scheduled backups go [default: <data>/backups].
    #[arg(long, env = "TEAMINBOX_BACKUP_DIR")]
    backup_dir: Option<PathBuf>,
    /// Scheduled backups kept, oldest deleted first; 0 turns the scheduled backup off
    /// [default: 7].
    #[arg(long, env = "TEAMINBOX_BACKUP_KEEP")]
    backup_keep: Option<usize>,
    /// Do not announce teaminbox.local on the network (mDNS).
    #[arg(long, env = "TEAMINBOX_NO_MDNS")]
    no_mdns: bool,
    /// HTTPS: the certificate chain (PEM), with --tls-key.
    #[arg(long, env = "TEAMINBOX_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// HTTPS: the private key (PEM), with --tls-cert.
    #[arg(long, env = "TEAMINBOX_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// Seconds between scheduled backups [default: 86400].
    #[arg(long, env = "TEAMINBOX_BACKUP_INTERVAL_SECS", hide = true)]
    backup_interval_secs: Option<u64>,
    /// Bearer token that opens GET /metrics (Prometheus); without one /metrics answers 404.
    #[arg(long, env = "TEAMINBOX_METRICS_TOKEN", hide_env_values = true)]
    metrics_token: Option<String>,
    /// Do not ask the release server once a day whether a newer version exists.
    #[arg(long, env = "TEAMINBOX_NO_UPDATE_CHECK")]
    no_update_check: bool,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user. Without --password-stdin a random password is printed once.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["owner", "manager", "agent"])]
        role: String,
        /// Team to join (created if missing); repeat for several.
        #[arg(long = "team")]
        teams: Vec<String>,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Invite a person: creates them without a password and prints a one-time link (72 hours)
    /// and its QR code; they set their own password on their phone.
    Invite {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["owner", "manager", "agent"])]
        role: String,
        /// Team to join (created if missing); repeat for several.
        #[arg(long = "team")]
        teams: Vec<String>,
    },
    /// Print a one-time password-reset link (72 hours) and its QR code; their sessions and
    /// tokens end when they set the new password.
    Reset {
        #[arg(long)]
        email: String,
    },
    /// List users.
    List,
    /// Set a user's password (signs them out everywhere).
    Passwd {
        #[arg(long)]
        email: String,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a user and revoke their tokens.
    Disable {
        #[arg(long)]
        email: String,
    },
}

fn read_password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if !from_stdin {
        return Ok((service::auth::new_secret()[..20].to_string(), true));
    }
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .context("reading the password from stdin")?;
    let p = s.trim_end_matches(['\n', '\r']).to_string();
    if p.is_empty() {
        bail!("no password on standard input");
    }
    Ok((p, false))
}

/// Changes the user with `email` as the machine's administrator (no signed-in caller).
fn patch_by_email(store: &Store, email: String, patch: UserPatch) -> anyhow::Result<User> {
    Ok(store.write_blocking(move |c| {
        let (user, _) = find_user_by_email(c, &email)?.ok_or(service::Error::NotFound("user"))?;
        service::users::patch_user(c, None, user.id, patch)
    })?)
}

fn user_command(data: PathBuf, cmd: UserCommand) -> anyhow::Result<()> {
    let store = Store::open(&data).with_context(|| format!("opening {}", data.display()))?;
    match cmd {
        UserCommand::Add {
            email,
            name,
            role,
            teams: team_names,
            password_stdin,
        } => {
            let role = Role::parse(&role).context("role")?;
            let (password, generated) = read_password(password_stdin)?;
            let password_hash = service::auth::hash_password(&password)?;
            let user = store.write_blocking(move |c| {
                let ids = team_names
                    .iter()
                    .map(|t| service::teams::find_or_create(c, t))
                    .collect::<service::Result<Vec<_>>>()?;
                service::users::create_user(
                    c,
                    NewUser {
                        email,
                        name,
                        role,
                        password_hash,
                    },
                    &ids,
                )
            })?;
            println!("created {} <{}> as {}", user.name, user.email, user.role);
            if generated {
                println!("password (shown once): {password}");
            }
        }
        UserCommand::Invite {
            email,
            name,
            role,
            teams,
        } => {
            let role = Role::parse(&role).context("role")?;
            invite::invite(&data, &store, email, name, role, teams)?;
        }
        UserCommand::Reset { email } => invite::reset(&data, &store, email)?,
        UserCommand::List => {
            let users = store.read_blocking(list_users)?;
            println!(
                "{:<5} {:<30} {:<24} {:<8} {:<10} teams",
                "id", "email", "name", "role", "state"
            );
            for u in users {
                let state = if u.disabled {
                    "disabled"
                } else {
                    u.status.as_str()
                };
                let teams: Vec<_> = u.teams.iter().map(|t| t.name.as_str()).collect();
                println!(
                    "{:<5} {:<30} {:<24} {:<8} {:<10} {}",
                    u.id.0,
                    u.email,
                    u.name,
                    u.role,
                    state,
                    teams.join(", ")
                );
            }
        }
        UserCommand::Passwd {
            email,
            password_stdin,
        } => {
            let (password, generated) = read_password(password_stdin)?;
            let hash = service::auth::hash_password(&password)?;
            let user = patch_by_email(
                &store,
                email,
                UserPatch {
                    password_hash: Some(hash),
                    ..UserPatch::default()
                },
            )?;
            println!(
                "password changed for {}; their sessions were signed out",
                user.email
            );
            if generated {
                println!("password (shown once): {password}");
            }
        }
        UserCommand::Disable { email } => {
            let user = patch_by_email(
                &store,
                email,
                UserPatch {
                    disabled: Some(true),
                    ..UserPatch::default()
                },
            )?;
            println!("disabled {}; their tokens were revoked", user.email);
        }
    }
    Ok(())
}

fn serve(data: PathBuf, args: ServeArgs) -> anyhow::Result<()> {
    let config = Config::load(
        data,
        Overrides {
            bind: args.bind,
            workers: args.workers,
            log: args.log,
            outbox_retry_base_ms: args.outbox_retry_base_ms,
            outbox_max_attempts: args.outbox_max_attempts,
            outbox_timeout_ms: args.outbox_timeout_ms,
            max_streams_per_user: args.max_streams_per_user,
            max_streams: args.max_streams,
            backup_dir: args.backup_dir,
            backup_keep: args.backup_keep,
            backup_interval_secs: args.backup_interval_secs,
            mdns: args.no_mdns.then_some(false),
            tls_cert: args.tls_cert,
            tls_key: args.tls_key,
            metrics_token: args.metrics_token,
            update_check: args.no_update_check.then_some(false),
        },
    )?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&config.log).unwrap_or_else(|_| "info".into()),
        )
        .init();
    actix_web::rt::System::new().block_on(async move {
        let running = crate::server::start(&config).await?;
        let stop = async {
            crate::server::terminate_signal().await;
            // A second signal while stopping: do not wait for anything.
            actix_web::rt::spawn(async {
                crate::server::terminate_signal().await;
                eprintln!("teaminbox: second signal, exiting at once");
                std::process::exit(130);
            });
        };
        crate::server::serve_until(running, stop).await?;
        tracing::info!("stopped");
        Ok(())
    })
}

fn webhooks_command(data: PathBuf, cmd: WebhooksCommand) -> anyhow::Result<()> {
    let store = Store::open(&data).with_context(|| format!("opening {}", data.display()))?;
    match cmd {
        WebhooksCommand::List => {
            let list = store.read_blocking(|c| service::webhooks::list_set_aside(c, 1000))?;
            if list.is_empty() {
                println!("no webhook is set aside");
            }
            for w in list {
                println!(
                    "{}\treceived {}\tset aside {}\t{} attempts\t{} bytes\t{}",
                    w.id,
                    crate::domain::time::format_ms(w.received_at),
                    crate::domain::time::format_ms(w.set_aside_at),
                    w.attempts,
                    w.size,
                    w.error.unwrap_or_default()
                );
            }
        }
        WebhooksCommand::Retry { id } => {
            store.write_blocking(move |c| service::webhooks::retry(c, id))?;
            println!("webhook {id} is back in line; the running server tries it within a minute");
        }
    }
    Ok(())
}

fn backup(data: PathBuf, to: Option<PathBuf>) -> anyhow::Result<()> {
    use crate::service::backup::{archive_name, write_archive};
    if !data.join("teaminbox.db").exists() {
        bail!(
            "no teaminbox database in {}; nothing to back up",
            data.display()
        );
    }
    let to = to.unwrap_or_else(|| {
        data.join("backups")
            .join(archive_name(crate::domain::time::now_ms()))
    });
    let store = Store::open(&data).with_context(|| format!("opening {}", data.display()))?;
    let w = write_archive(&store, &data, &to)?;
    println!(
        "backup written to {} ({:.1} MiB: database schema {}, {} media files)",
        w.path.display(),
        w.bytes as f64 / (1024.0 * 1024.0),
        w.manifest.schema_version,
        w.manifest.media_files
    );
    Ok(())
}

fn restore(data: PathBuf, file: PathBuf) -> anyhow::Result<()> {
    let r = crate::service::backup::restore(&data, &file)?;
    let at = jiff::Timestamp::from_millisecond(r.manifest.created_at)
        .map(|t| t.to_string())
        .unwrap_or_default();
    println!(
        "restored {} into {} (taken {at}, {} messages)",
        file.display(),
        data.display(),
        r.messages
    );
    if let Some(previous) = r.previous {
        println!("the data it replaced is in {}", previous.display());
    }
    Ok(())
}

fn update(data: PathBuf, check: bool, rollback: bool, no_restart: bool) -> anyhow::Result<()> {
    use crate::service::update as u;
    let base = u::release_url();
    let exe = u::current_exe()?;
    let restart = |what: &str| -> anyhow::Result<()> {
        if !no_restart && u::service_active() {
            u::restart_service()?;
            println!("{what}; the teaminbox service was restarted");
        } else {
            println!("{what}; restart teaminbox to run it");
        }
        Ok(())
    };
    if rollback {
        let installed = u::rollback(&exe)?;
        let _ = std::fs::remove_file(data.join(u::REQUEST_FILE));
        restart(&format!(
            "{} is the previous version again (the one it replaced is kept as {}; if the newer \
             version changed the database, restore the backup taken before the update)",
            installed.display(),
            u::old_path(&installed).display()
        ))?;
        return Ok(());
    }
    if check {
        let c = u::check(&base)?;
        match c.newer {
            Some(v) => println!(
                "teaminbox {} is installed; {v} is available: run `teaminbox update`",
                c.current
            ),
            None => println!("teaminbox {} is installed; it is the newest", c.current),
        }
        return Ok(());
    }
    // A request from the web page is being served now (or is obsolete).
    let _ = std::fs::remove_file(data.join(u::REQUEST_FILE));
    let store = if data.join("teaminbox.db").exists() {
        Some(Store::open(&data).with_context(|| format!("opening {}", data.display()))?)
    } else {
        None
    };
    let outcome = u::update(&base, &exe, store.as_ref().map(|s| (s, data.as_path())))?;
    match outcome {
        u::Outcome::UpToDate(v) => println!("teaminbox {v} is the newest; nothing to do"),
        u::Outcome::Updated {
            from,
            to,
            old,
            backup,
        } => {
            if let Some(b) = backup {
                println!("backup written to {}", b.display());
            }
            restart(&format!(
                "updated teaminbox {from} -> {to} (the previous binary is kept as {}; \
                 `teaminbox update --rollback` goes back)",
                old.display()
            ))?;
        }
    }
    Ok(())
}

fn release_command(cmd: ReleaseCommand) -> anyhow::Result<()> {
    use crate::service::release;
    match cmd {
        ReleaseCommand::Keygen { private, public } => {
            release::keygen(&private, &public)?;
            println!(
                "wrote {} (keep it secret, off the repository) and {}",
                private.display(),
                public.display()
            );
        }
        ReleaseCommand::Publish {
            key,
            binary,
            version,
            target,
            out,
            packaging,
            installer,
        } => {
            let p = release::publish(&release::Publish {
                key,
                binary,
                version: version.unwrap_or_else(|| crate::service::update::CURRENT_VERSION.into()),
                target: target.unwrap_or_else(|| self_update::get_target().into()),
                out,
                packaging,
                installer,
            })?;
            println!("{}  {}", p.sha256, p.archive.display());
        }
    }
    Ok(())
}

/// Parses the command line and runs the command.
pub fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if matches!(
        cli.command,
        None | Some(Command::Serve(_)) | Some(Command::Demo(_))
    ) {
        crate::memory::tune_malloc();
    }
    crate::install_crypto();
    match cli.command {
        None => serve(cli.data, cli.serve),
        Some(Command::Serve(args)) => serve(cli.data, args),
        Some(Command::User(cmd)) => user_command(cli.data, cmd),
        Some(Command::Backup { to }) => backup(cli.data, to),
        Some(Command::Restore { file }) => restore(cli.data, file),
        Some(Command::Update {
            check,
            rollback,
            no_restart,
        }) => update(cli.data, check, rollback, no_restart),
        Some(Command::Release(cmd)) => release_command(cmd),
        Some(Command::Bench(args)) => crate::bench::run(args),
        Some(Command::Demo(args)) => crate::demo::run(args),
        Some(Command::Webhooks(cmd)) => webhooks_command(cli.data, cmd),
    }
}
