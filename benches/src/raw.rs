//! `--client raw`: a worker's own keep-alive HTTP/1.1 connection, spoken directly over a
//! `TcpStream` with `TCP_NODELAY` — the request is written with one `write` and the answer read
//! into the worker's own buffer and parsed with `httparse`, inside the worker's task. No
//! connection task, no channel between the worker and its connection and no per-request body
//! stream: on the cores it shares with the server, the load generator spends about half of
//! what hyper's low-level client (`--client conn`) costs per request, as `wrk` would.
//!
//! Answers are read by `Content-Length`, as chunks (`Transfer-Encoding: chunked`), or to the end
//! of the connection; `1xx`, `204` and `304` have no body. The connection is opened on the first
//! request (to that request's host) and kept until the server closes it, says
//! `Connection: close`, or a request fails on it. A request that finds its kept connection
//! already closed by the server, before any byte of an answer, is sent once more on a new one,
//! as HTTP/1.1 clients do for an idle connection the server dropped.

use bytes::{Buf, Bytes, BytesMut};
use hyper::HeaderMap;
use hyper::header::{HeaderName, HeaderValue};
use hyper::http::uri::Authority;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::http::{REQUEST_TIMEOUT, Req, Resp, SendError, connect_tcp, transport};

/// Most response headers read; more is an error.
const MAX_HEADERS: usize = 32;
/// Answers above this many bytes (head and body) are refused.
const MAX_ANSWER: usize = 16 << 20;

/// One keep-alive connection, its buffers, and the `Host` its requests carry.
#[derive(Default)]
pub struct Raw {
    open: Option<Open>,
    out: Vec<u8>,
    inb: BytesMut,
}

struct Open {
    authority: Authority,
    tcp: TcpStream,
}

/// How an exchange on a kept connection failed: before any byte of an answer arrived (the
/// request may be sent again on a new connection) or after.
enum Failure {
    Stale(SendError),
    Failed(SendError),
}

impl Raw {
    pub async fn send(&mut self, req: Req<'_>) -> Result<Resp, SendError> {
        let r = tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(&req)).await;
        let r = r.unwrap_or(Err(SendError::Timeout));
        if r.is_err() {
            // The connection may be mid-answer or broken: the next request opens a new one.
            self.open = None;
        }
        r
    }

    async fn exchange(&mut self, req: &Req<'_>) -> Result<Resp, SendError> {
        let uri = &req.ep.uri;
        let authority = uri
            .authority()
            .ok_or_else(|| SendError::Transport(format!("no host in {uri}")))?;
        encode(&mut self.out, req, authority);
        let reused = match &self.open {
            Some(open) if open.authority == *authority => true,
            _ => {
                self.open = Some(connect(authority).await?);
                false
            }
        };
        match self.round_trip().await {
            Ok(resp) => Ok(resp),
            Err(Failure::Stale(_)) if reused => {
                self.open = Some(connect(authority).await?);
                self.round_trip().await.map_err(Failure::into_error)
            }
            Err(f) => Err(f.into_error()),
        }
    }

    /// Writes the encoded request on the open connection and reads its answer.
    async fn round_trip(&mut self) -> Result<Resp, Failure> {
        let open = self
            .open
            .as_mut()
            .ok_or_else(|| Failure::Failed(SendError::Transport("no connection".to_owned())))?;
        self.inb.clear();
        if let Err(e) = open.tcp.write_all(&self.out).await {
            return Err(Failure::Stale(transport("write", e)));
        }
        let (resp, keep) = read_answer(&mut open.tcp, &mut self.inb).await?;
        if !keep {
            self.open = None;
        }
        Ok(resp)
    }
}

impl Failure {
    fn into_error(self) -> SendError {
        match self {
            Failure::Stale(e) | Failure::Failed(e) => e,
        }
    }
}

/// The request's bytes: origin-form request line, `Host`, the optional headers and the body.
fn encode(out: &mut Vec<u8>, req: &Req<'_>, authority: &Authority) {
    out.clear();
    let target = req.ep.uri.path_and_query().map_or("/", |p| p.as_str());
    out.extend_from_slice(if req.form.is_some() {
        b"POST "
    } else {
        b"GET "
    });
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
    out.extend_from_slice(authority.as_str().as_bytes());
    if let Some(a) = req.auth {
        out.extend_from_slice(b"\r\nauthorization: ");
        out.extend_from_slice(a.as_bytes());
    }
    if let Some(c) = req.cookie {
        out.extend_from_slice(b"\r\ncookie: ");
        out.extend_from_slice(c.as_bytes());
    }
    if let Some(body) = &req.form {
        out.extend_from_slice(b"\r\ncontent-type: application/x-www-form-urlencoded");
        out.extend_from_slice(b"\r\ncontent-length: ");
        out.extend_from_slice(body.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n\r\n");
        out.extend_from_slice(body);
    } else {
        out.extend_from_slice(b"\r\n\r\n");
    }
}

/// Reads more of the answer into `inb`; `Ok(false)` at the end of the connection.
async fn fill(tcp: &mut TcpStream, inb: &mut BytesMut) -> Result<bool, SendError> {
    if inb.len() >= MAX_ANSWER {
        return Err(SendError::Transport(format!(
            "answer larger than {MAX_ANSWER} bytes"
        )));
    }
    if inb.capacity() - inb.len() < 4096 {
        inb.reserve(8192);
    }
    let n = tcp.read_buf(inb).await.map_err(|e| transport("read", e))?;
    Ok(n > 0)
}

/// How the body of an answer is delimited.
enum Framing {
    Length(usize),
    Chunked,
    ToClose,
}

/// One answer: its head, then its body by its framing. Returns it and whether the connection
/// may carry another request.
async fn read_answer(tcp: &mut TcpStream, inb: &mut BytesMut) -> Result<(Resp, bool), Failure> {
    let (status, headers, head_len) = loop {
        if !inb.is_empty() {
            let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut parsed = httparse::Response::new(&mut slots);
            match parsed.parse(inb) {
                Ok(httparse::Status::Complete(len)) => {
                    let status = parsed.code.unwrap_or(0);
                    let headers = header_map(parsed.headers).map_err(Failure::Failed)?;
                    break (status, headers, len);
                }
                Ok(httparse::Status::Partial) => {}
                Err(e) => return Err(Failure::Failed(transport("answer head", e))),
            }
        }
        let before = inb.len();
        match fill(tcp, inb).await {
            Ok(true) => {}
            Ok(false) if before == 0 => {
                return Err(Failure::Stale(SendError::Transport(
                    "the server closed the connection".to_owned(),
                )));
            }
            Ok(false) => {
                return Err(Failure::Failed(SendError::Transport(
                    "the server closed the connection mid-answer".to_owned(),
                )));
            }
            Err(e) if before == 0 => return Err(Failure::Stale(e)),
            Err(e) => return Err(Failure::Failed(e)),
        }
    };
    if (100..200).contains(&status) {
        return Err(Failure::Failed(SendError::Transport(format!(
            "unexpected interim answer {status}"
        ))));
    }
    inb.advance(head_len);
    let close = has_token(&headers, hyper::header::CONNECTION, "close");
    let framing = if status == 204 || status == 304 {
        Framing::Length(0)
    } else if has_token(&headers, hyper::header::TRANSFER_ENCODING, "chunked") {
        Framing::Chunked
    } else if let Some(v) = headers.get(hyper::header::CONTENT_LENGTH) {
        let n = v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .ok_or_else(|| Failure::Failed(SendError::Transport("bad content-length".into())))?;
        Framing::Length(n)
    } else {
        Framing::ToClose
    };
    let keep = !close && !matches!(framing, Framing::ToClose);
    let body = read_body(tcp, inb, framing)
        .await
        .map_err(Failure::Failed)?;
    if !inb.is_empty() {
        return Err(Failure::Failed(SendError::Transport(
            "bytes after the answer".to_owned(),
        )));
    }
    Ok((
        Resp {
            status,
            headers,
            body,
        },
        keep,
    ))
}

async fn read_body(
    tcp: &mut TcpStream,
    inb: &mut BytesMut,
    framing: Framing,
) -> Result<Bytes, SendError> {
    match framing {
        Framing::Length(n) => {
            if n > MAX_ANSWER {
                return Err(SendError::Transport(format!("body of {n} bytes")));
            }
            while inb.len() < n {
                if !fill(tcp, inb).await? {
                    return Err(SendError::Transport("body cut short".to_owned()));
                }
            }
            Ok(inb.split_to(n).freeze())
        }
        Framing::ToClose => {
            while fill(tcp, inb).await? {}
            Ok(inb.split().freeze())
        }
        Framing::Chunked => {
            let mut body = BytesMut::new();
            loop {
                let Some(line) = find_crlf(inb) else {
                    if !fill(tcp, inb).await? {
                        return Err(SendError::Transport("chunk cut short".to_owned()));
                    }
                    continue;
                };
                let size = std::str::from_utf8(&inb[..line])
                    .ok()
                    .and_then(|l| l.split(';').next())
                    .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
                    .filter(|n| body.len() + n <= MAX_ANSWER)
                    .ok_or_else(|| SendError::Transport("bad chunk size".to_owned()))?;
                if size == 0 {
                    // The last chunk: skip any trailers up to the empty line.
                    inb.advance(line + 2);
                    loop {
                        match find_crlf(inb) {
                            Some(0) => {
                                inb.advance(2);
                                return Ok(body.freeze());
                            }
                            Some(n) => inb.advance(n + 2),
                            None => {
                                if !fill(tcp, inb).await? {
                                    return Err(SendError::Transport("trailers cut short".into()));
                                }
                            }
                        }
                    }
                }
                while inb.len() < line + 2 + size + 2 {
                    if !fill(tcp, inb).await? {
                        return Err(SendError::Transport("chunk cut short".to_owned()));
                    }
                }
                inb.advance(line + 2);
                body.extend_from_slice(&inb[..size]);
                inb.advance(size + 2);
            }
        }
    }
}

fn find_crlf(b: &[u8]) -> Option<usize> {
    b.windows(2).position(|w| w == b"\r\n")
}

fn header_map(parsed: &[httparse::Header<'_>]) -> Result<HeaderMap, SendError> {
    let mut map = HeaderMap::with_capacity(parsed.len());
    for h in parsed {
        let name =
            HeaderName::from_bytes(h.name.as_bytes()).map_err(|e| transport("header name", e))?;
        let value = HeaderValue::from_bytes(h.value).map_err(|e| transport("header value", e))?;
        map.append(name, value);
    }
    Ok(map)
}

/// Whether a comma-separated header has `token` (case-insensitive).
fn has_token(headers: &HeaderMap, name: HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.to_str()
            .is_ok_and(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

async fn connect(authority: &Authority) -> Result<Open, SendError> {
    Ok(Open {
        authority: authority.clone(),
        tcp: connect_tcp(authority).await?,
    })
}

#[cfg(test)]
#[path = "raw_tests.rs"]
mod tests;
