//! Static assets embedded in the binary, served under content-hashed names with a year-long
//! cache (`/assets/app.1a2b3c4d.css`) and under their plain names with revalidation.

use std::collections::HashMap;
use std::sync::OnceLock;

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use actix_web::{HttpRequest, HttpResponse};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "assets/"]
struct Files;

/// Served name → (file name, hex hash).
fn index() -> &'static HashMap<String, (String, String)> {
    static INDEX: OnceLock<HashMap<String, (String, String)>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut map = HashMap::new();
        for name in Files::iter() {
            let Some(file) = Files::get(&name) else {
                continue;
            };
            let hash = hex::encode(&file.metadata.sha256_hash()[..5]);
            let hashed = match name.rsplit_once('.') {
                Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
                None => format!("{name}.{hash}"),
            };
            map.insert(hashed, (name.to_string(), hash.clone()));
            map.insert(name.to_string(), (name.to_string(), hash));
        }
        map
    })
}

/// The cache-busting URL of an asset (falls back to the plain name for an unknown file).
pub fn url(name: &str) -> String {
    static URLS: OnceLock<HashMap<String, String>> = OnceLock::new();
    let urls = URLS.get_or_init(|| {
        index()
            .iter()
            .filter(|(served, (file, _))| *served != file)
            .map(|(served, (file, _))| (file.clone(), format!("/assets/{served}")))
            .collect()
    });
    urls.get(name)
        .cloned()
        .unwrap_or_else(|| format!("/assets/{name}"))
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("webmanifest") => "application/manifest+json",
        Some("png") => "image/png",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// `GET /assets/{name}`.
pub async fn show_asset(req: HttpRequest) -> HttpResponse {
    let served = req.match_info().get("name").unwrap_or_default();
    let Some((file, hash)) = index().get(served) else {
        return HttpResponse::NotFound().finish();
    };
    let Some(data) = Files::get(file) else {
        return HttpResponse::NotFound().finish();
    };
    let etag = format!("\"{hash}\"");
    let cache = if served == file {
        "no-cache"
    } else {
        "public, max-age=31536000, immutable"
    };
    if req
        .headers()
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag)
    {
        return HttpResponse::NotModified()
            .insert_header((ETAG, etag))
            .insert_header((CACHE_CONTROL, cache))
            .finish();
    }
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, content_type(file)))
        .insert_header((ETAG, etag))
        .insert_header((CACHE_CONTROL, cache))
        .body(data.data.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_urls() {
        let u = url("app.css");
        assert!(
            u.starts_with("/assets/app.")
                && u.ends_with(".css")
                && u.len() > "/assets/app.css".len(),
            "{u}"
        );
        assert!(index().contains_key(u.trim_start_matches("/assets/")));
        assert!(index().contains_key("htmx-2.0.11.min.js"));
    }
}
