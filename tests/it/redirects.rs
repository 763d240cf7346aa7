//! Where a browser goes after login: only to a path on this site. Inputs from the outside
//! probe (#8) and more of the same kind, through both doors (the login page's `?next=` while
//! signed in, and the login form's `next`); never a 5xx, never off-site.

use reqwest::StatusCode;

use crate::support::session::{browser_client, login_form};
use crate::support::{PASSWORD, TestApp};

/// `next` as a browser would send it in the query (already percent-encoded) → where it lands.
const CASES: &[(&str, &str)] = &[
    ("/c/12", "/c/12"),
    ("/%3Fview%3Dunassigned", "/?view=unassigned"),
    ("/%09/evil.example/", "/"),
    ("/%0a/x", "/"),
    ("/%0d%0aSet-Cookie:%20x=1", "/"),
    ("//evil.example/", "/"),
    ("/%2F/evil.example/", "/"),
    ("/%5Cevil.example", "/"),
    ("%5C%5Cevil.example", "/"),
    ("https://evil.example/", "/"),
    ("javascript:alert(1)", "/"),
    ("%20/c/12", "/"),
    ("/c/%E2%80%A812", "/"),
    ("/c/%C3%A9", "/"),
    ("/%7F", "/"),
    ("", "/"),
];

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[test]
fn after_login_a_browser_only_goes_to_a_path_on_this_site() {
    let app = TestApp::spawn();
    let base = &app.api.base;
    let signed_in = app.session(&app.ana);
    let mut failures = Vec::new();
    for (next, want) in CASES {
        // Signed in already: the login page sends the browser on at once.
        let r = browser_client()
            .get(format!("{base}/login?next={next}"))
            .header("Cookie", &signed_in.cookie)
            .send()
            .expect("get");
        let got = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        if r.status() != StatusCode::SEE_OTHER || got.as_deref() != Some(want) {
            failures.push(format!(
                "GET next={next}: {} → {got:?}, want {want}",
                r.status()
            ));
        }
        // Not signed in: the page renders (never a 5xx) and carries only a safe `next`.
        let page = browser_client()
            .get(format!("{base}/login?next={next}"))
            .send()
            .expect("get");
        if page.status() != StatusCode::OK {
            failures.push(format!("GET next={next} signed out: {}", page.status()));
        }
        // The form: the right password lands on the same place, with a session.
        let r = login_form(base, &app.bruno.email, PASSWORD, Some(&decode(next)));
        let got = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        if r.status() != StatusCode::SEE_OTHER
            || got.as_deref() != Some(want)
            || r.headers().get("set-cookie").is_none()
        {
            failures.push(format!(
                "POST next={next}: {} → {got:?}, want {want}",
                r.status()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
