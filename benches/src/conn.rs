//! `--client conn`: a worker's own keep-alive HTTP/1.1 connection, made with hyper's low-level
//! client (`hyper::client::conn::http1`) over a `TcpStream` with `TCP_NODELAY`. No pool, so no
//! per-request pool-key hashing or checkout: the load generator spends less CPU per request on
//! the cores it shares with the server.
//!
//! The connection is opened on the first request (to that request's host) and kept. When the
//! server has closed it meanwhile, the next request reconnects before sending; when a request
//! fails on it (an error or a timeout), that request is reported as failed and the next one
//! reconnects.

use bytes::Bytes;
use http_body_util::Full;
use hyper::Uri;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::HeaderValue;
use hyper::http::uri::Authority;
use hyper_util::rt::TokioIo;

use crate::http::{REQUEST_TIMEOUT, Req, Resp, SendError, connect_tcp, read, transport};

/// One keep-alive connection and the `Host` its requests carry.
#[derive(Default)]
pub struct Conn {
    open: Option<Open>,
}

struct Open {
    authority: Authority,
    host: HeaderValue,
    sender: SendRequest<Full<Bytes>>,
}

impl Conn {
    pub async fn send(&mut self, req: Req<'_>) -> Result<Resp, SendError> {
        let r = tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(req)).await;
        let r = r.unwrap_or(Err(SendError::Timeout));
        if r.is_err() {
            // The connection may be mid-request or broken: the next request opens a new one.
            self.open = None;
        }
        r
    }

    async fn exchange(&mut self, req: Req<'_>) -> Result<Resp, SendError> {
        let uri = &req.ep.uri;
        let authority = uri
            .authority()
            .ok_or_else(|| SendError::Transport(format!("no host in {uri}")))?;
        let origin = uri
            .path_and_query()
            .map_or_else(|| Uri::from_static("/"), |p| Uri::from(p.clone()));
        let open = self.ready(authority).await?;
        let resp = open
            .sender
            .send_request(req.to_hyper(origin, Some(&open.host)))
            .await
            .map_err(|e| transport("request", e))?;
        read(resp).await
    }

    /// The open connection to `authority`, ready for a request: the current one, or a new one
    /// when there is none, it goes elsewhere, or the server closed it.
    async fn ready(&mut self, authority: &Authority) -> Result<&mut Open, SendError> {
        let reusable = match self.open.as_mut() {
            Some(open) => {
                open.authority == *authority
                    && !open.sender.is_closed()
                    && open.sender.ready().await.is_ok()
            }
            None => false,
        };
        if !reusable {
            self.open = None;
            self.open = Some(connect(authority).await?);
        }
        self.open
            .as_mut()
            .ok_or_else(|| SendError::Transport("no connection".to_owned()))
    }
}

async fn connect(authority: &Authority) -> Result<Open, SendError> {
    let stream = connect_tcp(authority).await?;
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| transport("handshake", e))?;
    // Drives the connection until the server closes it or the worker drops its sender.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    sender
        .ready()
        .await
        .map_err(|e| transport("handshake", e))?;
    Ok(Open {
        authority: authority.clone(),
        host: HeaderValue::from_str(authority.as_str()).map_err(|e| transport("host", e))?,
        sender,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;
    use crate::http::Endpoint;

    /// Reads one request (head and `Content-Length` body) as text (also for `raw`'s tests).
    pub(crate) async fn read_request(s: &mut TcpStream) -> String {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 1024];
        loop {
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let len = text
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length: ")?
                            .parse()
                            .ok()
                    })
                    .unwrap_or(0usize);
                if buf.len() >= end + 4 + len {
                    return text;
                }
            }
            let n = s.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the client closed mid-request");
            buf.extend_from_slice(&chunk[..n]);
        }
    }

    #[tokio::test]
    async fn sends_host_and_origin_form_and_reconnects_after_a_close() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let mut seen = Vec::new();
            // The first connection answers once and closes.
            let (mut s, _) = listener.accept().await.unwrap();
            seen.push(read_request(&mut s).await);
            s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
                .await
                .unwrap();
            drop(s);
            // The second one is kept for two requests.
            let (mut s, _) = listener.accept().await.unwrap();
            for _ in 0..2 {
                seen.push(read_request(&mut s).await);
                s.write_all(b"HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n")
                    .await
                    .unwrap();
            }
            seen
        });
        let get = Endpoint::parse(&format!("http://{addr}/a/b?c=1")).unwrap();
        let post = Endpoint::parse(&format!("http://{addr}/t")).unwrap();
        let auth = HeaderValue::from_static("Basic eDp5");
        let cookie = HeaderValue::from_static("RG_CSRF=z");
        let mut conn = Conn::default();
        let r = conn.send(Req::get(&get).auth(Some(&auth))).await.unwrap();
        assert_eq!((r.status, &r.body[..]), (200, &b"ok"[..]));
        // The server closed the connection: the next request goes out on a new one.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let form = Req::post_form(&post, Bytes::from_static(b"x=1")).cookie(Some(&cookie));
        assert_eq!(conn.send(form).await.unwrap().status, 201);
        assert_eq!(conn.send(Req::get(&get)).await.unwrap().status, 201);

        let seen = server.await.unwrap();
        let host = format!("host: {addr}\r\n");
        assert!(
            seen[0].starts_with("GET /a/b?c=1 HTTP/1.1\r\n"),
            "{}",
            seen[0]
        );
        assert!(seen[0].to_ascii_lowercase().contains(&host), "{}", seen[0]);
        assert!(
            seen[0].contains("authorization: Basic eDp5\r\n"),
            "{}",
            seen[0]
        );
        assert!(seen[1].starts_with("POST /t HTTP/1.1\r\n"), "{}", seen[1]);
        assert!(seen[1].to_ascii_lowercase().contains(&host), "{}", seen[1]);
        assert!(seen[1].contains("cookie: RG_CSRF=z\r\n"), "{}", seen[1]);
        assert!(
            seen[1].contains("content-type: application/x-www-form-urlencoded\r\n"),
            "{}",
            seen[1]
        );
        assert!(seen[1].ends_with("\r\n\r\nx=1"), "{}", seen[1]);
        assert!(
            seen[2].starts_with("GET /a/b?c=1 HTTP/1.1\r\n"),
            "{}",
            seen[2]
        );
    }
}
