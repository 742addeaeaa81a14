//! One module per subcommand, each the same shape: `Args` (clap) and `run`.

pub mod demo;
pub mod emulator;
pub mod export;
pub mod import;
pub mod inspect;
pub mod kpis;
pub mod mapping;
pub mod undo;

use crate::api::{Client, KpiDetail, KpiMeta, Named};
use crate::error::Error;
use crate::settings::{self, ConnectArgs, ProcessEnv};
use crate::suggest::did_you_mean;

/// Builds a client from the connection flags, the environment and the config file.
pub fn connect(args: &ConnectArgs) -> Result<Client, Error> {
    let cfg = settings::resolve(args, &ProcessEnv, &mut std::io::stdin().lock())?;
    Ok(Client::new(&cfg)?)
}

/// Finds a thing by UUID or by name (exact, then case-insensitive), with a suggestion when
/// nothing matches. `what` names the kind ("KPI", "team") for the message.
pub fn find_named<'a, T>(
    what: &str,
    wanted: &str,
    items: &'a [T],
    id: impl Fn(&T) -> uuid::Uuid,
    name: impl Fn(&T) -> &str,
) -> Result<&'a T, Error> {
    let wanted_t = wanted.trim();
    if let Ok(u) = uuid::Uuid::parse_str(wanted_t)
        && let Some(x) = items.iter().find(|x| id(x) == u)
    {
        return Ok(x);
    }
    if let Some(x) = items.iter().find(|x| name(x) == wanted_t) {
        return Ok(x);
    }
    let ci: Vec<&T> = items
        .iter()
        .filter(|x| name(x).to_lowercase() == wanted_t.to_lowercase())
        .collect();
    if let [one] = ci.as_slice() {
        return Ok(one);
    }
    let help = match did_you_mean(wanted_t, items.iter().map(&name)) {
        Some(s) => format!("did you mean {s:?}?"),
        None => format!(
            "known: {}",
            items
                .iter()
                .map(&name)
                .take(12)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Err(Error::Usage {
        message: format!("no {what} named {wanted_t:?}"),
        help: Some(help),
    })
}

pub fn find_kpi<'a>(wanted: &str, kpis: &'a [KpiMeta]) -> Result<&'a KpiMeta, Error> {
    find_named("KPI", wanted, kpis, |k| k.id, |k| &k.name)
}

pub fn find_team<'a>(wanted: &str, kpi: &'a KpiDetail) -> Result<&'a Named, Error> {
    find_named(
        &format!("recording team of KPI {:?}", kpi.name),
        wanted,
        &kpi.recording_teams,
        |t| t.id,
        |t| &t.name,
    )
}
