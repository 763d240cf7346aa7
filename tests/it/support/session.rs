//! A logged-in browser session over plain HTTP, per role: the `ti_session` cookie from the login
//! form and the CSRF token the pages carry. Redirects are not followed, so tests see the 303s.

use reqwest::blocking::{Client, Response};
use reqwest::redirect::Policy;
use serde_json::Value;

use super::{PASSWORD, Staff, TestApp};

/// A client that does not follow redirects, as the browser tests of forms need.
pub fn browser_client() -> Client {
    Client::builder()
        .redirect(Policy::none())
        .pool_idle_timeout(super::IDLE)
        .build()
        .expect("client")
}

/// The CSRF token of the first form on a page.
#[track_caller]
pub fn csrf_of(html: &str) -> String {
    let i = html.find("name=\"csrf\" value=\"").expect("csrf field") + 19;
    html[i..i + 40].to_string()
}

/// Posts the login form (with `next` when given) without following the redirect.
pub fn login_form(base: &str, email: &str, password: &str, next: Option<&str>) -> Response {
    let mut form = vec![("email", email), ("password", password)];
    if let Some(n) = next {
        form.push(("next", n));
    }
    browser_client()
        .post(format!("{base}/login"))
        .form(&form)
        .send()
        .expect("login")
}

/// A logged-in browser: its cookie header and CSRF token.
pub struct Session {
    pub base: String,
    pub client: Client,
    /// `ti_session=<value>`, ready for a `Cookie` header.
    pub cookie: String,
    pub csrf: String,
}

impl Session {
    /// Logs in through the form as `email` (the seeded password) and reads the CSRF token from
    /// the inbox page. Checks the cookie is HttpOnly and SameSite=Lax.
    #[track_caller]
    pub fn login(base: &str, email: &str) -> Session {
        let resp = login_form(base, email, PASSWORD, None);
        assert_eq!(resp.status().as_u16(), 303, "login as {email}");
        let set = resp.headers()["set-cookie"]
            .to_str()
            .expect("cookie")
            .to_string();
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Lax"),
            "{set}"
        );
        let cookie = set.split(';').next().expect("pair").to_string();
        assert!(cookie.starts_with("ti_session="), "{cookie}");
        let mut s = Session {
            base: base.to_string(),
            client: browser_client(),
            cookie,
            csrf: String::new(),
        };
        // Managers and owners land on the Now board from "/": the CSRF token comes from the inbox.
        let home = s.get("/?view=mine");
        assert_eq!(home.status().as_u16(), 200, "inbox after login");
        s.csrf = csrf_of(&home.text().expect("html"));
        s
    }

    /// GET with the session cookie.
    pub fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.base))
            .header("Cookie", &self.cookie)
            .send()
            .expect("get")
    }

    /// GET, expecting 200; returns the HTML.
    #[track_caller]
    pub fn page(&self, path: &str) -> String {
        let r = self.get(path);
        assert_eq!(r.status().as_u16(), 200, "GET {path}");
        r.text().expect("html")
    }

    /// Posts a form with the session's CSRF token added.
    pub fn form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.form_as_is(path, &all)
    }

    /// Posts a form with exactly these fields (no CSRF token added).
    pub fn form_as_is(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header("Cookie", &self.cookie)
            .form(fields)
            .send()
            .expect("post")
    }

    /// A JSON API request with the session cookie, and the CSRF header when `csrf`.
    pub fn api(&self, method: reqwest::Method, path: &str, body: &Value, csrf: bool) -> Response {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("Cookie", &self.cookie)
            .json(body);
        if csrf {
            req = req.header("X-CSRF-Token", &self.csrf);
        }
        req.send().expect("api request")
    }
}

impl TestApp {
    /// A browser session logged in as `staff`.
    #[track_caller]
    pub fn session(&self, staff: &Staff) -> Session {
        Session::login(&self.api.base, &staff.email)
    }
}
