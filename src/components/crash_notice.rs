//! What the user sees when the client panics. A panic leaves the WASM app
//! dead (the trap that follows unwinds nothing), so instead of a page that
//! silently stops answering, the panic hook puts a notice on top of it with
//! a reload link. Plain DOM calls: the reactive system may be what broke.

/// Logs the panic (with its stack) to the console, then shows the notice.
#[cfg(feature = "hydrate")]
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        show();
    }));
}

#[cfg(feature = "hydrate")]
fn show() {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if document.get_element_by_id("crash-notice").is_some() {
        return;
    }
    let (Ok(notice), Some(body)) = (document.create_element("div"), document.body()) else {
        return;
    };
    notice.set_id("crash-notice");
    let _ = notice.set_attribute("role", "alert");
    let _ = notice.set_attribute(
        "class",
        "fixed inset-x-0 top-0 z-50 flex items-center justify-center gap-4 bg-rose-900 px-4 py-3 text-sm text-white shadow-lg",
    );
    // Text nodes only (no markup is ever parsed), and fixed text: nothing
    // from the panic or the page goes into it.
    if let Ok(text) = document.create_element("span") {
        text.set_text_content(Some("Something went wrong and this page stopped working."));
        let _ = notice.append_child(&text);
    }
    if let Ok(reload) = document.create_element("a") {
        // The current address, outside the (dead) client-side router.
        let _ = reload.set_attribute("href", "");
        let _ = reload.set_attribute("rel", "external");
        let _ = reload.set_attribute(
            "class",
            "rounded-lg bg-white px-3 py-1 font-semibold text-rose-900",
        );
        reload.set_text_content(Some("Reload"));
        let _ = notice.append_child(&reload);
    }
    let _ = body.append_child(&notice);
}
