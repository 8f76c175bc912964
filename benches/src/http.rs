//! The load generator's HTTP client: hyper's pooled client directly (default) or reqwest, behind
//! one small interface, so the two can be compared (`--client`). Requests are pre-built per realm
//! (parsed URIs, header values, static bodies) to keep the generator's per-request cost low.

use std::time::Duration;

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::HeaderMap;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HeaderValue};
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Which HTTP client drives the traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientKind {
    Hyper,
    Reqwest,
}

/// Every request gives up after this long (counted as a `timeout` error).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A parsed endpoint (hyper's form; the reqwest client converts it per request).
#[derive(Clone, Debug)]
pub struct Endpoint {
    uri: Uri,
}

impl Endpoint {
    pub fn parse(s: &str) -> Result<Self> {
        Ok(Self {
            uri: s.parse().with_context(|| format!("bad URI {s}"))?,
        })
    }
}

/// A response: status, headers and the whole body (read so the connection goes back to the
/// pool).
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

#[derive(Clone)]
pub enum Http {
    Hyper(Client<HttpConnector, Full<Bytes>>),
    Reqwest(reqwest::Client),
}

static FORM: HeaderValue = HeaderValue::from_static("application/x-www-form-urlencoded");

impl Http {
    pub fn new(kind: ClientKind, max_idle: usize) -> Result<Self> {
        Ok(match kind {
            ClientKind::Hyper => {
                let mut conn = HttpConnector::new();
                conn.set_nodelay(true);
                Http::Hyper(
                    Client::builder(TokioExecutor::new())
                        .pool_max_idle_per_host(max_idle)
                        .pool_idle_timeout(Duration::from_secs(90))
                        .build(conn),
                )
            }
            ClientKind::Reqwest => Http::Reqwest(
                reqwest::Client::builder()
                    .no_proxy()
                    .redirect(reqwest::redirect::Policy::none())
                    .http1_only()
                    .tcp_nodelay(true)
                    .pool_max_idle_per_host(max_idle)
                    .timeout(REQUEST_TIMEOUT)
                    .build()?,
            ),
        })
    }

    /// GET `ep`, optionally with an `Authorization` header.
    pub async fn get(&self, ep: &Endpoint, auth: Option<&HeaderValue>) -> Result<Resp, SendError> {
        self.send(Method::GET, ep, auth, None, None).await
    }

    /// GET `ep` with a `Cookie` header.
    pub async fn get_with_cookie(
        &self,
        ep: &Endpoint,
        cookie: Option<&HeaderValue>,
    ) -> Result<Resp, SendError> {
        self.send(Method::GET, ep, None, cookie, None).await
    }

    /// POST a form body to `ep` with a `Cookie` header (a browser submitting a page's form).
    pub async fn post_form_with_cookie(
        &self,
        ep: &Endpoint,
        cookie: Option<&HeaderValue>,
        body: Bytes,
    ) -> Result<Resp, SendError> {
        self.send(Method::POST, ep, None, cookie, Some(body)).await
    }

    /// POST a form body to `ep`, optionally with an `Authorization` header.
    pub async fn post_form(
        &self,
        ep: &Endpoint,
        auth: Option<&HeaderValue>,
        body: Bytes,
    ) -> Result<Resp, SendError> {
        self.send(Method::POST, ep, auth, None, Some(body)).await
    }

    async fn send(
        &self,
        method: Method,
        ep: &Endpoint,
        auth: Option<&HeaderValue>,
        cookie: Option<&HeaderValue>,
        body: Option<Bytes>,
    ) -> Result<Resp, SendError> {
        match self {
            Http::Hyper(client) => {
                let mut req = Request::builder().method(method).uri(ep.uri.clone());
                if let Some(a) = auth {
                    req = req.header(AUTHORIZATION, a.clone());
                }
                if let Some(c) = cookie {
                    req = req.header(COOKIE, c.clone());
                }
                if body.is_some() {
                    req = req.header(CONTENT_TYPE, FORM.clone());
                }
                let req = req
                    .body(Full::new(body.unwrap_or_default()))
                    .map_err(|e| SendError::Transport(e.to_string()))?;
                let work = async {
                    let resp = client
                        .request(req)
                        .await
                        .map_err(|e| SendError::Transport(format!("{e:?}")))?;
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
                };
                tokio::time::timeout(REQUEST_TIMEOUT, work)
                    .await
                    .map_err(|_| SendError::Timeout)?
            }
            Http::Reqwest(client) => {
                let url = reqwest::Url::parse(&ep.uri.to_string())
                    .map_err(|e| SendError::Transport(e.to_string()))?;
                let mut req = client.request(method, url);
                if let Some(a) = auth {
                    req = req.header(AUTHORIZATION, a.clone());
                }
                if let Some(c) = cookie {
                    req = req.header(COOKIE, c.clone());
                }
                if let Some(b) = body {
                    req = req.header(CONTENT_TYPE, FORM.clone()).body(b);
                }
                let mut resp = req.send().await.map_err(reqwest_error)?;
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
