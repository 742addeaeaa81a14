//! `vsimport emulator`: serve the bundled emulator until interrupted.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::emulator::{self, Options, store::Tenant};
use crate::error::Error;
use crate::secret::Secret;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Catalog file: {"teams": [...], "kpis": [<KPI details as GET /exchange/kpi/{id} returns them>]}
    #[arg(long, value_name = "FILE")]
    pub catalog: PathBuf,
    /// Address to listen on; port 0 picks a free port (the URL is printed on stdout)
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// The API user
    #[arg(long, default_value = "demo")]
    pub user: String,
    /// The API user's password [env: VS_EMULATOR_PASSWORD] [default: demo]
    #[arg(
        long,
        env = "VS_EMULATOR_PASSWORD",
        hide_env_values = true,
        hide_default_value = true,
        default_value = "demo"
    )]
    pub password: String,
    /// A user that authenticates but lacks the API permission (answered 403), as USER:PASSWORD
    #[arg(long, value_name = "USER:PASSWORD")]
    pub forbidden_user: Option<String>,
    /// Reject WEEK records not dated on a Monday and MONTH records not on the 1st (400);
    /// with false they are moved onto the Monday / the 1st
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub strict_dates: bool,
    /// Status for DELETE of a record that does not exist
    #[arg(long, default_value_t = 404, value_name = "404|204")]
    pub delete_missing: u16,
    /// Delay every answer by N milliseconds
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub latency_ms: u64,
    /// Answer this fraction of requests with 503 (0.0 to 1.0)
    #[arg(long, default_value_t = 0.0, value_name = "F")]
    pub fail_rate: f64,
    /// Answer 429 above N requests per second
    #[arg(long, value_name = "N")]
    pub throttle_rps: Option<u32>,
    /// Send 429 without a Retry-After header
    #[arg(long)]
    pub no_retry_after: bool,
    /// Drop the connection after applying this fraction of writes (the client sees no answer)
    #[arg(long, default_value_t = 0.0, value_name = "F")]
    pub reset_rate: f64,
    /// Seed for the injected faults
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Load records from FILE on start (if it exists) and save them there on shutdown
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Append one JSON line per request to FILE
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
}

fn rate(name: &str, f: f64) -> Result<f64, Error> {
    if (0.0..=1.0).contains(&f) {
        Ok(f)
    } else {
        Err(Error::Usage {
            message: format!("--{name} {f} is not a fraction"),
            help: Some("give a number from 0.0 to 1.0".into()),
        })
    }
}

pub fn options(args: &Args) -> Result<Options, Error> {
    let forbidden_user = match &args.forbidden_user {
        Some(s) => {
            let (u, p) = s.split_once(':').ok_or_else(|| Error::Usage {
                message: "--forbidden-user needs USER:PASSWORD".into(),
                help: None,
            })?;
            Some((u.to_string(), Secret::new(p)))
        }
        None => None,
    };
    if args.delete_missing != 404 && args.delete_missing != 204 {
        return Err(Error::Usage {
            message: format!("--delete-missing {} is not 404 or 204", args.delete_missing),
            help: None,
        });
    }
    Ok(Options {
        listen: args.listen,
        user: args.user.clone(),
        password: Secret::new(args.password.clone()),
        forbidden_user,
        strict_dates: args.strict_dates,
        delete_missing_status: args.delete_missing,
        latency: Duration::from_millis(args.latency_ms),
        fail_rate: rate("fail-rate", args.fail_rate)?,
        throttle_rps: args.throttle_rps,
        retry_after: !args.no_retry_after,
        reset_rate: rate("reset-rate", args.reset_rate)?,
        seed: args.seed,
        state: args.state.clone(),
        log: args.log.clone(),
    })
}

pub async fn run(args: Args) -> Result<ExitCode, Error> {
    let opts = options(&args)?;
    let tenant = Tenant::load(&args.catalog)?;
    let (kpis, teams) = (tenant.catalog.kpis.len(), tenant.catalog.teams.len());
    let running = emulator::start(tenant, opts).await?;
    // The first line on stdout is the base URL, for scripts and tests.
    println!("{}", running.base_url());
    eprintln!(
        "vsimport emulator: {kpis} KPIs, {teams} teams, {} records; user {:?}; Ctrl-C to stop",
        running.record_count(),
        args.user
    );
    shutdown_signal().await;
    let n = running.record_count();
    running.shutdown().await?;
    match &args.state {
        Some(p) => eprintln!(
            "vsimport emulator: stopped; {n} records saved to {}",
            p.display()
        ),
        None => eprintln!("vsimport emulator: stopped"),
    }
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
