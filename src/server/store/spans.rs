//! Reads of stretches of several rooms' sequences in one statement: a
//! user in 500 rooms catching up, or a node reading back what its peers
//! stored in many rooms, costs a few queries, not a few per room.
//!
//! The stretches are a condition of bound parameters, `(room = $1 AND seq
//! BETWEEN $2 AND $3) OR …`, that both databases answer with one index
//! probe per stretch (a join to a table of them let Postgres misjudge it
//! and scan every message). One query text serves both databases and
//! stays prepared: a batch is padded with empty stretches up to one of
//! `SLOTS` stretches.

use std::collections::HashMap;

use sqlx::postgres::PgRow;
use sqlx::query::QueryAs;
use sqlx::sqlite::SqliteRow;
use sqlx::{Database, Encode, FromRow, Type};

use super::{on_pool, Store, StoreError};
use crate::realtime::protocol::MessageView;

/// `low..=high` of room `room`'s seqs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Span {
    pub room: i64,
    pub low: i64,
    pub high: i64,
}

/// Matches nothing: pads a batch up to its query's number of stretches.
const EMPTY: Span = Span {
    room: 0,
    low: 1,
    high: 0,
};

/// The stretch counts a query text is written for: one room (a live
/// read), a few, and many (the largest batch).
const SLOTS: [usize; 3] = [1, 8, 64];

/// `spans` in batches of at most the largest slot count, each padded to
/// the smallest count that holds it.
fn batches(spans: &[Span]) -> impl Iterator<Item = Vec<Span>> + '_ {
    spans.chunks(SLOTS[SLOTS.len() - 1]).map(|chunk| {
        let slots = SLOTS
            .into_iter()
            .find(|&n| n >= chunk.len())
            .unwrap_or(chunk.len());
        let mut batch = chunk.to_vec();
        batch.resize(slots, EMPTY);
        batch
    })
}

/// Where a query says which rows it wants: `SPANS` in the text is
/// replaced by the condition that a row lies in one of the stretches.
pub(super) const SPANS: &str = "$SPANS";

/// The columns a query's stretches are over: the room's and the seq's.
pub(super) type SpanColumns = (&'static str, &'static str);

impl Store {
    /// The rows `query` returns for each batch of `spans`, where `SPANS` in
    /// `query` stands for "(`columns`) lies in one of the stretches".
    pub(super) async fn rows_in_spans<O>(
        &self,
        query: &str,
        columns: SpanColumns,
        spans: &[Span],
    ) -> Result<Vec<O>, StoreError>
    where
        O: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        let mut out = Vec::new();
        for batch in batches(spans) {
            let sql = query.replace(SPANS, &in_spans(columns, batch.len()));
            let rows: Vec<O> = on_pool!(self.db(), pool => {
                bind_spans(sqlx::query_as(&sql), &batch).fetch_all(pool).await?
            });
            out.extend(rows);
        }
        Ok(out)
    }
}

/// `((room = $1 AND value BETWEEN $2 AND $3) OR …)` for a batch of
/// `count` stretches.
fn in_spans((room, value): SpanColumns, count: usize) -> String {
    let terms: Vec<String> = (0..count)
        .map(|i| {
            format!(
                "({room} = ${} AND {value} BETWEEN ${} AND ${})",
                3 * i + 1,
                3 * i + 2,
                3 * i + 3
            )
        })
        .collect();
    format!("({})", terms.join(" OR "))
}

/// Binds a batch's stretches to a query written with `in_spans(_, batch.len())`.
fn bind_spans<'q, DB, O>(
    mut query: QueryAs<'q, DB, O, <DB as Database>::Arguments<'q>>,
    batch: &[Span],
) -> QueryAs<'q, DB, O, <DB as Database>::Arguments<'q>>
where
    DB: Database,
    i64: Encode<'q, DB> + Type<DB>,
{
    for span in batch {
        query = query.bind(span.room).bind(span.low).bind(span.high);
    }
    query
}

/// The stretch of each room's seqs in `views` (lowest to highest), in the
/// order the rooms first appear.
pub(super) fn spans_of(views: &[MessageView]) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    let mut at: HashMap<i64, usize> = HashMap::new();
    for view in views {
        let (room, seq) = (view.room, view.seq);
        match at.get(&room) {
            Some(&i) => {
                out[i].low = out[i].low.min(seq);
                out[i].high = out[i].high.max(seq);
            }
            None => {
                at.insert(room, out.len());
                out.push(Span {
                    room,
                    low: seq,
                    high: seq,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(room: i64, low: i64, high: i64) -> Span {
        Span { room, low, high }
    }

    #[test]
    fn batches_are_padded_to_a_few_sizes_with_stretches_that_match_nothing() {
        let one = vec![span(4, 1, 9)];
        assert_eq!(batches(&one).collect::<Vec<_>>(), vec![one.clone()]);
        let three: Vec<Span> = (1..=3).map(|r| span(r, 1, 2)).collect();
        let padded: Vec<Vec<Span>> = batches(&three).collect();
        assert_eq!(padded.len(), 1);
        assert_eq!(padded[0].len(), 8);
        assert_eq!(&padded[0][..3], &three[..]);
        assert!(padded[0][3..].iter().all(|s| s.low > s.high));
        let many: Vec<Span> = (1..=70).map(|r| span(r, 1, 2)).collect();
        let sizes: Vec<usize> = batches(&many).map(|b| b.len()).collect();
        assert_eq!(sizes, vec![64, 8]);
        assert_eq!(batches(&[]).count(), 0);
    }

    #[test]
    fn the_condition_numbers_its_parameters_in_stretch_order() {
        assert_eq!(
            in_spans(("m.room_id", "m.seq"), 2),
            "((m.room_id = $1 AND m.seq BETWEEN $2 AND $3) OR (m.room_id = $4 AND m.seq BETWEEN $5 AND $6))"
        );
    }

    #[test]
    fn each_room_gets_one_stretch_from_its_lowest_to_its_highest_seq() {
        let views: Vec<MessageView> = [(7, 5), (3, 2), (7, 9), (7, 6), (3, 1)]
            .into_iter()
            .map(|(room, seq)| MessageView {
                room,
                seq,
                ..MessageView::default()
            })
            .collect();
        let spans = spans_of(&views);
        assert_eq!(spans, vec![span(7, 5, 9), span(3, 1, 2)]);
    }
}
