//! Inbound media download: ask the Graph API for the media's short-lived URL
//! (`GET /{media-id}`), fetch it with the bearer token, and store the bytes under the data dir
//! (written to a temporary file, synced, then renamed, so a half-written file is never served).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::WaConfig;

/// Largest file we keep (WhatsApp's own limit for documents).
pub const MAX_BYTES: u64 = 100 * 1024 * 1024;

/// A stored file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Path relative to the data dir.
    pub path: String,
    /// Bytes.
    pub size: u64,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    /// MIME type as served.
    pub mime_type: String,
}

/// Why a download failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// Worth trying again later.
    #[error("{0}")]
    Retry(String),
    /// The media is gone or unusable.
    #[error("{0}")]
    GiveUp(String),
}

fn http_error(what: &str, status: u16) -> MediaError {
    let msg = format!("{what} answered HTTP {status}");
    match status {
        404 | 410 | 400 => MediaError::GiveUp(msg),
        _ => MediaError::Retry(msg),
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters (ids are digits; a guard).
fn encode(s: &str) -> String {
    const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, UNRESERVED).to_string()
}

/// A file extension for a MIME type (for people opening the data dir; serving uses the MIME).
pub fn extension(mime: &str) -> &'static str {
    match mime.split(';').next().unwrap_or("").trim() {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "video/mp4" => "mp4",
        "video/3gpp" => "3gp",
        "audio/ogg" => "ogg",
        "audio/mpeg" => "mp3",
        "audio/aac" => "aac",
        "audio/amr" => "amr",
        "audio/mp4" => "m4a",
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        _ => "bin",
    }
}

/// Downloads media `media_id` into `data_dir/media/<channel>/<message>.<ext>`.
pub async fn fetch(
    client: &reqwest::Client,
    cfg: &WaConfig,
    media_id: &str,
    data_dir: &Path,
    channel_id: i64,
    message_id: i64,
) -> Result<Stored, MediaError> {
    let info_url = format!(
        "{}/{}?phone_number_id={}",
        cfg.graph_api_base,
        encode(media_id),
        encode(&cfg.phone_number_id)
    );
    let resp = client
        .get(&info_url)
        .bearer_auth(&cfg.access_token)
        .send()
        .await
        .map_err(|e| MediaError::Retry(format!("WhatsApp could not be reached: {e}")))?;
    let status = resp.status().as_u16();
    if !(200..300).contains(&status) {
        return Err(http_error("the media lookup", status));
    }
    let info: Value = resp
        .json()
        .await
        .map_err(|e| MediaError::Retry(format!("the media lookup answer was unreadable: {e}")))?;
    let url = info["url"]
        .as_str()
        .ok_or_else(|| MediaError::GiveUp("the media lookup gave no URL".into()))?;
    let declared: Option<u64> = info["file_size"]
        .as_u64()
        .or_else(|| info["file_size"].as_str().and_then(|s| s.parse().ok()));
    if declared.is_some_and(|n| n > MAX_BYTES) {
        return Err(MediaError::GiveUp("the file is larger than 100 MB".into()));
    }
    let mut resp = client
        .get(url)
        .bearer_auth(&cfg.access_token)
        .send()
        .await
        .map_err(|e| MediaError::Retry(format!("the media URL could not be reached: {e}")))?;
    let status = resp.status().as_u16();
    if !(200..300).contains(&status) {
        return Err(http_error("the media URL", status));
    }
    let mime = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| info["mime_type"].as_str().map(str::to_string))
        .unwrap_or_else(|| "application/octet-stream".into());
    let rel = format!("media/{channel_id}/{message_id}.{}", extension(&mime));
    let dest = data_dir.join(&rel);
    let part = dest.with_extension("part");
    let io = |e: std::io::Error| MediaError::Retry(format!("storing the file failed: {e}"));
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut file = std::fs::File::create(&part).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    loop {
        let chunk = match resp.chunk().await {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => {
                let _ = std::fs::remove_file(&part);
                return Err(MediaError::Retry(format!("the download broke off: {e}")));
            }
        };
        size += chunk.len() as u64;
        if size > MAX_BYTES {
            let _ = std::fs::remove_file(&part);
            return Err(MediaError::GiveUp("the file is larger than 100 MB".into()));
        }
        hasher.update(&chunk);
        file.write_all(&chunk).map_err(io)?;
    }
    finish(file, part, dest).await.map_err(io)?;
    Ok(Stored {
        path: rel,
        size,
        sha256: hex::encode(hasher.finalize()),
        mime_type: mime,
    })
}

/// Syncs the file and moves it into place, off the async threads.
async fn finish(file: std::fs::File, part: PathBuf, dest: PathBuf) -> std::io::Result<()> {
    tokio::task::spawn_blocking(move || {
        file.sync_all()?;
        std::fs::rename(&part, &dest)
    })
    .await
    .map_err(std::io::Error::other)?
}
