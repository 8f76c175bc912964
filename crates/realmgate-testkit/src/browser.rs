//! A scripted browser: keeps cookies, never follows redirects, and fills in the HTML forms of
//! the login, consent and logout pages the way a person would.

use reqwest::header::{HeaderMap, LOCATION};
use std::collections::BTreeMap;

/// A form found in a page: its action (absolute) and every input's name/value.
#[derive(Debug, Clone)]
pub struct Form {
    pub action: String,
    pub fields: BTreeMap<String, String>,
}

pub struct Browser {
    pub http: reqwest::Client,
}

/// The result of one request.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub headers: HeaderMap,
    pub body: String,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        Self { http }
    }

    pub async fn get(&self, url: &str) -> Page {
        let resp = self.http.get(url).send().await.expect("GET");
        page(resp).await
    }

    pub async fn submit(&self, form: &Form, extra: &[(&str, &str)]) -> Page {
        let mut fields = form.fields.clone();
        for (k, v) in extra {
            fields.insert((*k).to_owned(), (*v).to_owned());
        }
        let resp = self
            .http
            .post(&form.action)
            .form(&fields)
            .send()
            .await
            .expect("POST");
        page(resp).await
    }

    /// Logs in on a login page: submits the `kc-form-login` form.
    pub async fn login(
        &self,
        login_page: &Page,
        base: &str,
        username: &str,
        password: &str,
    ) -> Page {
        let form = find_form(&login_page.body, "kc-form-login", base).expect("login form");
        self.submit(&form, &[("username", username), ("password", password)])
            .await
    }
}

async fn page(resp: reqwest::Response) -> Page {
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let headers = resp.headers().clone();
    let body = resp.text().await.unwrap_or_default();
    Page {
        status,
        location,
        headers,
        body,
    }
}

/// Finds `<form id="{id}" ... action="...">` and its `<input name=.. value=..>` fields.
pub fn find_form(html: &str, id: &str, base: &str) -> Option<Form> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let form_start = html[..start].rfind("<form")?;
    let form_end = form_start + html[form_start..].find("</form>")?;
    let form_html = &html[form_start..form_end];
    let tag_end = form_html.find('>')?;
    let action = unescape(&attr(&form_html[..tag_end], "action")?);
    let action = if action.starts_with('/') {
        format!("{base}{action}")
    } else {
        action
    };
    let mut fields = BTreeMap::new();
    let mut rest = form_html;
    while let Some(i) = rest.find("<input") {
        let tag = &rest[i..i + rest[i..].find('>')?];
        if let Some(name) = attr(tag, "name") {
            fields.insert(name, unescape(&attr(tag, "value").unwrap_or_default()));
        }
        rest = &rest[i + 6..];
    }
    Some(Form { action, fields })
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let i = tag.find(&key)? + key.len();
    let j = tag[i..].find('"')?;
    Some(tag[i..i + j].to_owned())
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
