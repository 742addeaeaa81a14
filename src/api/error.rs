//! What can go wrong talking to the API, said so that the user knows which request failed,
//! what the server answered and what to try next. No variant ever holds a credential.

use std::time::Duration;

/// A failed API request.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(crate) enum ApiError {
    /// The server answered with a non-success status.
    #[error("{request} failed: HTTP {status}{}", message_suffix(.message))]
    #[diagnostic(code(vsimport::api::status))]
    Status {
        request: String,
        status: u16,
        message: String,
        #[help]
        help: Option<String>,
        /// `Retry-After`, when the server sent one (in seconds).
        retry_after: Option<Duration>,
    },
    /// No answer: connection refused, DNS, TLS, timeout, connection reset.
    #[error("{request} failed: {detail}")]
    #[diagnostic(code(vsimport::api::transport))]
    Transport {
        request: String,
        detail: String,
        #[help]
        help: Option<String>,
        timeout: bool,
        /// False for failures that another try will not mend (DNS, TLS).
        retryable: bool,
    },
    /// The server answered 2xx but not with the JSON we expected.
    #[error("{request}: the answer could not be read ({detail})")]
    #[diagnostic(code(vsimport::api::decode))]
    Decode {
        request: String,
        detail: String,
        #[help]
        help: String,
    },
    /// Not sent (or not sent again) because the run is stopping (Ctrl-C, or an error that
    /// every other request would meet too).
    #[error("not sent: the run is stopping")]
    #[diagnostic(code(vsimport::api::stopped))]
    Stopped,
    /// The settings cannot make a client (bad URL, plain http to a remote host).
    #[error("{message}")]
    #[diagnostic(code(vsimport::api::config))]
    Config {
        message: String,
        #[help]
        help: Option<String>,
    },
}

fn message_suffix(m: &str) -> String {
    if m.is_empty() {
        String::new()
    } else {
        format!(": {m}")
    }
}

impl ApiError {
    /// The HTTP status, when the server answered.
    pub(crate) fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether trying the same request again may succeed: connection problems, timeouts,
    /// 408, 429, 500, 502, 503 and 504.
    pub(crate) fn is_retryable(&self) -> bool {
        match self {
            ApiError::Status { status, .. } => {
                matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
            }
            ApiError::Transport { retryable, .. } => *retryable,
            ApiError::Decode { .. } | ApiError::Config { .. } | ApiError::Stopped => false,
        }
    }

    /// Whether the server asked us to slow down (429 or 503).
    pub(crate) fn is_throttle(&self) -> bool {
        matches!(self.status(), Some(429 | 503))
    }

    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Notes in the request's name how many attempts were made (when more than one).
    pub(crate) fn after_attempts(mut self, attempts: u32) -> ApiError {
        if attempts > 1 {
            let note = format!(" ({attempts} attempts)");
            match &mut self {
                ApiError::Status { request, .. }
                | ApiError::Transport { request, .. }
                | ApiError::Decode { request, .. } => request.push_str(&note),
                ApiError::Config { .. } | ApiError::Stopped => {}
            }
        }
        self
    }

    /// What to try, for a decode error.
    pub(crate) fn decode_help(html: bool, snippet: &str) -> String {
        if html {
            format!(
                "is --url the API's base (it usually ends in /api)? The answer began with: {snippet}"
            )
        } else {
            format!(
                "the server's answer has a shape vsimport does not read; it began with: {snippet}. An import can write without reading the server's values first: --compare never (no comparison, no kept targets, no undo)"
            )
        }
    }

    /// The same error with `help` as its hint.
    pub(crate) fn with_help(mut self, help: String) -> ApiError {
        match &mut self {
            ApiError::Status { help: h, .. }
            | ApiError::Transport { help: h, .. }
            | ApiError::Config { help: h, .. } => *h = Some(help),
            ApiError::Decode { help: h, .. } => *h = help,
            ApiError::Stopped => {}
        }
        self
    }

    /// A one-line reason, for reports and failed-record lists.
    pub(crate) fn short(&self) -> String {
        match self {
            ApiError::Status {
                status, message, ..
            } => format!("HTTP {status}{}", message_suffix(message)),
            ApiError::Transport { detail, .. } => detail.clone(),
            ApiError::Decode { detail, .. } => format!("bad answer: {detail}"),
            ApiError::Config { message, .. } => message.clone(),
            ApiError::Stopped => "not sent: the run is stopping".into(),
        }
    }
}

/// `Retry-After` in seconds, when the answer has one (the HTTP-date form is not used by the
/// API and is ignored).
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// The help line for a status code.
pub(crate) fn status_help(status: u16) -> Option<String> {
    let h = match status {
        400 => "the server rejected the request's content; the message above says which part",
        401 => {
            "the user name or password is wrong: check VS_USER and VS_PASSWORD (or --password-stdin, or password_command in the config file)"
        }
        403 => {
            "the user is known but lacks the API permission: ask a ValueStreamer admin to grant it"
        }
        404 => {
            "the server knows no such KPI, team or record, or --url is not the API base (it usually ends in /api)"
        }
        300..=399 => {
            "the server answered with a redirect, which vsimport does not follow (the credentials go to the configured server only): set --url to the address the API really answers at (`curl -I URL` shows where it points)"
        }
        405 => "--url is probably not the API base (it usually ends in /api)",
        415 => "the server did not accept the media type: try the other --api-version (2 or 3)",
        429 => "the server is throttling: lower --concurrency or set --max-rps",
        500..=599 => "the server had a problem; trying again later usually helps",
        _ => return None,
    };
    Some(h.to_string())
}

/// Pulls the human message out of an error body: a JSON `message`/`error`/`detail`/`title`
/// field, a note that it was an HTML page, or the first 200 characters of text.
pub(crate) fn body_message(body: &str) -> String {
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return String::new();
    }
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(trimmed) {
        for key in ["message", "detail", "error_description", "error", "title"] {
            if let Some(serde_json::Value::String(s)) = map.get(key)
                && !s.is_empty()
            {
                return s.clone();
            }
        }
    }
    let lower = trimmed
        .get(..trimmed.len().min(100))
        .unwrap_or("")
        .to_lowercase();
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
        return "the server answered with an HTML page, not the API's JSON".to_string();
    }
    snippet(trimmed, 200)
}

/// The first `max` characters of `s` on one line.
pub(crate) fn snippet(s: &str, max: usize) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    if s.chars().count() > max {
        format!("{one_line}…")
    } else {
        one_line
    }
}

/// Describes a reqwest transport error with its cause chain, and a hint.
/// `host:port` of the request that failed.
fn host_of(err: &reqwest::Error) -> String {
    err.url()
        .map(|u| {
            format!(
                "{}:{}",
                u.host_str().unwrap_or("?"),
                u.port_or_known_default().unwrap_or(0)
            )
        })
        .unwrap_or_default()
}

/// A transport failure before the server ever answered. Nothing listening, no connection
/// within the connect timeout, or a connection accepted and then held without an answer (a
/// wrong port, a proxy or firewall that swallows requests) is said plainly and not retried;
/// other failures (a reset) are left as they are.
pub(crate) fn first_contact(
    err: ApiError,
    source: &reqwest::Error,
    timeout: Duration,
    connect_timeout: Duration,
) -> ApiError {
    let ApiError::Transport {
        request,
        detail,
        help,
        timeout: timed_out,
        retryable,
    } = err
    else {
        return err;
    };
    let host = host_of(source);
    let (detail, help) = if source.is_connect() && timed_out {
        (
            format!(
                "no connection to {host} within {} s",
                connect_timeout.as_secs()
            ),
            Some("check --url, and that this machine may reach the server (VPN, firewall; a proxy goes in HTTPS_PROXY)".to_string()),
        )
    } else if timed_out {
        (
            format!(
                "{host} accepted the connection but sent no answer within {} s",
                timeout.as_secs()
            ),
            Some("check that --url is the ValueStreamer API (https://api-<tenant>.valuestreamer.de/api) and not another service on that port; a proxy or firewall that holds connections does this too; --timeout N waits longer".to_string()),
        )
    } else if source.is_connect() && detail.starts_with("connection refused") {
        (detail, help)
    } else {
        // A reset or a closed connection may be the server's passing trouble: retried.
        return ApiError::Transport {
            request,
            detail,
            help,
            timeout: timed_out,
            retryable,
        };
    };
    ApiError::Transport {
        request,
        detail,
        help,
        timeout: timed_out,
        retryable: false,
    }
}

pub(crate) fn transport(request: String, err: &reqwest::Error) -> ApiError {
    let mut detail = String::new();
    let mut cur: Option<&dyn std::error::Error> = Some(err);
    let mut seen: Vec<String> = Vec::new();
    while let Some(e) = cur {
        let s = e.to_string();
        // reqwest repeats the URL in its own message; the request is already named.
        let s = s
            .split(" for url (")
            .next()
            .unwrap_or(&s)
            .trim()
            .to_string();
        if !s.is_empty() && !seen.iter().any(|p| p.contains(&s)) {
            if !detail.is_empty() {
                detail.push_str(": ");
            }
            detail.push_str(&s);
            seen.push(s);
        }
        cur = e.source();
    }
    let lower = detail.to_lowercase();
    let tls = [
        "certificate",
        "tls",
        "handshake",
        "corrupt message",
        "alert",
        "unknownissuer",
    ]
    .iter()
    .any(|w| lower.contains(w));
    let dns = lower.contains("dns") || lower.contains("resolve") || lower.contains("lookup");
    let help = if err.is_timeout() {
        Some("the server did not answer in time: raise --timeout or try again later".to_string())
    } else if tls {
        Some("the TLS handshake failed: the server does not speak https on that port, or its certificate is not trusted by this machine (verification cannot be turned off)".to_string())
    } else if dns {
        Some("the host name could not be resolved: check --url (https://api-<tenant>.valuestreamer.de/api)".to_string())
    } else if err.is_connect() {
        Some(
            "could not connect: check --url and that the server is running and reachable"
                .to_string(),
        )
    } else {
        None
    };
    // The OS's words for the common cases, without reqwest's and hyper's layers around them.
    let host = host_of(err);
    let detail = if err.is_connect() && lower.contains("connection refused") {
        format!("connection refused: nothing is listening at {host}")
    } else if err.is_connect() && err.is_timeout() {
        format!("no connection to {host} within the connect timeout")
    } else if err.is_timeout() {
        "no answer within the timeout".to_string()
    } else {
        crate::os::plain(&detail)
    };
    ApiError::Transport {
        request,
        detail,
        help,
        timeout: err.is_timeout(),
        retryable: !(tls || dns),
    }
}
