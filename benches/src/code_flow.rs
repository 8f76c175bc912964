//! The `code` operation: the authorization code flow with PKCE and a password login, as a
//! browser and a confidential client do it:
//!
//! 1. `GET /realms/{r}/protocol/openid-connect/auth?...&code_challenge=…` → the login page (HTML)
//!    and the `RG_CSRF` cookie;
//! 2. `POST` the page's `kc-form-login` form (its hidden `flow` and `csrf` fields, username and
//!    password) with that cookie → `302`/`303` to the redirect URI with `code` and `state`;
//! 3. `POST /token` `grant_type=authorization_code` with the `code_verifier` (HTTP Basic).
//!
//! Each operation is a new browser (no session cookie), so every one costs one argon2id
//! verification: the flow is argon2-bound by design.

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use hyper::header::{HeaderValue, LOCATION, SET_COOKIE};

use crate::http::{Client, Endpoint, Http, Req, Resp};
use crate::provision::{CLIENT_ID, PASSWORD, REDIRECT_URI, USERNAME};

/// The cookie the login form's CSRF check reads.
const CSRF_COOKIE: &str = "RG_CSRF";

/// Percent-encodes everything but RFC 3986 unreserved characters (for queries and forms).
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The login form of a login page: where it posts and its hidden fields.
#[derive(Debug, PartialEq, Eq)]
pub struct LoginForm {
    pub action: String,
    pub flow: String,
    pub csrf: String,
}

fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&#47;", "/")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let i = tag.find(&key)? + key.len();
    let j = tag.get(i..)?.find('"')?;
    tag.get(i..i + j).map(unescape)
}

/// Finds `<form id="kc-form-login" action=…>` and its `flow` and `csrf` inputs; a relative
/// action is resolved against `base`.
pub fn find_login_form(html: &str, base: &str) -> Option<LoginForm> {
    let at = html.find("id=\"kc-form-login\"")?;
    let start = html.get(..at)?.rfind("<form")?;
    let form = html.get(start..)?;
    let form = form.get(..form.find("</form>")?)?;
    let action = attr(form.get(..form.find('>')?)?, "action")?;
    let action = if action.starts_with('/') {
        format!("{base}{action}")
    } else {
        action
    };
    let (mut flow, mut csrf) = (None, None);
    let mut rest = form;
    while let Some(i) = rest.find("<input") {
        let tail = rest.get(i..)?;
        let tag = tail.get(..tail.find('>')?)?;
        match attr(tag, "name").as_deref() {
            Some("flow") => flow = attr(tag, "value"),
            Some("csrf") => csrf = attr(tag, "value"),
            _ => {}
        }
        rest = tail.get(6..)?;
    }
    Some(LoginForm {
        action,
        flow: flow?,
        csrf: csrf?,
    })
}

/// The value of the `RG_CSRF` cookie a response sets.
fn csrf_cookie(resp: &Resp) -> Option<String> {
    resp.headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(CSRF_COOKIE)?.strip_prefix('='))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

/// A query parameter of a redirect `Location`.
fn query_param(location: &str, name: &str) -> Option<String> {
    let query = location.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or_default();
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| v.to_owned())
    })
}

/// What failed in a flow: the step's label (the error kind) and a detail.
pub type FlowError = (String, String);

fn fail(step: &str, resp: &Resp) -> FlowError {
    (
        format!("{step} {}", resp.status),
        String::from_utf8_lossy(&resp.body)
            .chars()
            .take(300)
            .collect(),
    )
}

/// One whole flow for `USERNAME` in the realm whose base is `realm_base`
/// (`{server}/realms/{name}`), its three requests through `client`; returns the token
/// endpoint's answer.
pub async fn run(
    client: &mut Client,
    server: &str,
    realm_base: &str,
    token: &Endpoint,
    basic: &HeaderValue,
) -> Result<Resp, FlowError> {
    let transport =
        |step: &str, e: crate::http::SendError| (format!("{step} {}", e.label()), e.detail());
    let verifier = realmgate_crypto::random_token(32);
    let challenge = realmgate_crypto::pkce_s256(&verifier);
    let state = realmgate_crypto::random_token(8);
    let auth = Endpoint::parse(&format!(
        "{realm_base}/protocol/openid-connect/auth?response_type=code&client_id={CLIENT_ID}\
         &redirect_uri={}&scope=openid&state={state}&code_challenge={challenge}\
         &code_challenge_method=S256",
        urlencode(REDIRECT_URI)
    ))
    .map_err(|e| ("auth url".to_owned(), format!("{e:#}")))?;

    // 1. The login page.
    let page = client
        .send(Req::get(&auth))
        .await
        .map_err(|e| transport("auth", e))?;
    if page.status != 200 {
        return Err(fail("auth", &page));
    }
    let html = String::from_utf8_lossy(&page.body);
    let form = find_login_form(&html, server)
        .ok_or_else(|| ("auth no-form".to_owned(), html.chars().take(300).collect()))?;
    let csrf = csrf_cookie(&page).unwrap_or_else(|| form.csrf.clone());
    let cookie = HeaderValue::from_str(&format!("{CSRF_COOKIE}={csrf}"))
        .map_err(|e| ("cookie".to_owned(), e.to_string()))?;

    // 2. The credentials.
    let action =
        Endpoint::parse(&form.action).map_err(|e| ("form action".to_owned(), format!("{e:#}")))?;
    let body = format!(
        "flow={}&csrf={}&username={}&password={}",
        urlencode(&form.flow),
        urlencode(&form.csrf),
        urlencode(USERNAME),
        urlencode(PASSWORD)
    );
    let login = client
        .send(Req::post_form(&action, Bytes::from(body)).cookie(Some(&cookie)))
        .await
        .map_err(|e| transport("login", e))?;
    if !matches!(login.status, 302 | 303) {
        return Err(fail("login", &login));
    }
    let location = login
        .headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if query_param(location, "state").as_deref() != Some(state.as_str()) {
        return Err(("login bad-state".to_owned(), location.to_owned()));
    }
    let Some(code) = query_param(location, "code") else {
        return Err(("login no-code".to_owned(), location.to_owned()));
    };

    // 3. The code for tokens.
    let body = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={verifier}",
        urlencode(REDIRECT_URI)
    );
    let tokens = client
        .send(Req::post_form(token, Bytes::from(body)).auth(Some(basic)))
        .await
        .map_err(|e| transport("token", e))?;
    if tokens.status != 200 {
        return Err(fail("token", &tokens));
    }
    Ok(tokens)
}

/// Checks one flow end to end (for the warm-up) through a worker's client, with a readable
/// error.
pub async fn check(
    http: &Http,
    server: &str,
    realm_base: &str,
    token: &Endpoint,
    basic: &HeaderValue,
) -> Result<()> {
    match run(&mut http.worker(), server, realm_base, token, basic).await {
        Ok(r) => {
            let v: serde_json::Value = serde_json::from_slice(&r.body).context("token response")?;
            if v.get("id_token").is_none() {
                bail!("the code flow's token response has no id_token: {v}");
            }
            Ok(())
        }
        Err((what, detail)) => bail!("code flow in {realm_base}: {what}: {detail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_login_form() {
        let html = r#"<p>x</p><form id="kc-form-login" method="post" action="&#x2f;realms&#x2f;r&#x2f;login-actions&#x2f;authenticate">
          <input type="hidden" name="flow" value="a.b-c_d">
          <input type="hidden" name="csrf" value="c&amp;1">
          <input id="username" name="username" type="text" value="">
          <input id="password" name="password" type="password" required>
        </form>"#;
        assert_eq!(
            find_login_form(html, "http://h:1"),
            Some(LoginForm {
                action: "http://h:1/realms/r/login-actions/authenticate".into(),
                flow: "a.b-c_d".into(),
                csrf: "c&1".into(),
            })
        );
        assert_eq!(find_login_form("<form id=\"other\"></form>", ""), None);
    }

    #[test]
    fn reads_redirect_parameters_and_encodes_forms() {
        let loc = "http://127.0.0.1:9/cb?code=abc.def&state=xyz&iss=http%3A%2F%2Fh";
        assert_eq!(query_param(loc, "code").as_deref(), Some("abc.def"));
        assert_eq!(query_param(loc, "state").as_deref(), Some("xyz"));
        assert_eq!(query_param(loc, "nope"), None);
        assert_eq!(urlencode("a b/c:d~"), "a%20b%2Fc%3Ad~");
    }
}
