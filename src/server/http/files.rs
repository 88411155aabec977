//! Files over HTTP: an upload's bytes (`PUT /api/files/ID?offset=N`,
//! streamed to the files service) and downloads (`GET /files/ID`, and an
//! image's `/files/ID/thumb` and `/files/ID/preview`). Every request reads
//! the session; a download is sent only to a member of the file's room, and
//! anyone else gets the same 404 whether the file exists or not.

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::cookie;
use super::guards::closing;
use crate::server::services::accounts;
use crate::server::services::files::{self, FileError, Readable, Variant};
use crate::server::state::AppState;

/// An uploaded file can never act as a page of this site: no script, no
/// plugin, no form, not even its own origin (a sandbox), and the browser
/// may not guess a runnable type (`nosniff`, set for every response).
const FILE_CSP: &str = "sandbox; default-src 'none'";

/// The signed-in user of a request (a member, or a website visitor), if any.
async fn user_of(state: &AppState, headers: &HeaderMap) -> Result<Option<i64>, Response> {
    let Some(value) = cookie::read_participant(&state.config, headers) else {
        return Ok(None);
    };
    match accounts::authenticate(state, &value).await {
        Ok(found) => Ok(found.map(|f| f.user.id)),
        Err(err) => {
            tracing::error!(error = %err, "files: session lookup failed");
            Err(StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Offset {
    #[serde(default)]
    offset: i64,
}

/// What an upload request is answered with: where the upload stands, or
/// why not (`received` tells a client that sent from the wrong place
/// where to go on).
#[derive(serde::Serialize)]
struct UploadError {
    error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    received: Option<i64>,
}

/// `PUT /api/files/ID?offset=N`: the upload's bytes from `offset` on.
pub async fn upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(at): Query<Offset>,
    body: Body,
) -> Response {
    let user = match user_of(&state, &headers).await {
        Ok(Some(user)) => user,
        Ok(None) => return refused(StatusCode::UNAUTHORIZED, "log in first".into(), None),
        Err(response) => return response,
    };
    match files::receive(&state, user, id, at.offset, body).await {
        // An upload that was complete already is answered without reading
        // the body it came with: like a refusal, it ends its connection
        // (a client that reused it would lose its next request).
        Ok(progress) => closing(axum::Json(progress).into_response()),
        Err(err) => {
            let (status, received) = match &err {
                FileError::NotFound => (StatusCode::NOT_FOUND, None),
                FileError::WrongOffset { received } => (StatusCode::CONFLICT, Some(*received)),
                FileError::TooManyBytes => (StatusCode::PAYLOAD_TOO_LARGE, None),
                FileError::SlowDown(_) => (StatusCode::TOO_MANY_REQUESTS, None),
                FileError::Store(e) => {
                    tracing::error!(error = %e, "files: upload failed");
                    (StatusCode::INTERNAL_SERVER_ERROR, None)
                }
                _ => (StatusCode::UNPROCESSABLE_ENTITY, None),
            };
            let why = match err {
                FileError::Store(_) => "Something went wrong on our side. Please try again.".into(),
                err => err.sentence(),
            };
            refused(status, why, received)
        }
    }
}

/// A refused upload may leave its body unread: its connection is closed.
fn refused(status: StatusCode, error: String, received: Option<i64>) -> Response {
    closing((status, axum::Json(UploadError { error, received })).into_response())
}

/// `GET /files/ID`: the file as it was uploaded, always as a download.
pub async fn download(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    serve(&state, &headers, id, Variant::Original).await
}

/// `GET /files/ID/thumb` and `/files/ID/preview`: an image as the server
/// re-encoded it, shown inline.
pub async fn image(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, variant)): Path<(i64, String)>,
) -> Response {
    let variant = match variant.as_str() {
        "thumb" => Variant::Thumbnail,
        "preview" => Variant::Preview,
        _ => return not_found(),
    };
    serve(&state, &headers, id, variant).await
}

/// The one answer for "no such file", "not yours to read" and "not signed
/// in", so a file's existence never leaks.
fn not_found() -> Response {
    let mut response = (StatusCode::NOT_FOUND, "no such file").into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn serve(state: &AppState, headers: &HeaderMap, id: i64, variant: Variant) -> Response {
    let user = match user_of(state, headers).await {
        Ok(Some(user)) => user,
        Ok(None) => return not_found(),
        Err(response) => return response,
    };
    let readable = match files::open(state, user, id, variant).await {
        Ok(readable) => readable,
        Err(FileError::Store(err)) => {
            tracing::error!(error = %err, "files: lookup failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        Err(_) => return not_found(),
    };
    // A file never changes: its tag is its id and variant. The browser
    // asks again every time (`no-cache`), so a member who was removed
    // is refused, and an unchanged file costs a 304.
    let etag = format!("\"f{}-{}\"", id, readable.variant);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        match body_of(state, &readable).await {
            Some((body, first)) => {
                let mut response = Response::new(body);
                describe(response.headers_mut(), &readable, variant, &first);
                response
            }
            None => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    };
    let out = response.headers_mut();
    if let Ok(tag) = HeaderValue::from_str(&etag) {
        out.insert(header::ETAG, tag);
    }
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    out.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(FILE_CSP),
    );
    response
}

/// The type, length and disposition of a file's answer.
fn describe(out: &mut HeaderMap, readable: &Readable, variant: Variant, first: &[u8]) {
    let file = &readable.file;
    let (mime, disposition) = match variant {
        Variant::Original => {
            let mime = files::served_type(&file.view().mime).to_string();
            (mime, attachment(&file.name))
        }
        // Made by the server: JPEG or PNG.
        Variant::Thumbnail | Variant::Preview => {
            let mime = infer::get(first).map_or("image/jpeg", |k| k.mime_type());
            (mime.to_string(), "inline".to_string())
        }
    };
    if let Ok(value) = HeaderValue::from_str(&mime) {
        out.insert(header::CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        out.insert(header::CONTENT_DISPOSITION, value);
    }
    if variant == Variant::Original {
        out.insert(header::CONTENT_LENGTH, HeaderValue::from(file.size));
    }
}

/// `attachment` with the file's name: an ASCII stand-in, and the real one
/// in RFC 5987's encoding.
fn attachment(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::with_capacity(name.len() * 3);
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// The file's bytes as a stream of opened chunks, one read from the
/// database at a time (a download never sits whole in memory). The first
/// chunk is read before the answer starts, so a failure there is a 500 and
/// not a cut-off file; it is handed back too (its first bytes say an
/// image's type).
async fn body_of(state: &AppState, readable: &Readable) -> Option<(Body, Bytes)> {
    let (file, variant, chunks) = (readable.file.id, readable.variant, readable.chunks);
    let first = match state.store.chunk(file, variant, 0, chunks == 1).await {
        Ok(Some(bytes)) => Bytes::from(bytes),
        Ok(None) => return None,
        Err(err) => {
            tracing::error!(error = %err, file, "files: a chunk does not open");
            return None;
        }
    };
    let store = state.store.clone();
    let rest = futures::stream::unfold(1i64, move |index| {
        let store = store.clone();
        async move {
            if index >= chunks {
                return None;
            }
            let next = match store.chunk(file, variant, index, index + 1 == chunks).await {
                Ok(Some(bytes)) => Ok(Bytes::from(bytes)),
                Ok(None) => Err(std::io::Error::other("a chunk is missing")),
                Err(err) => {
                    tracing::error!(error = %err, file, index, "files: a chunk does not open");
                    Err(std::io::Error::other("a chunk does not open"))
                }
            };
            // After an error the stream ends (the client sees a cut).
            let after = if next.is_ok() { index + 1 } else { chunks };
            Some((next, after))
        }
    });
    let head = futures::stream::once({
        let first = first.clone();
        async move { Ok::<Bytes, std::io::Error>(first) }
    });
    let stream = futures::StreamExt::chain(head, rest);
    Some((Body::from_stream(stream), first))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_download_names_its_file_safely() {
        assert_eq!(
            attachment("report.pdf"),
            "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
        );
        assert_eq!(
            attachment("a\"b; c.txt"),
            "attachment; filename=\"a_b; c.txt\"; filename*=UTF-8''a%22b%3B%20c.txt"
        );
        assert_eq!(
            attachment("café.png"),
            "attachment; filename=\"caf_.png\"; filename*=UTF-8''caf%C3%A9.png"
        );
    }
}
