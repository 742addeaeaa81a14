//! How the emulator answers: the credential check, JSON bodies with their media type, and
//! error bodies (`{"status", "error", "message"}`, an assumed shape).

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use secrecy::ExposeSecret;

use super::Options;
use super::store::Reject;
use crate::api::ApiVersion;

pub(super) fn error_response(status: u16, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::json!({
        "status": status,
        "error": code.canonical_reason().unwrap_or(""),
        "message": message,
    });
    let mut resp = (code, axum::Json(body)).into_response();
    if status == 401 {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"ValueStreamer\""),
        );
    }
    resp
}

/// The media type of an answer: the vendor type of the version asked for, or plain JSON.
#[derive(Clone, Copy)]
pub(super) enum Media {
    Vendor(ApiVersion),
    Json,
}

impl Media {
    fn as_str(self) -> &'static str {
        match self {
            Media::Vendor(v) => v.media_type(),
            Media::Json => "application/json",
        }
    }
}

pub(super) fn json_response(
    status: StatusCode,
    value: &impl serde::Serialize,
    media: Media,
) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => {
            let mut resp = (status, Body::from(bytes)).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(media.as_str()),
            );
            resp
        }
        Err(e) => error_response(500, &format!("cannot encode the answer: {e}")),
    }
}

pub(super) fn authenticate(opts: &Options, headers: &HeaderMap) -> Result<(), Reject> {
    let unauthorized = |m: &str| Reject {
        status: 401,
        message: m.to_string(),
    };
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| unauthorized("authentication required (HTTP Basic)"))?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
        .ok_or_else(|| unauthorized("only HTTP Basic authentication is supported"))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .map(zeroize::Zeroizing::new)
        .ok_or_else(|| unauthorized("malformed Basic credentials"))?;
    let (user, pass) = decoded
        .split_once(':')
        .ok_or_else(|| unauthorized("malformed Basic credentials"))?;
    if same(user, &opts.user) & same(pass, opts.password.expose_secret()) {
        return Ok(());
    }
    if let Some((fu, fp)) = &opts.forbidden_user
        && same(user, fu) & same(pass, fp.expose_secret())
    {
        return Err(Reject {
            status: 403,
            message: format!("user {user:?} lacks the API permission"),
        });
    }
    Err(unauthorized("bad credentials"))
}

/// Compares credentials in time that does not depend on where they first differ.
fn same(given: &str, expected: &str) -> bool {
    use subtle::ConstantTimeEq;
    bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}
