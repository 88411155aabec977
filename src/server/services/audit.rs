//! The audit log: every change an admin or the command line makes to who
//! may do what is recorded with who, when and from where; admins read it
//! on the admin page (`admin::audit_log`).

use super::actor::Actor;
use crate::server::store::{now_ms, NewAuditEntry, Store};

/// Who made a change, as the log keeps it.
pub struct Who {
    pub actor_id: Option<i64>,
    pub actor: String,
    pub address: Option<String>,
}

impl From<&Actor> for Who {
    fn from(actor: &Actor) -> Who {
        Who {
            actor_id: Some(actor.id),
            actor: actor.email.clone(),
            address: actor.address.map(|ip| ip.to_string()),
        }
    }
}

impl Who {
    /// `glasschat admin …` run on the server: the operating-system user
    /// stands in for an account.
    pub fn command_line() -> Who {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".into());
        Who {
            actor_id: None,
            actor: format!("command line ({user})"),
            address: None,
        }
    }
}

/// Records one change. The change is already made: a failure to record it
/// is logged loudly but does not undo or refuse it.
pub async fn record(store: &Store, who: &Who, action: &str, target: &str, detail: &str) {
    let entry = NewAuditEntry {
        at: now_ms(),
        actor_id: who.actor_id,
        actor: &who.actor,
        address: who.address.clone(),
        action,
        target,
        detail,
    };
    if let Err(err) = store.record_audit(entry).await {
        tracing::error!(error = %err, action, target, "could not write the audit log");
    }
}
