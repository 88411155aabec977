//! `glasschat admin …`: what the person running the server can do from its
//! command line, on a live database, without signing in. Each change is
//! in the audit log under "command line". The running servers see it in
//! the database: a deactivated account's sockets close within a second
//! (`lifecycle::spawn_watch`); someone made admin sees the support desk
//! after their next reload.

use super::audit::{self, Who};
use super::lifecycle;
use super::password_reset;
use crate::model::Role;
use crate::server::auth::{password, token};
use crate::server::store::{now_ms, NewUser, Store, SSO_PASSWORD_LOGIN};
use crate::validate;

pub const USAGE: &str = "usage: glasschat admin COMMAND
  create-admin EMAIL     make EMAIL an admin (creating the account if there is none) and print a link to set its password
  reset-password EMAIL   print a one-time link that sets a new password for EMAIL
  deactivate EMAIL       end every session of EMAIL and refuse its sign-ins (its messages stay)
  reactivate EMAIL       let a deactivated EMAIL sign in again
  list-users             every account with its role and state
  password-login on|off  allow or refuse sign-in with a password (with single sign-on set up)";

/// Runs one command; the text to print, or the one line that says why not.
pub async fn run(store: &Store, origin: &str, args: &[String]) -> Result<String, String> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["list-users"] => list_users(store).await,
        ["password-login", setting @ ("on" | "off")] => {
            let on = *setting == "on";
            store
                .set_settings(
                    &[(SSO_PASSWORD_LOGIN, if on { "1" } else { "0" })],
                    now_ms(),
                )
                .await
                .map_err(|e| e.to_string())?;
            let detail = format!("password sign-in {setting}");
            audit::record(
                store,
                &Who::command_line(),
                "sso.changed",
                "single sign-on",
                &detail,
            )
            .await;
            Ok(format!("sign-in with a password is {setting}\n"))
        }
        ["create-admin", email] => create_admin(store, origin, &checked(email)?).await,
        ["reset-password", email] => {
            let email = checked(email)?;
            let link = password_reset::link_for_email(store, origin, &email).await?;
            audit::record(store, &Who::command_line(), "user.reset_link", &email, "").await;
            Ok(format!(
                "A one-time link to set a new password for {email} (it works for 30 minutes; \
                 using it signs the account out everywhere):\n{link}\n"
            ))
        }
        ["deactivate", email] => lifecycle::deactivate_by_email(store, &checked(email)?)
            .await
            .map_err(|e| format!("cannot deactivate {email}: {e}")),
        ["reactivate", email] => lifecycle::reactivate_by_email(store, &checked(email)?)
            .await
            .map_err(|e| format!("cannot reactivate {email}: {e}")),
        _ => Err(USAGE.into()),
    }
}

fn checked(email: &str) -> Result<String, String> {
    validate::email(email).map_err(|_| format!("{email:?} is not an email address"))
}

async fn list_users(store: &Store) -> Result<String, String> {
    let users = store.users_for_admin().await.map_err(|e| e.to_string())?;
    let wide = users
        .iter()
        .map(|u| u.email.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut out = format!(
        "{:<6} {:<wide$} {:<7} {:<11} name\n",
        "id", "email", "role", "state"
    );
    for user in &users {
        let state = if user.deactivated {
            "deactivated"
        } else {
            "active"
        };
        out.push_str(&format!(
            "{:<6} {:<wide$} {:<7} {:<11} {}\n",
            user.id,
            user.email,
            user.role.as_str(),
            state,
            user.display_name
        ));
    }
    out.push_str(&format!("{} accounts\n", users.len()));
    Ok(out)
}

/// Makes `email` an admin. An account that does not exist is made with a
/// password nobody knows (a random one, hashed) and a link to set one.
async fn create_admin(store: &Store, origin: &str, email: &str) -> Result<String, String> {
    let fail = |e: &dyn std::fmt::Display| e.to_string();
    let who = Who::command_line();
    let existing = store.user_by_email(email).await.map_err(|e| fail(&e))?;
    let (user, created) = match existing {
        Some(user) if user.deactivated_at.is_some() => {
            return Err(format!(
                "{email} is deactivated: reactivate it first (glasschat admin reactivate {email})"
            ))
        }
        Some(user) if user.role() == Role::Admin => {
            return Ok(format!("{email} is an admin already\n"))
        }
        Some(user) => (user, false),
        None => {
            let local = email.split('@').next().unwrap_or(email);
            let name = validate::display_name(local).unwrap_or_else(|_| "Admin".into());
            let unknown = password::hash(token::random_text(32))
                .await
                .map_err(|e| fail(&e))?;
            let user = store
                .create_user(NewUser {
                    email,
                    display_name: &name,
                    password_hash: &unknown,
                    now: now_ms(),
                })
                .await
                .map_err(|e| fail(&e))?;
            audit::record(store, &who, "user.created", email, "").await;
            (user, true)
        }
    };
    if user.role() != Role::Admin {
        if !store
            .set_role(user.id, Role::Admin)
            .await
            .map_err(|e| fail(&e))?
        {
            return Err(format!("could not make {email} an admin"));
        }
        let detail = format!("{} → admin", user.role().as_str());
        audit::record(store, &who, "user.role", email, &detail).await;
        // Admins are staff of every support conversation.
        let now = now_ms();
        for room in store.support_rooms(None).await.map_err(|e| fail(&e))? {
            store
                .sync_support_staff(room, now)
                .await
                .map_err(|e| fail(&e))?;
        }
    }
    if !created {
        return Ok(format!(
            "{email} is now an admin (an open tab shows it after a reload)\n"
        ));
    }
    let link = password_reset::new_link(store, origin, &user)
        .await
        .map_err(|e| fail(&e))?;
    audit::record(store, &who, "user.reset_link", email, "").await;
    Ok(format!(
        "created {email} as an admin; this one-time link sets its password \
         (it works for 30 minutes):\n{link}\n"
    ))
}
