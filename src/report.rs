//! Support reports, shared by the server (which computes them) and the
//! reports page (which draws them and writes the same numbers as CSV).
//! Days are calendar days in the asker's time zone, given as an offset
//! from UTC; dates are ISO `YYYY-MM-DD`.

use serde::{Deserialize, Serialize};

use crate::model::{DepartmentView, StaffView};

pub use crate::calendar::{format_date, parse_date, DAY_MS};

/// The longest range a report covers, in days.
pub const MAX_DAYS: i64 = 366;
/// Offsets from UTC run from -12:00 to +14:00.
pub const OFFSET_MINUTES: std::ops::RangeInclusive<i64> = -720..=840;

/// One period's figures (a day, or the whole range).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// New conversations: the customer's first message.
    pub started: i64,
    /// Waits answered: from a customer's first message (of a conversation,
    /// or after it was reopened) to the first staff reply.
    pub first_responses: i64,
    pub first_response_median_ms: Option<i64>,
    pub first_response_p90_ms: Option<i64>,
    /// Resolutions, timed from the start or the reopening.
    pub resolved: i64,
    pub resolution_median_ms: Option<i64>,
    pub resolution_p90_ms: Option<i64>,
    /// Conversations open (started or reopened, not resolved) at the end
    /// of the day (for the whole range: at its end).
    pub open_at_end: i64,
    pub ratings: i64,
    /// The mean score, 1 to 5.
    pub rating_average: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Day {
    pub date: String,
    pub figures: Figures,
}

/// A report as the page shows it, with what the asker may narrow it to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub from: String,
    pub to: String,
    /// 0: every department the asker may see.
    pub department: i64,
    /// 0: everyone.
    pub agent: i64,
    pub days: Vec<Day>,
    pub total: Figures,
    pub departments: Vec<DepartmentView>,
    pub agents: Vec<StaffView>,
}

/// The median of sorted `values` (the mean of the two middle ones when
/// their number is even, rounded down).
pub fn median(sorted: &[i64]) -> Option<i64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]).div_euclid(2)),
    }
}

/// The 90th percentile of sorted `values`, by nearest rank: the smallest
/// value with at least 90% of them at or below it.
pub fn p90(sorted: &[i64]) -> Option<i64> {
    let n = sorted.len();
    (n > 0).then(|| sorted[(n * 9).div_ceil(10) - 1])
}

/// Seconds, as the CSV writes times.
fn seconds(ms: Option<i64>) -> String {
    ms.map(|ms| (ms / 1000).to_string()).unwrap_or_default()
}

impl Figures {
    fn csv_row(&self, label: &str) -> String {
        let average = self
            .rating_average
            .map(|a| format!("{a:.2}"))
            .unwrap_or_default();
        format!(
            "{label},{},{},{},{},{},{},{},{},{},{average}\n",
            self.started,
            self.first_responses,
            seconds(self.first_response_median_ms),
            seconds(self.first_response_p90_ms),
            self.resolved,
            seconds(self.resolution_median_ms),
            seconds(self.resolution_p90_ms),
            self.open_at_end,
            self.ratings,
        )
    }
}

impl Report {
    /// The same numbers as CSV: a row per day, then the range's total
    /// (times in seconds).
    pub fn csv(&self) -> String {
        let mut out = String::from(
            "date,started,first_responses,first_response_median_s,first_response_p90_s,resolved,resolution_median_s,resolution_p90_s,open_at_end,ratings,rating_average\n",
        );
        for day in &self.days {
            out.push_str(&day.figures.csv_row(&day.date));
        }
        out.push_str(&self.total.csv_row("total"));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_percentiles_by_hand() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[5]), Some(5));
        assert_eq!(median(&[1, 2, 3, 10]), Some(2));
        assert_eq!(p90(&[7]), Some(7));
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!(p90(&ten), Some(9));
        let eleven: Vec<i64> = (1..=11).collect();
        assert_eq!(p90(&eleven), Some(10));
    }

    #[test]
    fn the_csv_holds_the_same_numbers() {
        let figures = Figures {
            started: 2,
            first_responses: 1,
            first_response_median_ms: Some(90_500),
            first_response_p90_ms: Some(90_500),
            open_at_end: 1,
            ratings: 2,
            rating_average: Some(3.5),
            ..Figures::default()
        };
        let report = Report {
            from: "2026-12-01".into(),
            to: "2026-12-01".into(),
            department: 0,
            agent: 0,
            days: vec![Day {
                date: "2026-12-01".into(),
                figures: figures.clone(),
            }],
            total: figures,
            departments: vec![],
            agents: vec![],
        };
        let csv = report.csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[1], "2026-12-01,2,1,90,90,0,,,1,2,3.50");
        assert!(lines[2].starts_with("total,2,1,"));
    }
}
