//! `mimamori`: the one binary. Each subcommand lives in its own module under
//! `cmd/` with an `Args` struct and a `run`; the work happens in the library crates.

mod clock;
mod cmd;
mod config;
mod datadir;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "mimamori",
    version,
    about = "見守り: public security cameras run by the rules"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a data directory with a policy preset and the manager account.
    Init(cmd::init::Args),
    /// Record all cameras and serve the UI and API.
    Serve(cmd::serve::Args),
    /// Run a demonstration: a fresh data directory, a demo manager and a test-pattern camera.
    Demo(cmd::demo::Args),
    /// Add, list or remove cameras.
    #[command(subcommand)]
    Camera(cmd::camera::Command),
    /// Manage user accounts.
    #[command(subcommand)]
    User(cmd::user::Command),
    /// Check that the catalog and the segment files agree (exit 0 when consistent).
    Check(cmd::check::Args),
    /// Verify that no stored byte or catalog row was changed, removed or reordered (exit 0 when intact).
    Verify(cmd::verify::Args),
    /// Check an evidence package offline: signature, hashes, frames as recorded (exit 0 when valid).
    VerifyExport(cmd::verify_export::Args),
    /// The audit log.
    #[command(subcommand)]
    Audit(cmd::audit::Command),
    /// Check or show the policy (roles, terminals, purposes, retention).
    #[command(subcommand)]
    Policy(cmd::policy::Command),
    /// Write the yearly report of a fiscal year (static HTML and CSV).
    Report(cmd::report::Args),
    /// Move a stopped installation's catalog into another database (SQLite → PostgreSQL).
    Migrate(cmd::migrate::Args),
    /// Measure recording cost per stream against RTSP cameras.
    #[command(subcommand)]
    Bench(cmd::bench::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MIMAMORI_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("info,retina=warn,sqlx=warn")
            }),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        match cli.command {
            Command::Init(a) => cmd::init::run(a).await,
            Command::Serve(a) => cmd::serve::run(a).await,
            Command::Demo(a) => cmd::demo::run(a).await,
            Command::Camera(c) => cmd::camera::run(c).await,
            Command::User(c) => cmd::user::run(c).await,
            Command::Check(a) => cmd::check::run(a).await,
            Command::Verify(a) => cmd::verify::run(a).await,
            Command::VerifyExport(a) => cmd::verify_export::run(a).await,
            Command::Audit(c) => cmd::audit::run(c).await,
            Command::Policy(c) => cmd::policy::run(c).await,
            Command::Report(a) => cmd::report::run(a).await,
            Command::Migrate(a) => cmd::migrate::run(a).await,
            Command::Bench(a) => cmd::bench::run(a).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
