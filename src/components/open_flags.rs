//! Which dialog (or panel) is open: shared through context so the
//! sidebar's buttons, the composer and the keyboard shortcuts reach the
//! same ones. Apart from the dialogs themselves, which the composer must
//! not depend on (they call into it).

use leptos::prelude::*;

#[derive(Clone, Copy)]
pub struct Dialogs {
    pub new_chat: RwSignal<bool>,
    pub new_group: RwSignal<bool>,
    pub switcher: RwSignal<bool>,
    pub contact: RwSignal<bool>,
    pub password: RwSignal<bool>,
    /// The sidebar's search (not a dialog, but opened and closed alike).
    pub search: RwSignal<bool>,
}

impl Dialogs {
    pub fn new() -> Dialogs {
        Dialogs {
            new_chat: RwSignal::new(false),
            new_group: RwSignal::new(false),
            switcher: RwSignal::new(false),
            contact: RwSignal::new(false),
            password: RwSignal::new(false),
            search: RwSignal::new(false),
        }
    }

    pub fn close_all(&self) {
        self.new_chat.set(false);
        self.new_group.set(false);
        self.switcher.set(false);
        self.contact.set(false);
        self.password.set(false);
        self.search.set(false);
    }
}

impl Default for Dialogs {
    fn default() -> Dialogs {
        Dialogs::new()
    }
}
