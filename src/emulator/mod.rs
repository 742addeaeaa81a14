//! An emulator of the ValueStreamer KPI exchange API, for tests, benchmarks and the demo.
//!
//! It serves every endpoint of API.md from an in-memory [`store::Store`] loaded from a catalog
//! file, enforces what the API documents (Basic Auth, media type, UUIDs, known KPIs and teams,
//! recording teams, value ids, integers, Time minutes, date format, range limits) and makes
//! every assumption visible as an option (`--strict-dates`, `--delete-missing`). Faults can be
//! injected, seeded: latency, 503s, 429 throttling and connections dropped after a write was
//! applied. Each request can be logged as one JSON line. The choices are listed in
//! `docs/EMULATOR.md`.

mod answer;
mod conn;
mod delay;
pub(crate) mod quirks;
pub(crate) mod ranges;
pub(crate) mod store;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;

use answer::{Media, authenticate, error_response, json_response};
use conn::{Conn, KillableListener};

use crate::api::{ApiVersion, RecordBody};
use ranges::check_range;
use secrecy::SecretString;
use store::{Reject, StateFile, Store, Tenant, Written, parse_date, parse_uuid};

/// Everything the emulator is started with.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) listen: SocketAddr,
    pub(crate) user: String,
    pub(crate) password: SecretString,
    /// A user that authenticates but lacks the API permission (gets 403).
    pub(crate) forbidden_user: Option<(String, SecretString)>,
    pub(crate) strict_dates: bool,
    pub(crate) delete_missing_status: u16,
    pub(crate) latency: Duration,
    pub(crate) fail_rate: f64,
    /// Fraction of requests answered 429 (with `Retry-After: retry_after_secs` unless
    /// `retry_after` is off).
    pub(crate) throttle_rate: f64,
    pub(crate) retry_after_secs: u64,
    /// Every GET answered 200 with a body that never ends.
    pub(crate) endless_body: bool,
    /// Every PUT is refused (400) with a body that echoes the request's `Authorization`
    /// header, as a careless server or proxy might: the client must not show or store it.
    pub(crate) echo_auth: bool,
    pub(crate) throttle_rps: Option<u32>,
    pub(crate) retry_after: bool,
    pub(crate) reset_rate: f64,
    pub(crate) seed: u64,
    pub(crate) state: Option<PathBuf>,
    pub(crate) log: Option<PathBuf>,
    /// The server variant played (`--profile` and one flag per quirk).
    pub(crate) quirks: quirks::Quirks,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            user: "demo".into(),
            password: SecretString::from("demo"),
            forbidden_user: None,
            strict_dates: true,
            delete_missing_status: 404,
            latency: Duration::ZERO,
            fail_rate: 0.0,
            throttle_rate: 0.0,
            retry_after_secs: 1,
            endless_body: false,
            echo_auth: false,
            throttle_rps: None,
            retry_after: true,
            reset_rate: 0.0,
            seed: 0,
            state: None,
            log: None,
            quirks: quirks::Quirks::default(),
        }
    }
}

/// Why the emulator could not start or stop cleanly.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(crate) enum EmulatorError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Catalog(#[from] store::CatalogError),
    #[error("cannot listen on {addr}: {source}")]
    #[diagnostic(
        code(vsimport::emulator::listen),
        help("pick another port, or port 0 to let the system choose")
    )]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    #[diagnostic(code(vsimport::emulator::file))]
    File { path: String, message: String },
}

struct Shared {
    store: Mutex<Store>,
    opts: Options,
    rng: Mutex<fastrand::Rng>,
    throttle: Mutex<(Instant, u32)>,
    delays: delay::Delays,
    log: Option<Mutex<std::io::LineWriter<std::fs::File>>>,
    started: Instant,
    seq: AtomicU64,
}

/// A running emulator. Dropping it does not stop it; call [`Running::shutdown`].
pub(crate) struct Running {
    pub(crate) addr: SocketAddr,
    shared: Arc<Shared>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// The API base URL, `http://127.0.0.1:PORT/api`.
    pub(crate) fn base_url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    /// Number of records in the store.
    pub(crate) fn record_count(&self) -> usize {
        self.shared.store.lock().map(|s| s.len()).unwrap_or(0)
    }

    /// Stops serving, waits for open requests, and writes the state file if one was given.
    pub(crate) async fn shutdown(self) -> Result<(), EmulatorError> {
        let _ = self.stop.send(());
        let _ = self.task.await;
        save_state(&self.shared)
    }
}

/// Loads the catalog (and the state file, if it exists), binds and starts serving.
pub(crate) async fn start(tenant: Tenant, opts: Options) -> Result<Running, EmulatorError> {
    let mut store = Store::new(
        tenant,
        store::Rules {
            strict_dates: opts.strict_dates,
            delete_missing_status: opts.delete_missing_status,
            reset_targets: opts.quirks.reset_targets,
            ignore_unknown_fields: opts.quirks.ignore_unknown_fields,
        },
    );
    if let Some(path) = &opts.state
        && path.exists()
    {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| EmulatorError::File {
            path: shown.clone(),
            message: format!("cannot read the state file: {e}"),
        })?;
        let state: StateFile = serde_json::from_str(&text).map_err(|e| EmulatorError::File {
            path: shown.clone(),
            message: format!("not a state file ({e})"),
        })?;
        let skipped = store.restore(state);
        if skipped > 0 {
            tracing::warn!(skipped, "state file records without a key were skipped");
        }
    }
    let log = match &opts.log {
        Some(path) => Some(Mutex::new(std::io::LineWriter::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| EmulatorError::File {
                    path: path.display().to_string(),
                    message: format!("cannot open the request log: {e}"),
                })?,
        ))),
        None => None,
    };
    let listener =
        TcpListener::bind(opts.listen)
            .await
            .map_err(|source| EmulatorError::Listen {
                addr: opts.listen,
                source,
            })?;
    let addr = listener
        .local_addr()
        .map_err(|source| EmulatorError::Listen {
            addr: opts.listen,
            source,
        })?;
    let shared = Arc::new(Shared {
        store: Mutex::new(store),
        rng: Mutex::new(fastrand::Rng::with_seed(opts.seed)),
        throttle: Mutex::new((Instant::now(), 0)),
        delays: delay::Delays::new(),
        opts,
        log,
        started: Instant::now(),
        seq: AtomicU64::new(0),
    });
    let app = Router::new()
        .fallback(handle)
        .with_state(shared.clone())
        .into_make_service_with_connect_info::<Conn>();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(KillableListener(listener), app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    Ok(Running {
        addr,
        shared,
        stop,
        task,
    })
}

fn save_state(shared: &Shared) -> Result<(), EmulatorError> {
    let Some(path) = &shared.opts.state else {
        return Ok(());
    };
    let snapshot = match shared.store.lock() {
        Ok(s) => s.snapshot(),
        Err(p) => p.into_inner().snapshot(),
    };
    let shown = path.display().to_string();
    let json = serde_json::to_vec_pretty(&snapshot).map_err(|e| EmulatorError::File {
        path: shown.clone(),
        message: e.to_string(),
    })?;
    crate::persist::write_atomic(path, &json).map_err(|e| EmulatorError::File {
        path: shown,
        message: format!("cannot write the state file: {}", e.message),
    })
}

// ---- requests ----------------------------------------------------------------------------

/// What happened to a request, for the log.
#[derive(Clone, Copy, PartialEq)]
enum Fault {
    None,
    Fail,
    Throttle,
    Reset,
}

impl Fault {
    fn as_json(self) -> serde_json::Value {
        match self {
            Fault::None => serde_json::Value::Null,
            Fault::Fail => "fail".into(),
            Fault::Throttle => "throttle".into(),
            Fault::Reset => "reset".into(),
        }
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let opts = &shared.opts;
    if !opts.latency.is_zero() {
        shared.delays.until(Instant::now() + opts.latency).await;
    }
    let (resp, fault) = faults_then_route(&shared, &method, &uri, &headers, &body);
    let status = resp.status().as_u16();
    if fault == Fault::Reset {
        conn.0.store(true, Ordering::Release);
    }
    log_request(&shared, &method, &uri, status, fault);
    resp
}

fn faults_then_route(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> (Response, Fault) {
    let opts = &shared.opts;
    if let Some(limit) = opts.throttle_rps {
        let over = match shared.throttle.lock() {
            Ok(mut w) => {
                let now = Instant::now();
                if now.duration_since(w.0) >= Duration::from_secs(1) {
                    *w = (now, 0);
                }
                w.1 += 1;
                w.1 > limit
            }
            Err(_) => false,
        };
        if over {
            return (throttled(opts), Fault::Throttle);
        }
    }
    let (fail, reset, throttle) = match shared.rng.lock() {
        Ok(mut rng) => (
            chance(&mut rng, opts.fail_rate),
            chance(&mut rng, opts.reset_rate),
            chance(&mut rng, opts.throttle_rate),
        ),
        Err(_) => (false, false, false),
    };
    if throttle {
        return (throttled(opts), Fault::Throttle);
    }
    if fail {
        return (
            error_response(503, "service unavailable (injected)"),
            Fault::Fail,
        );
    }
    if let Err(r) = authenticate(opts, headers) {
        return (error_response(r.status, &r.message), Fault::None);
    }
    if opts.endless_body && *method == Method::GET {
        use tokio::io::AsyncReadExt;
        let endless = (&b"["[..]).chain(tokio::io::repeat(b' '));
        let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(endless));
        let mut r = Response::new(body);
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return (r, Fault::None);
    }
    if opts.echo_auth && *method == Method::PUT {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        return (
            error_response(
                400,
                &format!("request refused; it carried Authorization: {sent}"),
            ),
            Fault::None,
        );
    }
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    if !opts.quirks.accepts(accept) {
        return (
            error_response(
                406,
                &format!(
                    "cannot produce {:?}: this server answers with application/json",
                    accept.unwrap_or("")
                ),
            ),
            Fault::None,
        );
    }
    let version = accept
        .and_then(|a| a.split(',').find_map(ApiVersion::from_media_type))
        .unwrap_or_default();
    match route(shared, method, uri, headers, body, version) {
        Ok((resp, wrote)) => {
            let fault = if wrote && reset {
                Fault::Reset
            } else {
                Fault::None
            };
            (resp, fault)
        }
        Err(r) => (error_response(r.status, &r.message), Fault::None),
    }
}

/// True with probability `p` (never for 0).
/// A 429 answer, with `Retry-After` as the options say.
fn throttled(opts: &Options) -> Response {
    let mut r = error_response(429, "too many requests");
    if opts.retry_after
        && let Ok(v) = HeaderValue::from_str(&opts.retry_after_secs.to_string())
    {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

fn chance(rng: &mut fastrand::Rng, p: f64) -> bool {
    p > 0.0 && rng.f64() < p
}

/// Routes one authenticated request. Returns the response and whether it changed the store.
fn route(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
    version: ApiVersion,
) -> Result<(Response, bool), Reject> {
    let not_found = || Reject {
        status: 404,
        message: format!("no such endpoint: {}", uri.path()),
    };
    let quirks = &shared.opts.quirks;
    let media = if quirks.json_only {
        Media::Json
    } else {
        Media::Vendor(version)
    };
    let path = uri.path().strip_prefix("/api/").ok_or_else(not_found)?;
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let lock = || {
        shared.store.lock().map_err(|_| Reject {
            status: 500,
            message: "store lock poisoned".into(),
        })
    };
    let allow = |ok: &[Method]| -> Result<(), Reject> {
        if ok.contains(method) {
            Ok(())
        } else {
            Err(Reject {
                status: 405,
                message: format!("{method} is not allowed on {}", uri.path()),
            })
        }
    };
    match segs.as_slice() {
        ["exchange", "kpi"] => {
            allow(&[Method::GET])?;
            let list = lock()?.tenant.list();
            Ok((json_response(StatusCode::OK, &list, media), false))
        }
        ["exchange", "kpi", id] => {
            allow(&[Method::GET])?;
            let id = parse_uuid("KPI id", id)?;
            let store = lock()?;
            let detail = store.tenant.detail_json(id).ok_or_else(|| Reject {
                status: 404,
                message: format!("no KPI with id {id}"),
            })?;
            Ok((
                json_response(StatusCode::OK, &quirks.detail(detail), media),
                false,
            ))
        }
        ["exchange", "kpi-data"] => {
            allow(&[Method::GET])?;
            let Query(q) = Query::<std::collections::HashMap<String, String>>::try_from_uri(uri)
                .map_err(|e| Reject {
                    status: 400,
                    message: format!("bad query: {e}"),
                })?;
            let need = |k: &str| {
                q.get(k).ok_or_else(|| Reject {
                    status: 400,
                    message: format!("query parameter {k} is required"),
                })
            };
            let kpi_id = parse_uuid("kpi-id", need("kpi-id")?)?;
            let from = parse_date("from", need("from")?)?;
            let to = parse_date("to", need("to")?)?;
            let team = match q.get("team-id") {
                Some(t) => Some(parse_uuid("team-id", t)?),
                None => None,
            };
            let store = lock()?;
            let kpi = store.tenant.kpi(kpi_id).ok_or_else(|| Reject {
                status: 404,
                message: format!("no KPI with id {kpi_id}"),
            })?;
            check_range(kpi, from, to, version, quirks.range)?;
            let records = store.range(kpi_id, from, to, team);
            let answer = quirks::answer(quirks, &records, kpi, false);
            Ok((json_response(StatusCode::OK, &answer, media), false))
        }
        ["exchange", "kpi-data", rest @ ..] => {
            allow(&[Method::GET, Method::PUT, Method::DELETE])?;
            if *method == Method::PUT {
                // The media type is checked before the body is looked at.
                let ct = headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                let Some(body_version) = ApiVersion::from_media_type(ct) else {
                    return Err(Reject {
                        status: 415,
                        message: format!(
                            "Content-Type must be {} or {}, not {:?}",
                            ApiVersion::V2.media_type(),
                            ApiVersion::V3.media_type(),
                            ct
                        ),
                    });
                };
                let mut store = lock()?;
                let (key, kpi) = store.resolve(rest)?;
                let kpi = kpi.clone();
                let parsed: RecordBody = serde_json::from_slice(body).map_err(|e| Reject {
                    status: 400,
                    message: format!("the body is not a record: {e}"),
                })?;
                store.check_body(&kpi, &parsed, body_version)?;
                let written = store.put(key, &kpi, &parsed, body_version);
                let record = store.get(key);
                let status = match written {
                    Written::Created => StatusCode::CREATED,
                    Written::Updated => StatusCode::OK,
                };
                let media = if quirks.json_only {
                    Media::Json
                } else {
                    Media::Vendor(body_version)
                };
                return Ok((json_response(status, &record, media), true));
            }
            let mut store = lock()?;
            let (key, kpi) = store.resolve(rest)?;
            if *method == Method::GET {
                let record = store.get(key).ok_or_else(|| Reject {
                    status: 404,
                    message: "no record for that date, team and KPI".into(),
                })?;
                let answer = quirks::answer(quirks, &[record], kpi, true);
                return Ok((json_response(StatusCode::OK, &answer, media), false));
            }
            if store.delete(key) {
                Ok((StatusCode::NO_CONTENT.into_response(), true))
            } else if store.rules.delete_missing_status == 204 {
                Ok((StatusCode::NO_CONTENT.into_response(), false))
            } else {
                Err(Reject {
                    status: 404,
                    message: "no record for that date, team and KPI".into(),
                })
            }
        }
        _ => Err(not_found()),
    }
}

fn log_request(shared: &Shared, method: &Method, uri: &Uri, status: u16, fault: Fault) {
    let Some(log) = &shared.log else { return };
    let line = serde_json::json!({
        "seq": shared.seq.fetch_add(1, Ordering::Relaxed),
        "ms": shared.started.elapsed().as_millis() as u64,
        "method": method.as_str(),
        "path": uri.path(),
        "query": uri.query(),
        "status": status,
        "fault": fault.as_json(),
    });
    if let Ok(mut w) = log.lock() {
        let _ = writeln!(w, "{line}");
    }
}
