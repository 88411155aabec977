//! What the admin page's sections share: the look of fields and buttons,
//! and the page's state with its one way to make a change (`Console`).

use futures::future::{FutureExt, LocalBoxFuture, Shared};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::admin;
use crate::model::{AdminUserView, DepartmentView};

pub(super) const FIELD: &str = "rounded-lg border border-white/20 bg-slate-900/60 px-3 py-1.5 text-sm text-slate-100 focus:border-sky-400";
pub(super) const BUTTON: &str =
    "rounded-lg border border-white/20 px-3 py-1.5 text-sm text-slate-100 hover:bg-white/10";

/// The change the page made last, which the next one waits for.
type LastChange = Option<Shared<LocalBoxFuture<'static, ()>>>;

/// What the page shows, refetched after every change.
#[derive(Clone, Copy)]
pub(super) struct Console {
    pub(super) users: RwSignal<Vec<AdminUserView>>,
    pub(super) departments: RwSignal<Vec<DepartmentView>>,
    pub(super) error: RwSignal<Option<String>>,
    pub(super) last_change: StoredValue<LastChange, LocalStorage>,
}

impl Console {
    pub(super) fn reload(self) {
        spawn_local(self.fetch());
    }

    async fn fetch(self) {
        match (admin::users().await, admin::departments().await) {
            (Ok(users), Ok(departments)) => {
                self.users.set(users);
                self.departments.set(departments);
            }
            (Err(err), _) | (_, Err(err)) => self.error.set(Some(err.to_string())),
        }
    }

    /// Runs a change after the one made before it, shows its error or
    /// clears the last one, and reloads. In order: two quick changes to one
    /// person (agent, then member) sent at once could be applied by the
    /// server in either order, and the admin's last choice must win. (A
    /// server function's request goes out when it is first polled.)
    pub(super) fn change(
        self,
        call: impl std::future::Future<Output = Result<(), crate::api::ApiError>> + 'static,
    ) {
        let before = self.last_change.get_value();
        let this = async move {
            if let Some(before) = before {
                before.await;
            }
            self.error.set(call.await.err().map(|e| e.to_string()));
            // In the chain too: an older list arriving late would
            // otherwise show a change undone.
            self.fetch().await;
        }
        .boxed_local()
        .shared();
        self.last_change.set_value(Some(this.clone()));
        spawn_local(this);
    }
}

/// A section's "Save" button and what became of the last save.
#[component]
pub(super) fn SaveRow(status: RwSignal<Option<Result<&'static str, String>>>) -> impl IntoView {
    view! {
        <div class="flex items-center gap-3">
            <button type="submit" class=BUTTON>"Save"</button>
            <p role="status" class="text-sm">
                {move || match status.get() {
                    Some(Ok(text)) => view! { <span class="text-emerald-300">{text}</span> }.into_any(),
                    Some(Err(text)) => view! { <span class="text-rose-300">{text}</span> }.into_any(),
                    None => ().into_any(),
                }}
            </p>
        </div>
    }
}
