//! HTTP/1.1 on one kept-alive connection, for the upload's writes: the request is formatted
//! into a reused buffer and written at once; the answer's head is parsed with `httparse`,
//! its body framed by `Content-Length`, `chunked` transfer coding, or the end of the
//! connection. No pooling, redirects, compression or upgrades: the writes need none, and
//! without them a request costs about half the CPU of hyper's client dispatcher.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A socket, plain or TLS.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// One connection with its buffers.
pub(crate) struct Wire {
    io: Box<dyn Io>,
    out: Vec<u8>,
    buf: Vec<u8>,
}

/// An answer.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) retry_after: Option<u64>,
    pub(crate) body: Vec<u8>,
    /// The connection can carry the next request.
    pub(crate) keep: bool,
}

/// What went wrong on the wire.
#[derive(Debug)]
pub(crate) enum WireError {
    Io(std::io::Error),
    /// The connection closed before any byte of the answer (on a kept connection, the server
    /// may have closed it while idle; the engine retries on a new connection).
    Closed,
    /// Not an HTTP/1.x answer, or a broken body.
    Bad(String),
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::Io(e) => write!(f, "{e}"),
            WireError::Closed => write!(f, "connection closed before message completed"),
            WireError::Bad(m) => write!(f, "bad answer: {m}"),
        }
    }
}

impl From<std::io::Error> for WireError {
    fn from(e: std::io::Error) -> Self {
        WireError::Io(e)
    }
}

/// A request head's fixed parts.
pub(crate) struct Head<'a> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) host: &'a [u8],
    pub(crate) headers: &'a [(&'a str, &'a [u8])],
}

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 16 * 1024 * 1024;

impl Wire {
    pub(crate) fn new(io: Box<dyn Io>) -> Wire {
        Wire {
            io,
            out: Vec::with_capacity(1024),
            buf: Vec::with_capacity(4096),
        }
    }

    /// Sends one request and reads its answer.
    pub(crate) async fn exchange(
        &mut self,
        head: &Head<'_>,
        body: Option<&[u8]>,
    ) -> Result<Answer, WireError> {
        self.out.clear();
        let o = &mut self.out;
        o.extend_from_slice(head.method.as_bytes());
        o.push(b' ');
        o.extend_from_slice(head.path.as_bytes());
        o.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        o.extend_from_slice(head.host);
        for (name, value) in head.headers {
            o.extend_from_slice(b"\r\n");
            o.extend_from_slice(name.as_bytes());
            o.extend_from_slice(b": ");
            o.extend_from_slice(value);
        }
        if let Some(b) = body {
            o.extend_from_slice(b"\r\nContent-Length: ");
            o.extend_from_slice(b.len().to_string().as_bytes());
        }
        o.extend_from_slice(b"\r\n\r\n");
        if let Some(b) = body {
            o.extend_from_slice(b);
        }
        self.io.write_all(&self.out).await?;
        self.io.flush().await?;
        self.buf.clear();
        self.read_answer(head.method == "HEAD").await
    }

    /// Reads more bytes into the buffer; `Ok(0)` at the end of the connection.
    async fn fill(&mut self) -> Result<usize, WireError> {
        let mut chunk = [0u8; 8192];
        let n = self.io.read(&mut chunk).await?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    async fn read_answer(&mut self, head_only: bool) -> Result<Answer, WireError> {
        loop {
            // The head (1xx interim answers are skipped).
            let (len, status, version, length, chunked, close, retry_after) = loop {
                let mut headers = [httparse::EMPTY_HEADER; 64];
                let mut resp = httparse::Response::new(&mut headers);
                match resp.parse(&self.buf) {
                    Ok(httparse::Status::Complete(len)) => {
                        let status = resp.code.unwrap_or(0);
                        let mut length = None;
                        let (mut chunked, mut close, mut retry_after) = (false, false, None);
                        for h in resp.headers.iter() {
                            let value = std::str::from_utf8(h.value).unwrap_or("").trim();
                            if h.name.eq_ignore_ascii_case("content-length") {
                                length = Some(value.parse::<usize>().map_err(|_| {
                                    WireError::Bad(format!("Content-Length {value:?}"))
                                })?);
                            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                                chunked = value
                                    .rsplit(',')
                                    .next()
                                    .is_some_and(|c| c.trim().eq_ignore_ascii_case("chunked"));
                            } else if h.name.eq_ignore_ascii_case("connection") {
                                close = value
                                    .split(',')
                                    .any(|c| c.trim().eq_ignore_ascii_case("close"));
                            } else if h.name.eq_ignore_ascii_case("retry-after") {
                                retry_after = value.parse::<u64>().ok();
                            }
                        }
                        break (
                            len,
                            status,
                            resp.version,
                            length,
                            chunked,
                            close,
                            retry_after,
                        );
                    }
                    Ok(httparse::Status::Partial) => {
                        if self.buf.len() > MAX_HEAD {
                            return Err(WireError::Bad("the answer's head is too long".into()));
                        }
                        if self.fill().await? == 0 {
                            return Err(if self.buf.is_empty() {
                                WireError::Closed
                            } else {
                                WireError::Bad("the connection closed in the answer's head".into())
                            });
                        }
                    }
                    Err(e) => return Err(WireError::Bad(format!("not an HTTP answer ({e})"))),
                }
            };
            self.buf.drain(..len);
            if (100..200).contains(&status) && status != 101 {
                continue;
            }
            let keep_alive_default = version == Some(1);
            let no_body =
                head_only || status == 204 || status == 304 || (100..200).contains(&status);
            let mut keep = keep_alive_default && !close;
            let body = if no_body {
                Vec::new()
            } else if chunked {
                self.read_chunked().await?
            } else if let Some(n) = length {
                if n > MAX_BODY {
                    return Err(WireError::Bad(format!("a body of {n} bytes")));
                }
                while self.buf.len() < n {
                    if self.fill().await? == 0 {
                        return Err(WireError::Bad("the connection closed in the body".into()));
                    }
                }
                self.buf.drain(..n).collect()
            } else {
                // Delimited by the end of the connection.
                while self.fill().await? > 0 {
                    if self.buf.len() > MAX_BODY {
                        return Err(WireError::Bad("the body is too long".into()));
                    }
                }
                keep = false;
                std::mem::take(&mut self.buf)
            };
            return Ok(Answer {
                status,
                retry_after,
                body,
                keep,
            });
        }
    }

    async fn read_chunked(&mut self) -> Result<Vec<u8>, WireError> {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(i) = memchr::memmem::find(&self.buf, b"\r\n") {
                    break i;
                }
                if self.buf.len() > MAX_HEAD || self.fill().await? == 0 {
                    return Err(WireError::Bad("a broken chunk".into()));
                }
            };
            let line = std::str::from_utf8(&self.buf[..line_end]).unwrap_or("");
            let size_text = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| WireError::Bad(format!("chunk size {size_text:?}")))?;
            self.buf.drain(..line_end + 2);
            if size == 0 {
                // Trailers, up to an empty line.
                loop {
                    if let Some(i) = memchr::memmem::find(&self.buf, b"\r\n") {
                        self.buf.drain(..i + 2);
                        if i == 0 {
                            return Ok(body);
                        }
                        continue;
                    }
                    if self.buf.len() > MAX_HEAD || self.fill().await? == 0 {
                        return Err(WireError::Bad("broken trailers".into()));
                    }
                }
            }
            if body.len() + size > MAX_BODY {
                return Err(WireError::Bad("the body is too long".into()));
            }
            while self.buf.len() < size + 2 {
                if self.fill().await? == 0 {
                    return Err(WireError::Bad("the connection closed in a chunk".into()));
                }
            }
            body.extend_from_slice(&self.buf[..size]);
            if &self.buf[size..size + 2] != b"\r\n" {
                return Err(WireError::Bad("a chunk without its line end".into()));
            }
            self.buf.drain(..size + 2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs one exchange against a server that answers `answer` (and reads the request).
    async fn against(answer: &'static [u8]) -> (Result<Answer, WireError>, Vec<u8>) {
        let (client, mut server) = tokio::io::duplex(64 * 1024);
        let srv = tokio::spawn(async move {
            let mut req = vec![0u8; 4096];
            let n = server.read(&mut req).await.unwrap();
            server.write_all(answer).await.unwrap();
            drop(server);
            req.truncate(n);
            req
        });
        let mut w = Wire::new(Box::new(client));
        let head = Head {
            method: "PUT",
            path: "/api/x",
            host: b"h:1",
            headers: &[("Accept", b"application/vs.v2.0+json")],
        };
        let r = w.exchange(&head, Some(b"{}")).await;
        (r, srv.await.unwrap())
    }

    #[tokio::test]
    async fn request_is_one_plain_http11_message() {
        let (r, req) = against(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}").await;
        let a = r.unwrap();
        assert_eq!(
            (a.status, a.body.as_slice(), a.keep),
            (201, &b"{}"[..], true)
        );
        assert_eq!(
            String::from_utf8(req).unwrap(),
            "PUT /api/x HTTP/1.1\r\nHost: h:1\r\nAccept: application/vs.v2.0+json\r\nContent-Length: 2\r\n\r\n{}"
        );
    }

    #[tokio::test]
    async fn chunked_bodies_interim_answers_and_close() {
        let (r, _) = against(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Too Many\r\nRetry-After: 3\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n4;x=y\r\n{\"a\"\r\n2\r\n:1\r\n1\r\n}\r\n0\r\nX-T: 1\r\n\r\n",
        )
        .await;
        let a = r.unwrap();
        assert_eq!(a.status, 429);
        assert_eq!(a.retry_after, Some(3));
        assert_eq!(a.body, b"{\"a\":1}");
        assert!(!a.keep);
    }

    #[tokio::test]
    async fn a_body_to_the_end_of_the_connection_and_http10() {
        let (r, _) = against(b"HTTP/1.0 200 OK\r\n\r\nhello").await;
        let a = r.unwrap();
        assert_eq!(
            (a.status, a.body.as_slice(), a.keep),
            (200, &b"hello"[..], false)
        );
    }

    #[tokio::test]
    async fn closed_and_broken_answers() {
        assert!(matches!(against(b"").await.0, Err(WireError::Closed)));
        assert!(matches!(
            against(b"HTTP/1.1 200 OK\r\nContent-Le").await.0,
            Err(WireError::Bad(_))
        ));
        assert!(matches!(
            against(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
                .await
                .0,
            Err(WireError::Bad(_))
        ));
        assert!(matches!(
            against(b"<html>hello</html>\r\n\r\n").await.0,
            Err(WireError::Bad(_))
        ));
        assert!(matches!(
            against(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
                .await
                .0,
            Err(WireError::Bad(_))
        ));
    }
}
