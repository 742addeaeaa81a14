//! Direct HTTP/1.1 connections for the upload's writes: one kept-alive connection per worker,
//! each request one write and its answer parsed in place ([`super::wire`]). The general client
//! (reqwest on hyper) spends about twice the CPU per request on layers a PUT of a small JSON
//! body does not need (redirects, decompression, pooling, a connection task per socket, URL
//! re-parsing); an import sends hundreds of thousands.
//!
//! Same contract as [`Client::put_record`](super::Client::put_record): the same headers, the
//! same errors. Used for plain `http://` and for `https://` (rustls with the platform's
//! certificate verifier, as the general client); when a proxy is configured in the
//! environment, the upload uses the general client instead (it knows proxies).

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderValue;
use reqwest::{Method, Url};

use super::error::{body_message, status_help};
use super::wire::{Head, Wire};
use super::{ApiError, Client, RecordBody, RecordKey};

/// Makes connections to the tenant and sends writes on them. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Direct {
    inner: Arc<Inner>,
}

struct Inner {
    base: Url,
    host: String,
    port: u16,
    authority: HeaderValue,
    auth: HeaderValue,
    media: HeaderValue,
    timeout: Duration,
    connect_timeout: Duration,
    tls: Option<(
        tokio_rustls::TlsConnector,
        rustls::pki_types::ServerName<'static>,
    )>,
}

/// One worker's connection (made on first use, made again after a failure).
#[derive(Default)]
pub(crate) struct Lane {
    wire: Option<Wire>,
}

impl Direct {
    pub(crate) fn new(client: &Client) -> Result<Direct, ApiError> {
        let cfg_err = |message: String| ApiError::Config {
            message,
            help: None,
        };
        let base = client.base_url().clone();
        let host = base
            .host_str()
            .ok_or_else(|| cfg_err(format!("{base} has no host")))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = base
            .port_or_known_default()
            .ok_or_else(|| cfg_err(format!("{base} has no port")))?;
        let authority = match base.port() {
            Some(p) => format!("{}:{p}", base.host_str().unwrap_or_default()),
            None => base.host_str().unwrap_or_default().to_string(),
        };
        let authority = HeaderValue::from_str(&authority)
            .map_err(|_| cfg_err(format!("{authority:?} cannot be sent as a Host header")))?;
        let tls = if base.scheme() == "https" {
            use rustls_platform_verifier::BuilderVerifierExt;
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let mut config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .and_then(|b| b.with_platform_verifier())
                .map_err(|e| cfg_err(format!("cannot set up TLS: {e}")))?
                .with_no_client_auth();
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            let name = rustls::pki_types::ServerName::try_from(host.clone())
                .map_err(|e| cfg_err(format!("{host:?} is not a TLS server name: {e}")))?;
            Some((tokio_rustls::TlsConnector::from(Arc::new(config)), name))
        } else {
            None
        };
        Ok(Direct {
            inner: Arc::new(Inner {
                base,
                host,
                port,
                authority,
                auth: client.auth_header(),
                media: HeaderValue::from_static(client.version().media_type()),
                timeout: client.timeout(),
                connect_timeout: client.connect_timeout(),
                tls,
            }),
        })
    }

    /// `PUT` one record, once. Returns the HTTP status.
    pub(crate) async fn put_record(
        &self,
        lane: &mut Lane,
        key: &RecordKey,
        body: &RecordBody,
    ) -> Result<u16, ApiError> {
        let path = key.path();
        let json = serde_json::to_vec(body).map_err(|e| ApiError::Config {
            message: format!("cannot encode the body of PUT {path}: {e}"),
            help: None,
        })?;
        self.send(lane, Method::PUT, &path, Some(json), false)
            .await
            .map(|s| s.unwrap_or(200))
    }

    /// `DELETE` one record, once. `Ok(false)` when the server had no such record (404).
    pub(crate) async fn delete_record(
        &self,
        lane: &mut Lane,
        key: &RecordKey,
    ) -> Result<bool, ApiError> {
        Ok(self
            .send(lane, Method::DELETE, &key.path(), None, true)
            .await?
            .is_some())
    }

    fn describe(&self, method: &Method, path: &str) -> String {
        format!("{method} {}{path}", self.inner.base)
    }

    fn transport(
        &self,
        method: &Method,
        path: &str,
        detail: String,
        timeout: bool,
        tls: bool,
    ) -> ApiError {
        let help = if timeout {
            Some(
                "the server did not answer in time: raise --timeout or try again later".to_string(),
            )
        } else if tls {
            Some("the TLS handshake failed: the server does not speak https on that port, or its certificate is not trusted by this machine (verification cannot be turned off)".to_string())
        } else {
            None
        };
        ApiError::Transport {
            request: self.describe(method, path),
            detail,
            help,
            timeout,
            retryable: !tls,
        }
    }

    async fn connect(&self, method: &Method, path: &str) -> Result<Wire, ApiError> {
        let i = &self.inner;
        let tcp = tokio::time::timeout(
            i.connect_timeout,
            tokio::net::TcpStream::connect((i.host.as_str(), i.port)),
        )
        .await
        .map_err(|_| self.transport(method, path, "connecting timed out".into(), true, false))?
        .map_err(|e| self.transport(method, path, format!("cannot connect: {e}"), false, false))?;
        let _ = tcp.set_nodelay(true);
        match &i.tls {
            None => Ok(Wire::new(Box::new(tcp))),
            Some((connector, name)) => {
                let stream = connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| self.transport(method, path, format!("TLS: {e}"), false, true))?;
                Ok(Wire::new(Box::new(stream)))
            }
        }
    }

    /// Sends one request on the lane's connection; `Ok(None)` for an allowed 404.
    async fn send(
        &self,
        lane: &mut Lane,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        allow_404: bool,
    ) -> Result<Option<u16>, ApiError> {
        let i = &self.inner;
        let target = format!("{}{path}", i.base.path());
        let user_agent = concat!("vsimport/", env!("CARGO_PKG_VERSION")).as_bytes();
        let with_body = [
            ("Authorization", i.auth.as_bytes()),
            ("Accept", i.media.as_bytes()),
            ("User-Agent", user_agent),
            ("Content-Type", i.media.as_bytes()),
        ];
        let head = Head {
            method: method.as_str(),
            path: &target,
            host: i.authority.as_bytes(),
            headers: if body.is_some() {
                &with_body
            } else {
                &with_body[..3]
            },
        };
        let attempt = async {
            let mut wire = match lane.wire.take() {
                Some(w) => w,
                None => self.connect(&method, path).await?,
            };
            tracing::debug!(%method, path, "sending");
            let answer = wire
                .exchange(&head, body.as_deref())
                .await
                .map_err(|e| self.transport(&method, path, e.to_string(), false, false))?;
            if answer.keep {
                lane.wire = Some(wire);
            }
            Ok::<_, ApiError>(answer)
        };
        let answer = match tokio::time::timeout(i.timeout, attempt).await {
            Ok(r) => r?,
            Err(_) => {
                return Err(self.transport(
                    &method,
                    path,
                    "operation timed out".into(),
                    true,
                    false,
                ));
            }
        };
        let status = answer.status;
        tracing::debug!(%method, path, status, "answered");
        if (200..300).contains(&status) {
            return Ok(Some(status));
        }
        if allow_404 && status == 404 {
            return Ok(None);
        }
        Err(ApiError::Status {
            request: self.describe(&method, path),
            status,
            message: body_message(&String::from_utf8_lossy(&answer.body)),
            help: status_help(status),
            retry_after: answer.retry_after.map(Duration::from_secs),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ClientConfig;
    use secrecy::SecretString;

    #[tokio::test]
    async fn tls_to_a_server_that_does_not_speak_it_is_a_permanent_error() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                use tokio::io::AsyncWriteExt;
                let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
            }
        });
        let client = Client::new(&ClientConfig::new(
            format!("https://127.0.0.1:{port}/api"),
            "u",
            SecretString::from("p"),
        ))
        .unwrap();
        let direct = Direct::new(&client).unwrap();
        let key = RecordKey {
            date: chrono::NaiveDate::from_ymd_opt(2025, 1, 6).unwrap(),
            team: uuid::Uuid::nil(),
            kpi: uuid::Uuid::nil(),
            sub_tile: None,
        };
        let err = direct
            .put_record(&mut Lane::default(), &key, &RecordBody { values: vec![] })
            .await
            .unwrap_err();
        assert!(!err.is_retryable(), "{err:?}");
        assert!(err.to_string().contains("TLS"), "{err}");
    }

    #[tokio::test]
    async fn writes_and_deletes_on_the_emulator() {
        let tenant = crate::emulator::store::Tenant::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/samples/catalog.json"
        )))
        .unwrap();
        let kpi = tenant.catalog.kpis[0].clone();
        let opts = crate::emulator::Options {
            user: "u".into(),
            password: SecretString::from("p"),
            ..Default::default()
        };
        let running = crate::emulator::start(tenant, opts).await.unwrap();
        let client = Client::new(&ClientConfig::new(
            running.base_url(),
            "u",
            SecretString::from("p"),
        ))
        .unwrap();
        let direct = Direct::new(&client).unwrap();
        let mut lane = Lane::default();
        let key = RecordKey {
            date: chrono::NaiveDate::from_ymd_opt(2025, 1, 6).unwrap(),
            team: kpi.recording_teams[0].id,
            kpi: kpi.id,
            sub_tile: None,
        };
        let body = RecordBody {
            values: vec![crate::api::RecordValue {
                kpi_value_id: kpi.kpi_values[0].id,
                value: 85.into(),
                forecast: false,
            }],
        };
        assert_eq!(
            direct.put_record(&mut lane, &key, &body).await.unwrap(),
            201
        );
        assert_eq!(
            direct.put_record(&mut lane, &key, &body).await.unwrap(),
            200
        );
        assert_eq!(running.record_count(), 1);
        assert!(direct.delete_record(&mut lane, &key).await.unwrap());
        assert!(!direct.delete_record(&mut lane, &key).await.unwrap());
        // A rejected body: the server's status and message.
        let bad = RecordBody { values: vec![] };
        let err = direct.put_record(&mut lane, &key, &bad).await.unwrap_err();
        assert_eq!(err.status(), Some(400), "{err}");
        // Wrong credentials: 401, named.
        let wrong = Client::new(&ClientConfig::new(
            running.base_url(),
            "u",
            SecretString::from("x"),
        ))
        .unwrap();
        let err = Direct::new(&wrong)
            .unwrap()
            .put_record(&mut Lane::default(), &key, &body)
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(401));
        running.shutdown().await.unwrap();
    }
}
