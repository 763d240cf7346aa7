//! Media files of inbound messages, served to staff who may see the conversation.

use actix_web::HttpResponse;
use actix_web::web::{self, Data};

use crate::domain::MessageId;
use crate::domain::policy::Action;
use crate::service::Error;
use crate::service::conversations::{self as ops};
use crate::store::whatsapp as wa_store;
use crate::web::AppState;
use crate::web::auth::Auth;
use crate::web::body::PathId;
use crate::web::error::ApiResult;

/// `GET /api/v1/messages/{id}/media`: the file of an inbound WhatsApp attachment, to staff who
/// can see its conversation.
pub(super) async fn show_media(
    auth: Auth,
    state: Data<AppState>,
    id: PathId,
) -> ApiResult<HttpResponse> {
    let (actor, id) = (auth.actor(), MessageId(id.get()?));
    let media = state
        .store
        .read(move |c| {
            let m = wa_store::find_media(c, id)?.ok_or(Error::NotFound("media"))?;
            ops::authorize(c, &actor, Action::View, m.conversation_id)?;
            Ok::<_, Error>(m)
        })
        .await?;
    let path = match (media.state.as_str(), &media.path) {
        ("done", Some(p)) => p.clone(),
        ("failed", _) => {
            return Err(crate::service::invalid(
                "media_unavailable",
                format!(
                    "the file could not be downloaded from WhatsApp: {}",
                    media.error.unwrap_or_default()
                ),
            )
            .into());
        }
        _ => {
            return Err(Error::Conflict {
                code: "media_pending",
                message: "the file is still being downloaded; try again shortly".into(),
                data: None,
            }
            .into());
        }
    };
    let dir = state
        .store
        .path()
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or_default();
    let bytes = web::block(move || std::fs::read(dir.join(path)))
        .await
        .map_err(|e| Error::Internal(format!("reading a media file: {e}")))?
        .map_err(|_| Error::NotFound("media"))?;
    let (mime, inline) = safe_mime(media.mime_type.as_deref().unwrap_or(""));
    let name = media
        .filename
        .unwrap_or_else(|| format!("message-{}", id.0))
        .replace(|c: char| c == '"' || c == '\\' || c.is_control(), "_");
    Ok(HttpResponse::Ok()
        .content_type(mime)
        .insert_header((
            "Content-Disposition",
            format!(
                "{}; filename=\"{name}\"",
                if inline { "inline" } else { "attachment" }
            ),
        ))
        .insert_header(("Cache-Control", "private, max-age=86400"))
        .body(bytes))
}

/// The type to serve a customer's file as: pictures, sound and video play inline; anything
/// else is a download, and types a browser would run (HTML, SVG…) become opaque bytes.
fn safe_mime(declared: &str) -> (String, bool) {
    let base = declared
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let inline = matches!(
        base.as_str(),
        "image/jpeg" | "image/png" | "image/webp" | "image/gif" | "video/mp4" | "video/3gpp"
    ) || (base.starts_with("audio/") && !base.contains('+'));
    if inline {
        (declared.trim().to_string(), true)
    } else if matches!(base.as_str(), "application/pdf" | "text/plain")
        || base.starts_with("application/vnd.")
    {
        (base, false)
    } else {
        ("application/octet-stream".into(), false)
    }
}
