use super::{on_pool, Store, StoreError};
use crate::realtime::protocol::{RoomKind, RoomSummary};

#[derive(Debug, Clone, sqlx::FromRow)]
struct SummaryRow {
    id: i64,
    kind: String,
    name: Option<String>,
    last_seq: i64,
    last_read_seq: i64,
}

impl From<SummaryRow> for RoomSummary {
    fn from(row: SummaryRow) -> RoomSummary {
        RoomSummary {
            room: row.id,
            kind: RoomKind::parse(&row.kind),
            name: row.name.unwrap_or_default(),
            last_seq: row.last_seq,
            read_seq: row.last_read_seq,
            unread: (row.last_seq - row.last_read_seq).max(0),
        }
    }
}

const SELECT_SUMMARY: &str = "SELECT r.id, r.kind, r.name, r.last_seq, m.last_read_seq
     FROM room_members m JOIN rooms r ON r.id = m.room_id";

impl Store {
    /// Every room the user belongs to, with its seq and the user's read mark.
    pub async fn rooms_of(&self, user_id: i64) -> Result<Vec<RoomSummary>, StoreError> {
        let sql = format!("{SELECT_SUMMARY} WHERE m.user_id = $1 ORDER BY r.last_activity DESC");
        let rows: Vec<SummaryRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(&sql).bind(user_id).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(RoomSummary::from).collect())
    }

    /// The room as `user_id` sees it, or `None` when they are not a member.
    pub async fn room_of(
        &self,
        user_id: i64,
        room: i64,
    ) -> Result<Option<RoomSummary>, StoreError> {
        let sql = format!("{SELECT_SUMMARY} WHERE m.user_id = $1 AND m.room_id = $2");
        let row: Option<SummaryRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(&sql).bind(user_id).bind(room).fetch_optional(pool).await?
        });
        Ok(row.map(RoomSummary::from))
    }

    /// Moves the read mark forward to `seq` (clamped to the room's last seq;
    /// never backwards). `None` when the user is not a member.
    pub async fn mark_read(
        &self,
        user_id: i64,
        room: i64,
        seq: i64,
    ) -> Result<Option<RoomSummary>, StoreError> {
        on_pool!(self.db(), pool => {
            sqlx::query(
                "UPDATE room_members SET last_read_seq =
                    (SELECT CASE WHEN $3 < r.last_seq THEN $3 ELSE r.last_seq END FROM rooms r WHERE r.id = $2)
                 WHERE user_id = $1 AND room_id = $2 AND last_read_seq < $3",
            )
            .bind(user_id)
            .bind(room)
            .bind(seq)
            .execute(pool)
            .await?;
        });
        self.room_of(user_id, room).await
    }

    /// Creates a group room owned by `owner` with `members` (owner included
    /// once even if listed). Returns the room id.
    pub async fn create_group(
        &self,
        owner: i64,
        name: &str,
        members: &[i64],
        now: i64,
    ) -> Result<i64, StoreError> {
        let room: i64 = on_pool!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let room: i64 = sqlx::query_scalar(
                "INSERT INTO rooms (kind, name, created_by, created_at, last_activity) VALUES ('group', $1, $2, $3, $3) RETURNING id",
            )
            .bind(name)
            .bind(owner)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query("INSERT INTO room_members (room_id, user_id, role, joined_at) VALUES ($1, $2, 'owner', $3)")
                .bind(room)
                .bind(owner)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            for member in members.iter().filter(|m| **m != owner) {
                sqlx::query(
                    "INSERT INTO room_members (room_id, user_id, role, joined_at) VALUES ($1, $2, 'member', $3)
                     ON CONFLICT (room_id, user_id) DO NOTHING",
                )
                .bind(room)
                .bind(member)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            room
        });
        Ok(room)
    }

    /// Ids of the accounts with these (already normalised) emails; unknown ones are skipped.
    pub async fn user_ids_by_email(
        &self,
        emails: &[String],
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let mut found = Vec::with_capacity(emails.len());
        for email in emails {
            if let Some(user) = self.user_by_email(email).await? {
                found.push((user.email, user.id));
            }
        }
        Ok(found)
    }
}
