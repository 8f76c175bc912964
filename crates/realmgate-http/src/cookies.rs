//! Cookie names and attributes. Cookies are per realm (Path=/realms/{realm}/), HttpOnly,
//! SameSite=Lax, and `Secure` when the public URL is https. (A `__Host-` prefix would force Path=/, which would
//! share one session cookie across realms; per-realm paths keep realms apart instead.)

use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use realmgate_app::authorize::{Browser, CookieOps};
use realmgate_app::{App, RealmCtx};

pub const SESSION: &str = "RG_SESSION";
pub const CSRF: &str = "RG_CSRF";

pub fn read(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The browser's cookies for this realm plus the client address (for brute-force accounting).
pub fn browser(headers: &HeaderMap, ip: Option<String>) -> Browser {
    Browser {
        csrf: read(headers, CSRF),
        session: read(headers, SESSION),
        ip,
    }
}

/// `Set-Cookie` header values for the app's cookie operations.
pub fn set_cookie_values(app: &App, realm: &RealmCtx, ops: &CookieOps) -> Vec<String> {
    let secure = if app.config().secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let path = format!("/realms/{}/", realm.name());
    let mut out = Vec::new();
    if let Some(c) = &ops.set_csrf {
        out.push(format!(
            "{CSRF}={c}; Path={path}; HttpOnly; SameSite=Lax{secure}"
        ));
    }
    if let Some((v, max_age)) = &ops.set_session {
        out.push(format!(
            "{SESSION}={v}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
        ));
    } else if ops.clear_session {
        out.push(format!(
            "{SESSION}=; Path={path}; Max-Age=0; HttpOnly; SameSite=Lax{secure}"
        ));
    }
    out
}
