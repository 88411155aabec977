//! Uploads: a file is announced here (its name, size and room, and an
//! upload id the browser made), then its bytes go to `PUT /api/files/ID`
//! (`server/http/files.rs`), streamed. Announcing the same upload id again
//! says how far it got, so a cut upload resumes there.

use leptos::prelude::*;

use super::error::ApiError;
use crate::model::UploadState;

#[cfg(feature = "ssr")]
use {super::edge::participant, crate::server::services::files};

/// Starts an upload of `size` bytes named `name` into `room` (or finds the
/// one started with `upload_id`): where it stands. Refused before a byte
/// is sent when the file is over the size limit or the user's quota.
#[server(endpoint = "start_upload")]
pub async fn start_upload(
    upload_id: String,
    room: i64,
    name: String,
    size: i64,
) -> Result<UploadState, ApiError> {
    let (edge, actor) = participant().await?;
    edge.answer(files::start(&edge.state, actor.id, &upload_id, room, &name, size).await)
}

/// The bytes of an upload, sent from the browser with `XMLHttpRequest`
/// (`fetch` reports no upload progress). One request carries the rest of
/// the file; a cut one is resumed from what the server kept.
#[cfg(feature = "hydrate")]
pub mod transfer {
    use std::cell::RefCell;
    use std::rc::Rc;

    use futures::channel::oneshot;
    use wasm_bindgen::prelude::*;
    use web_sys::{Blob, ProgressEvent, XmlHttpRequest};

    use crate::model::UploadState;

    /// How a request for an upload's bytes ended.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Outcome {
        /// The server's answer: where the upload stands now.
        Stored(UploadState),
        /// Refused, with the server's reason (409: sent from the wrong place).
        Refused { status: u16, reason: String },
        /// No answer: the connection broke.
        Lost,
        /// Cancelled here.
        Aborted,
    }

    #[derive(serde::Deserialize)]
    struct Refusal {
        error: String,
    }

    /// Starts sending `blob` as upload `id`'s bytes from `offset`;
    /// `progress` hears the bytes of `blob` sent so far. The request (to
    /// abort it) and its end.
    pub fn send(
        id: i64,
        offset: i64,
        blob: &Blob,
        progress: impl Fn(f64) + 'static,
    ) -> Result<(XmlHttpRequest, impl std::future::Future<Output = Outcome>), JsValue> {
        let xhr = XmlHttpRequest::new()?;
        xhr.open("PUT", &format!("/api/files/{id}?offset={offset}"))?;
        xhr.set_request_header("Content-Type", "application/octet-stream")?;
        let (tell, ended) = oneshot::channel::<Outcome>();
        let tell = Rc::new(RefCell::new(Some(tell)));
        let end = {
            let xhr = xhr.clone();
            let tell = tell.clone();
            move |how: &str| {
                let outcome = match how {
                    "load" => answer(&xhr),
                    "abort" => Outcome::Aborted,
                    _ => Outcome::Lost,
                };
                if let Some(tell) = tell.borrow_mut().take() {
                    let _ = tell.send(outcome);
                }
            }
        };
        let end = Rc::new(end);
        let on = |how: &'static str| {
            let end = end.clone();
            Closure::<dyn FnMut()>::new(move || end(how))
        };
        let (on_load, on_error, on_abort) = (on("load"), on("error"), on("abort"));
        xhr.set_onload(Some(on_load.as_ref().unchecked_ref()));
        xhr.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        xhr.set_onabort(Some(on_abort.as_ref().unchecked_ref()));
        let on_progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |ev: ProgressEvent| {
            progress(ev.loaded());
        });
        xhr.upload()?
            .set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
        xhr.send_with_opt_blob(Some(blob))?;
        let done = async move {
            let outcome = ended.await.unwrap_or(Outcome::Lost);
            // The handlers live until the request has ended.
            drop((on_load, on_error, on_abort, on_progress));
            outcome
        };
        Ok((xhr, done))
    }

    fn answer(xhr: &XmlHttpRequest) -> Outcome {
        let status = xhr.status().unwrap_or(0);
        let text = xhr.response_text().ok().flatten().unwrap_or_default();
        if status == 200 {
            return match serde_json::from_str::<UploadState>(&text) {
                Ok(state) => Outcome::Stored(state),
                Err(_) => Outcome::Lost,
            };
        }
        let reason = serde_json::from_str::<Refusal>(&text)
            .map(|r| r.error)
            .unwrap_or_else(|_| format!("the server answered {status}"));
        Outcome::Refused { status, reason }
    }
}
