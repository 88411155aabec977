//! Websites that embed the chat widget, and their visitors' accounts.

use super::users::UserRow;
use super::{on_pool, Store, StoreError};
use crate::model::{SiteView, VisitorDetails};
use crate::server::crypto::Sealed;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SiteRow {
    pub id: i64,
    pub public_key: String,
    pub name: String,
    /// One origin per line.
    pub origins: String,
    /// Department ids, comma-separated, the default first.
    pub departments: String,
    pub anonymous: bool,
    pub secret: Vec<u8>,
    pub secret_key_id: i64,
    pub secret_nonce: Vec<u8>,
}

impl SiteRow {
    pub fn origins(&self) -> Vec<String> {
        self.origins.lines().map(str::to_string).collect()
    }

    /// Exactly one of the site's origins (as a browser writes `Origin`).
    pub fn allows(&self, origin: &str) -> bool {
        self.origins.lines().any(|o| o == origin)
    }

    pub fn department_ids(&self) -> Vec<i64> {
        crate::validate::id_list(&self.departments).unwrap_or_default()
    }

    pub fn view(&self) -> SiteView {
        SiteView {
            id: self.id,
            key: self.public_key.clone(),
            name: self.name.clone(),
            origins: self.origins(),
            departments: self.department_ids(),
            anonymous: self.anonymous,
        }
    }
}

/// What a site is set to (the secret is set apart).
pub struct SiteSettings<'a> {
    pub name: &'a str,
    pub origins: &'a [String],
    pub departments: &'a [i64],
    pub anonymous: bool,
}

impl SiteSettings<'_> {
    fn origins_text(&self) -> String {
        self.origins.join("\n")
    }

    fn departments_text(&self) -> String {
        crate::validate::id_text(self.departments)
    }
}

/// A visitor's account as the widget makes it.
pub struct NewVisitor<'a> {
    pub site_id: i64,
    /// The host's id for a verified visitor; `None` for an anonymous one.
    pub external_id: Option<&'a str>,
    pub name: &'a str,
    pub email: &'a str,
    /// The `users.email` of the account: unique and never anyone's real
    /// address (`store::users` finds no visitor by email).
    pub account_email: &'a str,
    pub page: Option<&'a str>,
    pub time_zone: Option<&'a str>,
    pub now: i64,
}

#[derive(sqlx::FromRow)]
struct VisitorRow {
    name: String,
    email: String,
    site: String,
    external_id: Option<String>,
    page: Option<String>,
    time_zone: Option<String>,
}

const SITE_COLUMNS: &str =
    "id, public_key, name, origins, departments, anonymous, secret, secret_key_id, secret_nonce";

impl Store {
    pub async fn create_site(
        &self,
        key: &str,
        settings: &SiteSettings<'_>,
        secret: &Sealed,
        now: i64,
    ) -> Result<SiteRow, StoreError> {
        let sql = format!(
            "INSERT INTO sites (public_key, name, origins, departments, anonymous, secret, secret_key_id, secret_nonce, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {SITE_COLUMNS}"
        );
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as::<_, SiteRow>(&sql)
                .bind(key)
                .bind(settings.name)
                .bind(settings.origins_text())
                .bind(settings.departments_text())
                .bind(settings.anonymous)
                .bind(&secret.body)
                .bind(secret.key_id)
                .bind(&secret.nonce)
                .bind(now)
                .fetch_one(pool)
                .await?
        }))
    }

    /// Changes a site's settings; `None` when there is no such site.
    pub async fn update_site(
        &self,
        id: i64,
        settings: &SiteSettings<'_>,
    ) -> Result<Option<SiteRow>, StoreError> {
        let sql = format!(
            "UPDATE sites SET name = $2, origins = $3, departments = $4, anonymous = $5
             WHERE id = $1 RETURNING {SITE_COLUMNS}"
        );
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as::<_, SiteRow>(&sql)
                .bind(id)
                .bind(settings.name)
                .bind(settings.origins_text())
                .bind(settings.departments_text())
                .bind(settings.anonymous)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Replaces a site's identity secret: tokens signed with the old one
    /// are refused from now on.
    pub async fn set_site_secret(&self, id: i64, secret: &Sealed) -> Result<(), StoreError> {
        on_pool!(self.db(), pool => {
            sqlx::query("UPDATE sites SET secret = $2, secret_key_id = $3, secret_nonce = $4 WHERE id = $1")
                .bind(id)
                .bind(&secret.body)
                .bind(secret.key_id)
                .bind(&secret.nonce)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    pub async fn sites(&self) -> Result<Vec<SiteRow>, StoreError> {
        let sql = format!("SELECT {SITE_COLUMNS} FROM sites ORDER BY name, id");
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as::<_, SiteRow>(&sql).fetch_all(pool).await?
        }))
    }

    pub async fn site(&self, id: i64) -> Result<Option<SiteRow>, StoreError> {
        let sql = format!("SELECT {SITE_COLUMNS} FROM sites WHERE id = $1");
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as::<_, SiteRow>(&sql).bind(id).fetch_optional(pool).await?
        }))
    }

    pub async fn site_by_key(&self, key: &str) -> Result<Option<SiteRow>, StoreError> {
        let sql = format!("SELECT {SITE_COLUMNS} FROM sites WHERE public_key = $1");
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as::<_, SiteRow>(&sql).bind(key).fetch_optional(pool).await?
        }))
    }

    /// The verified visitor a site knows as `external_id`, if any.
    pub async fn verified_visitor(
        &self,
        site_id: i64,
        external_id: &str,
    ) -> Result<Option<UserRow>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as::<_, UserRow>(
                "SELECT u.id, u.email, u.display_name, u.password_hash, u.role, u.site_id, u.deactivated_at
                 FROM visitors v JOIN users u ON u.id = v.user_id
                 WHERE v.site_id = $1 AND v.external_id = $2",
            )
            .bind(site_id)
            .bind(external_id)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Creates a visitor's account and its details in one transaction. A
    /// verified visitor made at the same moment by another tab is a unique
    /// violation (the caller reads the winner's).
    pub async fn create_visitor(&self, visitor: &NewVisitor<'_>) -> Result<UserRow, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let user = sqlx::query_as::<_, UserRow>(
                "INSERT INTO users (email, display_name, password_hash, role, created_at, site_id)
                 VALUES ($1, $2, '!', 'member', $3, $4)
                 RETURNING id, email, display_name, password_hash, role, site_id, deactivated_at",
            )
            .bind(visitor.account_email)
            .bind(visitor.name)
            .bind(visitor.now)
            .bind(visitor.site_id)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO visitors (user_id, site_id, external_id, email, page, time_zone, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(user.id)
            .bind(visitor.site_id)
            .bind(visitor.external_id)
            .bind(visitor.email)
            .bind(visitor.page)
            .bind(visitor.time_zone)
            .bind(visitor.now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            user
        }))
    }

    /// A verified visitor's name and email as the site's latest token says.
    pub async fn rename_visitor(
        &self,
        user_id: i64,
        name: &str,
        email: &str,
    ) -> Result<(), StoreError> {
        on_pool!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE users SET display_name = $2 WHERE id = $1 AND site_id IS NOT NULL")
                .bind(user_id)
                .bind(name)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE visitors SET email = $2 WHERE user_id = $1")
                .bind(user_id)
                .bind(email)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Where the visitor is on the site now (page, time zone); a `None`
    /// keeps what was known.
    pub async fn visitor_seen_at(
        &self,
        user_id: i64,
        page: Option<&str>,
        time_zone: Option<&str>,
    ) -> Result<(), StoreError> {
        on_pool!(self.db(), pool => {
            sqlx::query(
                "UPDATE visitors SET page = COALESCE($2, page), time_zone = COALESCE($3, time_zone)
                 WHERE user_id = $1",
            )
            .bind(user_id)
            .bind(page)
            .bind(time_zone)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    pub async fn visitor_details(
        &self,
        user_id: i64,
    ) -> Result<Option<VisitorDetails>, StoreError> {
        let row: Option<VisitorRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT u.display_name AS name, v.email, s.name AS site, v.external_id, v.page, v.time_zone
                 FROM visitors v JOIN users u ON u.id = v.user_id JOIN sites s ON s.id = v.site_id
                 WHERE v.user_id = $1",
            )
            .bind(user_id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|r| VisitorDetails {
            name: r.name,
            email: r.email,
            site: r.site,
            verified: r.external_id.is_some(),
            external_id: r.external_id,
            page: r.page,
            time_zone: r.time_zone,
        }))
    }

    /// Whether the visitor's account was made by a verified token.
    pub async fn visitor_verified(&self, user_id: i64) -> Result<bool, StoreError> {
        let found: Option<Option<String>> = on_pool!(self.db(), pool => {
            sqlx::query_scalar("SELECT external_id FROM visitors WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(matches!(found, Some(Some(_))))
    }
}
