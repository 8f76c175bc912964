//! The load generator's HTTP clients, behind one small interface so they can be compared
//! (`--client`): by default each worker owns one keep-alive connection that it speaks HTTP/1.1
//! on directly (`raw.rs`), or through hyper's low-level client (`conn.rs`); `hyper` shares
//! hyper's pooled client and `reqwest` a reqwest client between the workers. Setup and
//! provisioning always go through the shared client ([`Http`]); a worker sends through its
//! [`Client`]. Requests are pre-built per realm (parsed URIs, header values, static bodies) to
//! keep the generator's per-request cost low.

use std::time::Duration;

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::HeaderMap;
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HOST, HeaderValue};
use hyper::http::uri::Authority;
use hyper::{Method, Request, Response, Uri};
use hyper_util::client::legacy::Client as Pooled;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::conn::Conn;
use crate::raw::Raw;

/// Which HTTP client drives the traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientKind {
    /// One keep-alive HTTP/1.1 connection per worker, spoken directly (`raw.rs`): no
    /// connection task, no pool.
    Raw,
    /// One keep-alive HTTP/1.1 connection per worker (hyper's low-level client): no pool.
    Conn,
    /// hyper_util's pooled client, shared by the workers.
    Hyper,
    /// reqwest, shared by the workers.
    Reqwest,
}

impl ClientKind {
    pub fn name(self) -> &'static str {
        match self {
            ClientKind::Raw => "raw (one connection per worker, HTTP/1.1 written directly)",
            ClientKind::Conn => "conn (one connection per worker, hyper's low-level client)",
            ClientKind::Hyper => "hyper (pooled)",
            ClientKind::Reqwest => "reqwest",
        }
    }
}

/// Every request gives up after this long (counted as a `timeout` error).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A parsed endpoint (hyper's form; the reqwest client converts it per request).
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub(crate) uri: Uri,
}

impl Endpoint {
    pub fn parse(s: &str) -> Result<Self> {
        Ok(Self {
            uri: s.parse().with_context(|| format!("bad URI {s}"))?,
        })
    }
}

/// A response: status, headers and the whole body (read so the connection can be reused).
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Why a request produced no response.
#[derive(Debug)]
pub enum SendError {
    Timeout,
    Transport(String),
}

/// A transport error: what failed, and why.
pub(crate) fn transport(what: &str, e: impl std::fmt::Display) -> SendError {
    SendError::Transport(format!("{what}: {e}"))
}

/// A new `TCP_NODELAY` connection to `authority` (port 80 when it names none), for a worker's
/// own connection (`--client raw|conn`).
pub(crate) async fn connect_tcp(authority: &Authority) -> Result<tokio::net::TcpStream, SendError> {
    let port = authority.port_u16().unwrap_or(80);
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let stream = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| transport("connect", e))?;
    stream
        .set_nodelay(true)
        .map_err(|e| transport("nodelay", e))?;
    Ok(stream)
}

impl SendError {
    pub fn label(&self) -> &'static str {
        match self {
            SendError::Timeout => "timeout",
            SendError::Transport(_) => "transport",
        }
    }

    pub fn detail(&self) -> String {
        match self {
            SendError::Timeout => format!("no answer within {} s", REQUEST_TIMEOUT.as_secs()),
            SendError::Transport(e) => e.clone(),
        }
    }
}

static FORM: HeaderValue = HeaderValue::from_static("application/x-www-form-urlencoded");

/// One request: a GET, or a POST of a form body, with optional `Authorization` and `Cookie`.
pub struct Req<'a> {
    pub ep: &'a Endpoint,
    pub auth: Option<&'a HeaderValue>,
    pub cookie: Option<&'a HeaderValue>,
    /// `Some`: a POST with this `application/x-www-form-urlencoded` body.
    pub form: Option<Bytes>,
}

impl<'a> Req<'a> {
    pub fn get(ep: &'a Endpoint) -> Self {
        Self {
            ep,
            auth: None,
            cookie: None,
            form: None,
        }
    }

    pub fn post_form(ep: &'a Endpoint, body: Bytes) -> Self {
        Self {
            form: Some(body),
            ..Self::get(ep)
        }
    }

    pub fn auth(self, auth: Option<&'a HeaderValue>) -> Self {
        Self { auth, ..self }
    }

    pub fn cookie(self, cookie: Option<&'a HeaderValue>) -> Self {
        Self { cookie, ..self }
    }

    /// hyper's request, to `uri` (absolute for the pool, origin-form on a bare connection),
    /// with `host` when given (hyper's low-level client does not add one).
    pub(crate) fn to_hyper(&self, uri: Uri, host: Option<&HeaderValue>) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(self.form.clone().unwrap_or_default()));
        *req.uri_mut() = uri;
        if self.form.is_some() {
            *req.method_mut() = Method::POST;
        }
        let h = req.headers_mut();
        h.reserve(4);
        if let Some(v) = host {
            h.insert(HOST, v.clone());
        }
        if let Some(a) = self.auth {
            h.insert(AUTHORIZATION, a.clone());
        }
        if let Some(c) = self.cookie {
            h.insert(COOKIE, c.clone());
        }
        if self.form.is_some() {
            h.insert(CONTENT_TYPE, FORM.clone());
        }
        req
    }
}

/// Reads a hyper response's whole body.
pub(crate) async fn read(resp: Response<Incoming>) -> Result<Resp, SendError> {
    let (parts, body) = resp.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| SendError::Transport(e.to_string()))?
        .to_bytes();
    Ok(Resp {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    })
}

/// The shared client: setup, provisioning and (`--client hyper|reqwest`) the workers.
#[derive(Clone)]
pub struct Http {
    pool: Pool,
    /// The workers' client: with `raw` and `conn` each worker gets a connection of its own.
    kind: ClientKind,
}

#[derive(Clone)]
enum Pool {
    Hyper(Pooled<HttpConnector, Full<Bytes>>),
    Reqwest(reqwest::Client),
}

impl Http {
    pub fn new(kind: ClientKind, max_idle: usize) -> Result<Self> {
        let pool = match kind {
            ClientKind::Raw | ClientKind::Conn | ClientKind::Hyper => {
                let mut conn = HttpConnector::new();
                conn.set_nodelay(true);
                Pool::Hyper(
                    Pooled::builder(TokioExecutor::new())
                        .pool_max_idle_per_host(max_idle)
                        .pool_idle_timeout(Duration::from_secs(90))
                        .build(conn),
                )
            }
            ClientKind::Reqwest => Pool::Reqwest(
                reqwest::Client::builder()
                    .no_proxy()
                    .redirect(reqwest::redirect::Policy::none())
                    .http1_only()
                    .tcp_nodelay(true)
                    .pool_max_idle_per_host(max_idle)
                    .timeout(REQUEST_TIMEOUT)
                    .build()?,
            ),
        };
        Ok(Self { pool, kind })
    }

    /// The client one worker sends through.
    pub fn worker(&self) -> Client {
        match self.kind {
            ClientKind::Raw => Client::Raw(Raw::default()),
            ClientKind::Conn => Client::Own(Conn::default()),
            ClientKind::Hyper | ClientKind::Reqwest => Client::Shared(self.clone()),
        }
    }

    /// GET `ep`, optionally with an `Authorization` header.
    pub async fn get(&self, ep: &Endpoint, auth: Option<&HeaderValue>) -> Result<Resp, SendError> {
        self.send(Req::get(ep).auth(auth)).await
    }

    /// POST a form body to `ep`, optionally with an `Authorization` header.
    pub async fn post_form(
        &self,
        ep: &Endpoint,
        auth: Option<&HeaderValue>,
        body: Bytes,
    ) -> Result<Resp, SendError> {
        self.send(Req::post_form(ep, body).auth(auth)).await
    }

    pub async fn send(&self, req: Req<'_>) -> Result<Resp, SendError> {
        match &self.pool {
            Pool::Hyper(client) => {
                let work = async {
                    let resp = client
                        .request(req.to_hyper(req.ep.uri.clone(), None))
                        .await
                        .map_err(|e| SendError::Transport(format!("{e:?}")))?;
                    read(resp).await
                };
                tokio::time::timeout(REQUEST_TIMEOUT, work)
                    .await
                    .map_err(|_| SendError::Timeout)?
            }
            Pool::Reqwest(client) => {
                let url = reqwest::Url::parse(&req.ep.uri.to_string())
                    .map_err(|e| SendError::Transport(e.to_string()))?;
                let method = if req.form.is_some() {
                    Method::POST
                } else {
                    Method::GET
                };
                let mut r = client.request(method, url);
                if let Some(a) = req.auth {
                    r = r.header(AUTHORIZATION, a.clone());
                }
                if let Some(c) = req.cookie {
                    r = r.header(COOKIE, c.clone());
                }
                if let Some(b) = req.form {
                    r = r.header(CONTENT_TYPE, FORM.clone()).body(b);
                }
                let mut resp = r.send().await.map_err(reqwest_error)?;
                let status = resp.status().as_u16();
                let headers = std::mem::take(resp.headers_mut());
                let body = resp.bytes().await.map_err(reqwest_error)?;
                Ok(Resp {
                    status,
                    headers,
                    body,
                })
            }
        }
    }
}

fn reqwest_error(e: reqwest::Error) -> SendError {
    if e.is_timeout() {
        SendError::Timeout
    } else {
        SendError::Transport(e.to_string())
    }
}

/// What one worker sends its requests through.
pub enum Client {
    /// Its own keep-alive connection, spoken directly (`--client raw`).
    Raw(Raw),
    /// Its own keep-alive connection (`--client conn`).
    Own(Conn),
    /// The shared client.
    Shared(Http),
}

impl Client {
    pub async fn send(&mut self, req: Req<'_>) -> Result<Resp, SendError> {
        match self {
            Client::Raw(c) => c.send(req).await,
            Client::Own(c) => c.send(req).await,
            Client::Shared(h) => h.send(req).await,
        }
    }
}
