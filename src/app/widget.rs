use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::components::widget_panel::WidgetPanel;

/// `/widget/SITE?host=ORIGIN`: the website widget's panel, framed by the
/// site's page at ORIGIN (see `components::widget_panel`). Drawn in the
/// browser only: who the visitor is comes from the host page.
#[component]
pub fn WidgetPage() -> impl IntoView {
    let site = use_params_map().with_untracked(|p| p.get("site").unwrap_or_default());
    let host = use_query_map().with_untracked(|q| q.get("host").unwrap_or_default());
    view! {
        <Title text="Chat"/>
        <WidgetPanel site host/>
    }
}

lazy_page! {
    /// The panel's code is its own WASM file: members never download it, and
    /// a visitor's first load carries no sidebar, admin or auth pages.
    WidgetRoute => WidgetPage
}
