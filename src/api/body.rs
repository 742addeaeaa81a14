//! Reading an answer's body within bounds: a server that sends more than vsimport reads for
//! the kind of request (or never stops) is cut off with an error, in bounded memory.

use reqwest::Method;

use super::ApiError;
use super::error::transport;

/// The largest answer read to a GET (a range of records, the catalog): a year of a daily KPI
/// for a hundred teams with every slot filled is under 10 MiB.
pub(crate) const MAX_GET_BODY: usize = 64 << 20;
/// The largest answer read to a PUT or DELETE (the server echoes one record at most).
pub(crate) const MAX_WRITE_BODY: usize = 1 << 20;

/// The answer's body, read up to the limit for its method: a server that sends more (or an
/// endless stream) is cut off with an error, in bounded memory, and not asked again. The whole
/// request, body included, is bounded in time by the client's timeout; headers by hyper's
/// limits; JSON nesting by serde_json's recursion limit (128).
pub(super) async fn bounded_body(
    mut resp: reqwest::Response,
    method: &Method,
    request: impl Fn() -> String,
) -> Result<Vec<u8>, ApiError> {
    let limit = if *method == Method::GET {
        MAX_GET_BODY
    } else {
        MAX_WRITE_BODY
    };
    let too_large = || {
        ApiError::Transport {
        request: request(),
        detail: format!(
            "the answer is larger than {} MiB, more than vsimport reads for a {method}",
            limit >> 20
        ),
        help: Some(
            "is --url the ValueStreamer API? For a range this large, export or import a shorter period".into(),
        ),
        timeout: false,
        retryable: false,
    }
    };
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut buf = Vec::with_capacity(resp.content_length().map_or(0, |n| n as usize));
    while let Some(chunk) = resp.chunk().await.map_err(|e| transport(request(), &e))? {
        if buf.len() + chunk.len() > limit {
            return Err(too_large());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}
