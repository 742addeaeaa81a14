//! The HTTP client: one pooled `reqwest::Client`, Basic Auth on every request, the vendor
//! media type, timeouts, and errors that name the request. Every request goes through the
//! client's one [`Limiter`] (concurrency, rate, pauses) and its one [`RetryPolicy`].

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use chrono::NaiveDate;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::base_url::parse_base_url;
use super::error::{body_message, retry_after, snippet, status_help, transport};
use super::limit::{Limiter, Limits, Signal, Tally};
use super::retry::Tried;
use super::{
    ApiError, ApiVersion, Catalog, KpiDetail, KpiMeta, Named, Record, RecordBody, RecordKey,
    RetryPolicy,
};
use secrecy::{ExposeSecret, SecretString};

/// Everything needed to reach one tenant.
#[derive(Debug, Clone)]
pub(crate) struct ClientConfig {
    /// The API base, e.g. `https://api-acme.valuestreamer.de/api` (a trailing slash is fine).
    pub(crate) base_url: String,
    pub(crate) user: String,
    pub(crate) password: SecretString,
    pub(crate) version: ApiVersion,
    /// Permit plain `http://` to a host that is not loopback.
    pub(crate) allow_http: bool,
    /// Whole-request timeout.
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    /// Retries of every request.
    pub(crate) retry: RetryPolicy,
    /// Concurrency and rate of every request.
    pub(crate) limits: Limits,
    /// Proxies (from the environment, resolved by the settings).
    pub(crate) proxy: Proxies,
    /// The `Accept` header of every request (`*/*` unless set: docs/API-NOTES.md).
    pub(crate) accept: String,
    /// Another name the server gives the sub-tiles of a KPI detail (and of a record).
    pub(crate) sub_tiles_field: Option<String>,
    /// Stops every request of the client when cancelled (the process's Ctrl-C).
    pub(crate) stop: Option<CancellationToken>,
}

impl ClientConfig {
    pub(crate) fn new(
        base_url: impl Into<String>,
        user: impl Into<String>,
        password: SecretString,
    ) -> Self {
        ClientConfig {
            base_url: base_url.into(),
            user: user.into(),
            password,
            version: ApiVersion::V2,
            allow_http: false,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            limits: Limits::default(),
            proxy: Proxies::default(),
            accept: "*/*".to_string(),
            sub_tiles_field: None,
            stop: None,
        }
    }
}

/// A client for one tenant. Cheap to clone: clones share the connection pool.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    /// Always ends in `/`, so relative paths join below it.
    base: Url,
    /// `Authorization: Basic …`, encoded once and marked sensitive (never logged).
    auth: HeaderValue,
    accept: HeaderValue,
    sub_tiles_field: Option<String>,
    version: ApiVersion,
    retry: RetryPolicy,
    limiter: Limiter,
    concurrency: usize,
    /// Cancelled when the run stops (Ctrl-C): waits end, nothing more is sent.
    stop: CancellationToken,
    /// The server has answered a request (any status). Until it has, a connection refused
    /// or timed out is not retried: a wrong URL or a server that holds connections without
    /// answering is said at once, not after minutes of retries.
    answered: std::sync::atomic::AtomicBool,
    timeout: Duration,
    connect_timeout: Duration,
    /// Takes the credentials out of server text before it is shown or stored.
    scrub: super::scrub::Scrub,
}

/// Proxies for the requests: `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` as the
/// settings found them. Loopback is never proxied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Proxies {
    pub http: Option<String>,
    pub https: Option<String>,
    pub all: Option<String>,
    pub no_proxy: Option<String>,
}

impl Proxies {
    fn apply(&self, mut b: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder, ApiError> {
        // The environment was read once, by the settings: the client does not look again.
        b = b.no_proxy();
        let no_proxy = {
            let mut list = String::from("localhost,127.0.0.1,::1");
            if let Some(n) = &self.no_proxy {
                list.push(',');
                list.push_str(n);
            }
            reqwest::NoProxy::from_string(&list)
        };
        let bad = |which: &str| ApiError::Config {
            message: format!("the {which} proxy setting is not a URL"),
            help: Some(format!("check {which} in the environment")),
        };
        for (which, url) in [
            ("HTTP_PROXY", &self.http),
            ("HTTPS_PROXY", &self.https),
            ("ALL_PROXY", &self.all),
        ] {
            let Some(u) = url else { continue };
            let p = match which {
                "HTTP_PROXY" => reqwest::Proxy::http(u.as_str()),
                "HTTPS_PROXY" => reqwest::Proxy::https(u.as_str()),
                _ => reqwest::Proxy::all(u.as_str()),
            };
            b = b.proxy(p.map_err(|_| bad(which))?.no_proxy(no_proxy.clone()));
        }
        Ok(b)
    }
}

/// What one attempt's result means for the limit.
fn signal<T>(r: &Result<T, ApiError>, policy: &RetryPolicy) -> Signal {
    match r {
        Ok(_) => Signal::Answered,
        Err(e) if e.is_throttle() => Signal::Throttled(e.retry_after().map(|d| policy.capped(d))),
        Err(ApiError::Status { .. }) => Signal::Answered,
        Err(_) => Signal::NoAnswer,
    }
}

impl Client {
    pub(crate) fn new(cfg: &ClientConfig) -> Result<Self, ApiError> {
        let base = parse_base_url(&cfg.base_url, cfg.allow_http)?;
        let builder = reqwest::Client::builder()
            .user_agent(concat!("vsimport/", env!("CARGO_PKG_VERSION")))
            .timeout(cfg.timeout)
            .connect_timeout(cfg.connect_timeout)
            // An API answers, it does not redirect; following one would also cost every
            // request a redirect-policy layer.
            .redirect(reqwest::redirect::Policy::none())
            // Retries are ours (backoff, Retry-After, attempt counts in the report).
            .retry(reqwest::retry::never())
            .pool_max_idle_per_host(cfg.limits.concurrency.max(64))
            .tcp_nodelay(true);
        let http = cfg
            .proxy
            .apply(builder)?
            .build()
            .map_err(|e| ApiError::Config {
                message: format!("cannot set up the HTTP client: {e}"),
                help: None,
            })?;
        let credentials =
            zeroize::Zeroizing::new(format!("{}:{}", cfg.user, cfg.password.expose_secret()));
        let encoded = zeroize::Zeroizing::new(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials.as_bytes())
        ));
        let mut auth = HeaderValue::from_str(&encoded).map_err(|_| ApiError::Config {
            message: "the user name or password holds characters that cannot be sent".into(),
            help: Some("use a user name and password without control characters".into()),
        })?;
        auth.set_sensitive(true);
        let scrub = super::scrub::Scrub::new(&encoded, &credentials, cfg.password.expose_secret());
        let accept = HeaderValue::from_str(cfg.accept.trim()).map_err(|_| ApiError::Config {
            message: format!("--accept {:?} cannot be sent as a header", cfg.accept),
            help: Some("give a media type, e.g. application/json or */*".into()),
        })?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                auth,
                accept,
                sub_tiles_field: cfg.sub_tiles_field.clone(),
                version: cfg.version,
                retry: cfg.retry,
                limiter: Limiter::new(cfg.limits),
                concurrency: cfg.limits.concurrency.max(1),
                stop: cfg.stop.clone().unwrap_or_default(),
                answered: std::sync::atomic::AtomicBool::new(false),
                timeout: cfg.timeout,
                connect_timeout: cfg.connect_timeout,
                scrub,
            }),
        })
    }

    /// Stops the client: waits end at once, and no request is sent any more.
    pub(crate) fn stop_token(&self) -> CancellationToken {
        self.inner.stop.clone()
    }

    /// Requests, retries and throttling answers so far.
    pub(crate) fn tally(&self) -> Tally {
        self.inner.limiter.tally()
    }

    /// The configured concurrency (the adaptive limit's ceiling).
    pub(crate) fn concurrency(&self) -> usize {
        self.inner.concurrency
    }

    /// Requests waiting to be tried again, shared by everything this client sends.
    pub(crate) fn waiting(&self) -> Arc<super::retry::Waiting> {
        self.inner.limiter.waiting.clone()
    }

    /// The lowest the adaptive concurrency went.
    pub(crate) fn min_concurrency(&self) -> usize {
        self.inner.limiter.min_seen()
    }

    /// One request (`op` makes one attempt) through the limit and the retry policy; `stop`
    /// ends the waits and the retries.
    pub(crate) async fn tried<T, F, Fut>(&self, stop: &CancellationToken, mut op: F) -> Tried<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, ApiError>>,
    {
        let limiter = &self.inner.limiter;
        let policy = &self.inner.retry;
        let tried = policy
            .run(stop, Some(limiter.waiting.clone()), || {
                let attempt = op();
                async move {
                    if stop.is_cancelled() {
                        return Err(ApiError::Stopped);
                    }
                    let permit = tokio::select! {
                        p = limiter.acquire() => p,
                        _ = stop.cancelled() => return Err(ApiError::Stopped),
                    };
                    let r = attempt.await;
                    permit.done(signal(&r, policy));
                    r
                }
            })
            .await;
        let retries = u64::from(tried.attempts.saturating_sub(1));
        limiter
            .counters
            .retries
            .fetch_add(retries, std::sync::atomic::Ordering::Relaxed);
        tried
    }

    pub(crate) fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// The base URL with `path` (segments separated by `/`) appended, without parsing a
    /// whole URL again (one is built per request).
    fn url(&self, path: &str) -> Result<Url, ApiError> {
        let mut url = self.inner.base.clone();
        match url.path_segments_mut() {
            Ok(mut segs) => {
                segs.pop_if_empty().extend(path.split('/'));
            }
            Err(()) => {
                return Err(ApiError::Config {
                    message: format!("cannot build a URL for {path} below {}", self.inner.base),
                    help: None,
                });
            }
        }
        Ok(url)
    }

    /// Sends one request, once, and returns status and body text. Non-2xx becomes
    /// `ApiError::Status` unless `allow_404` and the status is 404 (then `Ok(None)`).
    async fn once(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&RecordBody>,
        allow_404: bool,
    ) -> Result<Option<(StatusCode, String)>, ApiError> {
        let url = self.url(path)?;
        // Named in errors and debug logs only, so built only then.
        let request = || describe(&method, &url, query);
        // The body is sent as the documented vendor type; the answer is accepted as the
        // settings say (any, by default).
        let media = HeaderValue::from_static(self.inner.version.media_type());
        let mut req = self
            .inner
            .http
            .request(method.clone(), url.clone())
            .header(AUTHORIZATION, self.inner.auth.clone())
            .header(ACCEPT, self.inner.accept.clone());
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(b) = body {
            let json = serde_json::to_vec(b).map_err(|e| ApiError::Config {
                message: format!("cannot encode the body of {}: {e}", request()),
                help: None,
            })?;
            req = req.header(CONTENT_TYPE, media).body(json);
        }
        tracing::debug!(%method, %url, "sending");
        let resp = match req.send().await {
            Ok(r) => {
                self.inner
                    .answered
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                r
            }
            Err(e) => {
                let err = transport(request(), &e);
                if self
                    .inner
                    .answered
                    .load(std::sync::atomic::Ordering::Relaxed)
                {
                    return Err(err);
                }
                return Err(super::error::first_contact(
                    err,
                    &e,
                    self.inner.timeout,
                    self.inner.connect_timeout,
                ));
            }
        };
        let status = resp.status();
        let retry_after = retry_after(resp.headers());
        let bytes = super::body::bounded_body(resp, &method, request).await?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        tracing::debug!(%method, %url, status = status.as_u16(), "answered");
        if status.is_success() {
            return Ok(Some((status, text)));
        }
        if allow_404 && status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let help = if status == StatusCode::NOT_ACCEPTABLE {
            Some(format!(
                "the server does not answer with a type the Accept header {:?} allows: try --accept '*/*', --accept application/json or --accept {}",
                self.inner.accept.to_str().unwrap_or("?"),
                self.inner.version.media_type()
            ))
        } else {
            status_help(status.as_u16())
        };
        Err(ApiError::Status {
            request: request(),
            status: status.as_u16(),
            message: self.inner.scrub.clean(&body_message(&text)),
            help,
            retry_after,
        })
    }

    /// A GET answer as JSON, whatever its shape.
    async fn get_value(
        &self,
        path: &str,
        query: &[(&str, String)],
        allow_404: bool,
    ) -> Result<Option<serde_json::Value>, ApiError> {
        self.get_json(path, query, allow_404).await
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        allow_404: bool,
    ) -> Result<Option<T>, ApiError> {
        let tried = self
            .tried(&self.inner.stop, || {
                self.once(Method::GET, path, query, None, allow_404)
            })
            .await;
        let Some((_, text)) = tried.result.map_err(|e| e.after_attempts(tried.attempts))? else {
            return Ok(None);
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| ApiError::Decode {
                request: describe(
                    &Method::GET,
                    &self.url(path).unwrap_or_else(|_| self.inner.base.clone()),
                    query,
                ),
                detail: if looks_like_html(&text) {
                    "an HTML page came back".to_string()
                } else {
                    e.to_string()
                },
                help: ApiError::decode_help(
                    looks_like_html(&text) || !text.trim_start().starts_with(['[', '{']),
                    &self.inner.scrub.clean(&snippet(&text, 120)),
                ),
            })
    }

    /// `GET /exchange/kpi`: every KPI's id and name.
    pub(crate) async fn list_kpis(&self) -> Result<Vec<KpiMeta>, ApiError> {
        Ok(self
            .get_json("exchange/kpi", &[], false)
            .await?
            .unwrap_or_default())
    }

    /// `GET /exchange/kpi/{id}`.
    pub(crate) async fn kpi(&self, id: Uuid) -> Result<KpiDetail, ApiError> {
        let path = format!("exchange/kpi/{id}");
        let mut v = self
            .get_value(&path, &[], false)
            .await?
            .ok_or_else(|| ApiError::Config {
                message: format!("GET {path} answered nothing"),
                help: None,
            })?;
        // Sub-tiles under a configured name.
        if let (Some(field), serde_json::Value::Object(o)) = (&self.inner.sub_tiles_field, &mut v)
            && let Some(tiles) = o.remove(field)
        {
            o.insert("subTiles".into(), tiles);
        }
        serde_json::from_value(v.clone()).map_err(|e| ApiError::Decode {
            request: format!(
                "GET {}",
                self.url(&path).unwrap_or_else(|_| self.inner.base.clone())
            ),
            detail: e.to_string(),
            help: ApiError::decode_help(
                false,
                &self.inner.scrub.clean(&snippet(&v.to_string(), 120)),
            ),
        })
    }

    /// The whole catalog: the KPI list, then every KPI's details (as many at once as the
    /// limit allows). Teams are the union of the KPIs' recording teams. KPIs come back in list
    /// order.
    pub(crate) async fn catalog(&self) -> Result<Catalog, ApiError> {
        let metas = self.list_kpis().await?;
        let mut set = JoinSet::new();
        for (i, meta) in metas.iter().enumerate() {
            let client = self.clone();
            let id = meta.id;
            set.spawn(async move { (i, client.kpi(id).await) });
        }
        let mut details: Vec<Option<KpiDetail>> = vec![None; metas.len()];
        while let Some(joined) = set.join_next().await {
            let (i, res) = joined.map_err(|e| ApiError::Config {
                message: format!("a catalog request task failed: {e}"),
                help: None,
            })?;
            details[i] = Some(res?);
        }
        let kpis: Vec<KpiDetail> = details.into_iter().flatten().collect();
        let mut teams: Vec<Named> = Vec::new();
        for k in &kpis {
            for t in &k.recording_teams {
                if !teams.iter().any(|x| x.id == t.id) {
                    teams.push(t.clone());
                }
            }
        }
        Ok(Catalog { teams, kpis })
    }

    /// `GET /exchange/kpi-data` for one KPI over any range: the range is split into windows
    /// that respect the interval's limit, fetched one after another, and the records are
    /// returned newest first.
    pub(crate) async fn records(
        &self,
        kpi: &KpiDetail,
        team: Option<Uuid>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Record>, ApiError> {
        let mut all = Vec::new();
        for (start, end) in kpi.interval().windows(from, to) {
            all.extend(self.records_window(kpi.id, team, start, end).await?);
        }
        all.sort_by_key(|r| std::cmp::Reverse(r.date));
        Ok(all)
    }

    /// `GET /exchange/kpi-data` for one window. A server that refuses the range (400, a
    /// stricter reading of the limits than ours) is asked again for each half, down to one
    /// day.
    pub(crate) async fn records_window(
        &self,
        kpi: Uuid,
        team: Option<Uuid>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Record>, ApiError> {
        match self.records_once(kpi, team, from, to).await {
            Err(e) if e.status() == Some(400) && from < to => {
                let mid = from + (to - from) / 2;
                tracing::debug!(%from, %to, "the server refused the range; asking for halves");
                let mut recs = Box::pin(self.records_window(kpi, team, from, mid)).await?;
                let next = mid.succ_opt().unwrap_or(to);
                recs.extend(Box::pin(self.records_window(kpi, team, next, to)).await?);
                Ok(recs)
            }
            r => r,
        }
    }

    /// One `GET /exchange/kpi-data` call.
    async fn records_once(
        &self,
        kpi: Uuid,
        team: Option<Uuid>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Record>, ApiError> {
        let mut query = vec![
            ("kpi-id", kpi.to_string()),
            ("from", from.format("%Y-%m-%d").to_string()),
            ("to", to.format("%Y-%m-%d").to_string()),
        ];
        if let Some(t) = team {
            query.push(("team-id", t.to_string()));
        }
        let path = "exchange/kpi-data";
        let mut recs = match self.get_value(path, &query, false).await? {
            Some(v) => super::lenient::records(&v, self.inner.sub_tiles_field.as_deref())
                .map_err(|detail| self.shape_error(path, &query, detail, &v))?,
            None => Vec::new(),
        };
        // The key fields are not in the public schema: fill what the query implies.
        for r in &mut recs {
            r.kpi_id.get_or_insert(kpi);
            if let Some(t) = team {
                r.team_id.get_or_insert(t);
            }
        }
        Ok(recs)
    }

    /// `GET /exchange/kpi-data/{date}/{team}/{kpi}[/{sub-tile}]`; `None` when there is none.
    pub(crate) async fn record(&self, key: &RecordKey) -> Result<Option<Record>, ApiError> {
        let path = key.path();
        match self.get_value(&path, &[], true).await? {
            Some(v) => super::lenient::record(&v, self.inner.sub_tiles_field.as_deref())
                .map(Some)
                .map_err(|detail| self.shape_error(&path, &[], detail, &v)),
            None => Ok(None),
        }
    }

    /// An answer that is JSON but not the shape of a record.
    fn shape_error(
        &self,
        path: &str,
        query: &[(&str, String)],
        detail: String,
        v: &serde_json::Value,
    ) -> ApiError {
        ApiError::Decode {
            request: describe(
                &Method::GET,
                &self.url(path).unwrap_or_else(|_| self.inner.base.clone()),
                query,
            ),
            detail,
            help: ApiError::decode_help(
                false,
                &self.inner.scrub.clean(&snippet(&v.to_string(), 120)),
            ),
        }
    }

    /// `PUT` one record, once. Returns the HTTP status.
    pub(crate) async fn put_record_once(
        &self,
        key: &RecordKey,
        body: &RecordBody,
    ) -> Result<u16, ApiError> {
        let res = self
            .once(Method::PUT, &key.path(), &[], Some(body), false)
            .await?;
        Ok(res.map(|(s, _)| s.as_u16()).unwrap_or(200))
    }

    /// `DELETE` one record, once. `Ok(false)` when the server had no such record (404).
    pub(crate) async fn delete_record_once(&self, key: &RecordKey) -> Result<bool, ApiError> {
        Ok(self
            .once(Method::DELETE, &key.path(), &[], None, true)
            .await?
            .is_some())
    }
}

fn looks_like_html(text: &str) -> bool {
    let head: String = text
        .trim_start()
        .chars()
        .take(15)
        .collect::<String>()
        .to_lowercase();
    head.starts_with("<!doctype html") || head.starts_with("<html")
}

/// `GET https://host/api/exchange/kpi-data?kpi-id=…` (the query is shown, it holds no secret).
fn describe(method: &Method, url: &Url, query: &[(&str, String)]) -> String {
    let mut s = format!("{method} {url}");
    for (i, (k, v)) in query.iter().enumerate() {
        s.push(if i == 0 { '?' } else { '&' });
        s.push_str(k);
        s.push('=');
        s.push_str(v);
    }
    s
}
