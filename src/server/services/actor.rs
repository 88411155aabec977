//! Who is acting: the signed-in user, taken from their session, never from
//! what a request says. Every service takes one.

use crate::model::Role;
use crate::server::store::UserRow;

/// The signed-in user acting, from their session.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: Role,
    /// A website visitor's account: the site it belongs to.
    pub site: Option<i64>,
    /// Where the request came from, when known (the audit log records it).
    pub address: Option<std::net::IpAddr>,
}

impl Actor {
    /// The same actor, acting from `address`.
    pub fn at(self, address: Option<std::net::IpAddr>) -> Actor {
        Actor { address, ..self }
    }
}

impl From<&UserRow> for Actor {
    fn from(user: &UserRow) -> Actor {
        Actor {
            id: user.id,
            name: user.display_name.clone(),
            email: user.email.clone(),
            role: user.role(),
            site: user.site_id,
            address: None,
        }
    }
}
