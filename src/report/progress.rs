//! Progress bars on stderr (indicatif): hidden under `--quiet` and when stderr is not a
//! terminal (indicatif's own check), so logs of unattended runs stay clean.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// Items per second, whole.
fn rate(state: &ProgressState, w: &mut dyn std::fmt::Write) {
    let _ = write!(w, "{:.0}/s", state.per_sec());
}

/// A bar (`len` given) or spinner drawn from `template` (with `{rate}` available).
fn styled(len: Option<u64>, template: &str, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(len, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(template) {
        pb.set_style(style.with_key("rate", rate).progress_chars("=> "));
    }
    pb.enable_steady_tick(Duration::from_millis(if len.is_some() { 200 } else { 120 }));
    pb
}

/// A spinner with a running count: "reading data.csv  123,456 rows  (45,678/s)".
pub(crate) fn counter(what: &str, unit: &str, quiet: bool) -> ProgressBar {
    let t = format!("{{spinner}} {what}  {{human_pos}} {unit}  ({{rate}})  {{elapsed}}");
    styled(None, &t, quiet)
}

/// A bar over `len` items with rate and ETA; its message shows retries and failures.
pub(crate) fn bar(len: u64, what: &str, quiet: bool) -> ProgressBar {
    let t =
        format!("{what} [{{bar:30}}] {{human_pos}}/{{human_len}}  {{rate}}  ETA {{eta}}  {{msg}}");
    styled(Some(len), &t, quiet)
}

/// A spinner with a message and the time so far, for waits without a count.
pub(crate) fn spinner(what: &str, quiet: bool) -> ProgressBar {
    styled(None, &format!("{{spinner}} {what}  {{elapsed}}"), quiet)
}

/// A bar over a file's bytes with rate and ETA: "checking data.csv [=====>   ] 12 MiB/41 MiB".
pub(crate) fn bytes(len: u64, what: &str, quiet: bool) -> ProgressBar {
    let t =
        format!("{what} [{{bar:30}}] {{bytes}}/{{total_bytes}}  {{bytes_per_sec}}  ETA {{eta}}");
    styled(Some(len), &t, quiet)
}

/// Awaits `fut`; when it takes more than a second, a spinner says what is awaited and for
/// how long, so a slow or silent server is not three minutes of nothing.
pub(crate) async fn waiting<T>(
    what: &str,
    quiet: bool,
    fut: impl std::future::Future<Output = T>,
) -> T {
    let fut = std::pin::pin!(fut);
    let mut fut = fut;
    let first = Duration::from_secs(1);
    tokio::select! {
        r = &mut fut => return r,
        _ = tokio::time::sleep(first) => {}
    }
    let pb = spinner(what, quiet).with_elapsed(first);
    let r = fut.await;
    pb.finish_and_clear();
    r
}
