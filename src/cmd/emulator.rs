//! `vsimport emulator`: serve the bundled emulator until interrupted.

use std::process::ExitCode;
use std::time::Duration;

use secrecy::SecretString;

use crate::cli::EmulatorArgs as Args;
use crate::emulator::{self, Options, quirks::Quirks, store::Tenant};
use crate::error::Error;
use crate::report;
use crate::settings::{self, ProcessEnv};

pub(crate) fn options(args: &Args) -> Result<Options, Error> {
    let forbidden_user = match &args.forbidden_user {
        Some(s) => {
            let (u, p) = s.split_once(':').ok_or_else(|| Error::Usage {
                message: "--forbidden-user needs USER:PASSWORD".into(),
                help: None,
            })?;
            Some((u.to_string(), SecretString::from(p)))
        }
        None => None,
    };
    Ok(Options {
        listen: args.listen,
        user: args.user.clone(),
        password: settings::emulator_password(args.password.as_deref(), &ProcessEnv),
        forbidden_user,
        strict_dates: args.strict_dates,
        delete_missing_status: args.delete_missing,
        latency: Duration::from_millis(args.latency_ms),
        fail_rate: args.fail_rate,
        throttle_rate: args.throttle_rate,
        retry_after_secs: args.retry_after_secs,
        endless_body: args.endless_body,
        echo_auth: args.echo_auth,
        throttle_rps: args.throttle_rps,
        retry_after: !args.no_retry_after,
        reset_rate: args.reset_rate,
        seed: args.seed,
        state: args.state.clone(),
        log: args.log.clone(),
        quirks: quirks(args),
    })
}

/// The profile's quirks, with each flag given switched on over it.
fn quirks(args: &Args) -> Quirks {
    let mut q = Quirks::of(args.profile);
    q.loose_answers |= args.loose_answers;
    q.json_only |= args.json_only;
    q.no_unit |= args.no_unit;
    q.no_interval |= args.no_interval;
    if let Some(f) = &args.sub_tiles_field {
        q.sub_tiles_field = Some(f.clone());
    }
    q.reset_targets |= args.reset_targets;
    q.ignore_unknown_fields |= args.ignore_unknown_fields;
    q.utc_dates |= args.utc_dates;
    q.keyless_lists |= args.keyless_lists;
    if let Some(d) = args.range_days {
        q.range.days = d;
    }
    if let Some(m) = args.range_months {
        q.range.week_months = m;
        q.range.month_months.0 = m;
    }
    if let Some(m) = args.range_months_v3 {
        q.range.month_months.1 = m;
    }
    q
}

pub(crate) async fn run(args: Args) -> Result<ExitCode, Error> {
    let opts = options(&args)?;
    let tenant = Tenant::load(&args.catalog)?;
    let (kpis, teams) = (tenant.catalog.kpis.len(), tenant.catalog.teams.len());
    let running = emulator::start(tenant, opts).await?;
    // The first line on stdout is the base URL, for scripts and tests.
    report::out(&format!("{}\n", running.base_url()));
    report::note(&format!(
        "vsimport emulator: {}, {}, {}; user {:?}; Ctrl-C to stop",
        report::count(kpis as u64, "KPI", "KPIs"),
        report::count(teams as u64, "team", "teams"),
        report::count(running.record_count() as u64, "record", "records"),
        args.user
    ));
    shutdown_signal().await;
    let n = running.record_count();
    running.shutdown().await?;
    match &args.state {
        Some(p) => report::note(&format!(
            "vsimport emulator: stopped; {} saved to {}",
            report::count(n as u64, "record", "records"),
            p.display()
        )),
        None => report::note("vsimport emulator: stopped"),
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
