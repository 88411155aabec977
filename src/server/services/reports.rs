//! Support reports: per day of a range, for a department and/or an agent.
//! Admins see every department and agent; an agent sees their own
//! departments, and of the agents only themselves.
//!
//! A conversation's history is replayed in seq order from its status
//! events and who wrote when (`store::reports`). A **case** runs from the
//! customer's first message (a new conversation) or a reopening, to the
//! resolution:
//! - *started*: new conversations, on the day of the customer's first
//!   message, in the department it was in then (for an agent: those they
//!   answered first);
//! - *first response*: from the customer's first message of a case to the
//!   first staff reply after it, on the day the wait began, for whoever
//!   replied (measured again from each reopening; a case nobody answered
//!   has none);
//! - *resolution*: from the case's start to the resolution, on the day of
//!   the resolution, for whoever handled it then (else who resolved it);
//! - *open at the end of the day*: cases open at the day's last instant, in
//!   the department and with the assignee they had then;
//! - *satisfaction*: ratings given that day, for the department and agent
//!   they rated.

use std::collections::HashMap;

use super::actor::Actor;
use crate::model::{Role, StaffView};
use crate::report::{
    format_date, median, p90, parse_date, Day, Figures, Report, DAY_MS, MAX_DAYS, OFFSET_MINUTES,
};
use crate::server::state::AppState;
use crate::server::store::{EventRow, RatingRow, StoreError, TurnRow};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("not allowed")]
    Forbidden,
    #[error("a range of real dates, at most a year, and a UTC offset")]
    BadRange,
    #[error("too many reports, retry in {0:?}")]
    SlowDown(std::time::Duration),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a report asks for.
#[derive(Debug, Clone)]
pub struct Ask<'a> {
    pub from: &'a str,
    pub to: &'a str,
    /// Minutes east of UTC of the asker's day.
    pub offset_minutes: i64,
    /// 0: every department the asker may see.
    pub department: i64,
    /// 0: everyone.
    pub agent: i64,
}

pub async fn report(state: &AppState, actor: &Actor, ask: &Ask<'_>) -> Result<Report, ReportError> {
    let allowed = match actor.role {
        Role::Admin => None,
        Role::Agent => Some(state.store.departments_of(actor.id).await?),
        Role::Member => return Err(ReportError::Forbidden),
    };
    if let Some(own) = &allowed {
        let department_ok = ask.department == 0 || own.contains(&ask.department);
        if !department_ok || (ask.agent != 0 && ask.agent != actor.id) {
            return Err(ReportError::Forbidden);
        }
    }
    let (first, last) = match (parse_date(ask.from), parse_date(ask.to)) {
        (Some(first), Some(last)) if first <= last && last - first < MAX_DAYS => (first, last),
        _ => return Err(ReportError::BadRange),
    };
    if !OFFSET_MINUTES.contains(&ask.offset_minutes) {
        return Err(ReportError::BadRange);
    }
    state
        .lookup_limiter
        .check(actor.id)
        .map_err(ReportError::SlowDown)?;
    let range = Range {
        first_day: first,
        days: last - first + 1,
        offset_ms: ask.offset_minutes * 60_000,
    };
    let (from, until) = (range.start(), range.end());
    let events = state.store.report_events(from, until).await?;
    let turns = state.store.report_turns(from, until).await?;
    let ratings = state.store.report_ratings(from, until).await?;
    let filter = Filter {
        department: (ask.department != 0).then_some(ask.department),
        agent: (ask.agent != 0).then_some(ask.agent),
        allowed: allowed.clone(),
    };
    let (days, total) = compute(&range, &filter, &events, &turns, &ratings);

    let mut departments = state.store.departments(true).await?;
    if let Some(own) = &allowed {
        departments.retain(|d| own.contains(&d.id));
    }
    let agents = match allowed {
        Some(_) => vec![StaffView {
            user_id: actor.id,
            display_name: actor.name.clone(),
            role: actor.role,
        }],
        None => state.store.all_staff().await?,
    };
    Ok(Report {
        from: format_date(first),
        to: format_date(last),
        department: ask.department,
        agent: ask.agent,
        days: days
            .into_iter()
            .enumerate()
            .map(|(k, figures)| Day {
                date: format_date(first + k as i64),
                figures,
            })
            .collect(),
        total,
        departments,
        agents,
    })
}

/// The report's days: `days` calendar days from `first_day`, in a zone
/// `offset_ms` east of UTC.
#[derive(Debug, Clone, Copy)]
pub struct Range {
    pub first_day: i64,
    pub days: i64,
    pub offset_ms: i64,
}

impl Range {
    /// The first instant of the first day (Unix ms).
    pub fn start(&self) -> i64 {
        self.first_day * DAY_MS - self.offset_ms
    }

    /// Just after the last day.
    pub fn end(&self) -> i64 {
        self.start() + self.days * DAY_MS
    }

    /// Which day of the range `at` falls on.
    fn day(&self, at: i64) -> Option<usize> {
        let k = (at - self.start()).div_euclid(DAY_MS);
        (0..self.days).contains(&k).then_some(k as usize)
    }
}

/// Whose figures count.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub department: Option<i64>,
    pub agent: Option<i64>,
    /// An agent's own departments (`None`: all, for admins).
    pub allowed: Option<Vec<i64>>,
}

impl Filter {
    fn department_ok(&self, department: Option<i64>) -> bool {
        match (self.department, &self.allowed) {
            (Some(wanted), _) => department == Some(wanted),
            (None, Some(own)) => department.is_some_and(|d| own.contains(&d)),
            (None, None) => true,
        }
    }

    fn agent_ok(&self, agent: Option<i64>) -> bool {
        self.agent.is_none_or(|wanted| agent == Some(wanted))
    }
}

/// One case: a conversation from its start or reopening to its resolution.
#[derive(Debug, Clone)]
struct Case {
    start: i64,
    /// A new conversation (not a reopening): counts as started.
    new: bool,
    start_department: Option<i64>,
    /// The customer's first message in this case: the wait begins.
    waiting_since: Option<i64>,
    answered: bool,
}

#[derive(Debug, Default)]
struct Samples {
    started: i64,
    first_responses: Vec<i64>,
    resolutions: Vec<i64>,
    open_at_end: i64,
    scores: Vec<i64>,
}

impl Samples {
    fn figures(mut self) -> Figures {
        self.first_responses.sort_unstable();
        self.resolutions.sort_unstable();
        let ratings = self.scores.len() as i64;
        Figures {
            started: self.started,
            first_responses: self.first_responses.len() as i64,
            first_response_median_ms: median(&self.first_responses),
            first_response_p90_ms: p90(&self.first_responses),
            resolved: self.resolutions.len() as i64,
            resolution_median_ms: median(&self.resolutions),
            resolution_p90_ms: p90(&self.resolutions),
            open_at_end: self.open_at_end,
            ratings,
            rating_average: (ratings > 0)
                .then(|| self.scores.iter().sum::<i64>() as f64 / ratings as f64),
        }
    }
}

/// One step of a conversation's history, in seq order.
enum Step<'a> {
    Event(&'a EventRow),
    Turn(&'a TurnRow),
}

/// Where a conversation stands after a step: open or not, in which
/// department, with whom.
#[derive(Debug, Clone, Copy)]
struct Standing {
    at: i64,
    open: bool,
    department: Option<i64>,
    assignee: Option<i64>,
}

/// The figures of each day of `range`, and of the whole range.
pub fn compute(
    range: &Range,
    filter: &Filter,
    events: &[EventRow],
    turns: &[TurnRow],
    ratings: &[RatingRow],
) -> (Vec<Figures>, Figures) {
    let n = range.days as usize;
    let mut days: Vec<Samples> = (0..n).map(|_| Samples::default()).collect();
    let mut total = Samples::default();

    let mut by_room: HashMap<i64, (Vec<&EventRow>, Vec<&TurnRow>)> = HashMap::new();
    for e in events {
        by_room.entry(e.room_id).or_default().0.push(e);
    }
    for t in turns {
        by_room.entry(t.room_id).or_default().1.push(t);
    }
    for (room_events, room_turns) in by_room.values() {
        let mut steps: Vec<(i64, Step)> = room_events
            .iter()
            .map(|e| (e.seq, Step::Event(e)))
            .chain(room_turns.iter().map(|t| (t.seq, Step::Turn(t))))
            .collect();
        steps.sort_by_key(|(seq, _)| *seq);
        let standings = replay(range, filter, &steps, &mut days, &mut total);
        count_open(range, filter, &standings, &mut days);
    }
    for r in ratings {
        if filter.department_ok(r.department_id) && filter.agent_ok(r.agent_id) {
            if let Some(k) = range.day(r.at) {
                days[k].scores.push(r.score);
                total.scores.push(r.score);
            }
        }
    }
    total.open_at_end = days.last().map_or(0, |d| d.open_at_end);
    (
        days.into_iter().map(Samples::figures).collect(),
        total.figures(),
    )
}

/// Replays one conversation, adding its cases' figures to the days they
/// fall on; returns where it stood after each change.
fn replay(
    range: &Range,
    filter: &Filter,
    steps: &[(i64, Step)],
    days: &mut [Samples],
    total: &mut Samples,
) -> Vec<Standing> {
    let mut department: Option<i64> = None;
    let mut assignee: Option<i64> = None;
    let mut case: Option<Case> = None;
    let mut ever_started = false;
    let mut standings = Vec::new();
    for (_, step) in steps {
        let at = match step {
            Step::Event(e) => {
                department = e.department_id;
                assignee = e.agent_id;
                match e.kind.as_str() {
                    "reopened" if case.is_none() => {
                        case = Some(Case {
                            start: e.at,
                            new: false,
                            start_department: department,
                            waiting_since: None,
                            answered: false,
                        });
                        ever_started = true;
                    }
                    "resolved" => {
                        if let Some(done) = case.take() {
                            let by = e.agent_id.or(e.actor_id);
                            if filter.department_ok(department) && filter.agent_ok(by) {
                                if let Some(k) = range.day(e.at) {
                                    days[k].resolutions.push(e.at - done.start);
                                    total.resolutions.push(e.at - done.start);
                                }
                            }
                        }
                    }
                    _ => {}
                }
                e.at
            }
            Step::Turn(t) if t.customer => {
                match case.as_mut() {
                    None => {
                        let new = !ever_started;
                        ever_started = true;
                        case = Some(Case {
                            start: t.at,
                            new,
                            start_department: department,
                            waiting_since: Some(t.at),
                            answered: false,
                        });
                        // Without an agent filter a new conversation counts
                        // at once; with one, when that agent answers it.
                        if new && filter.agent.is_none() && filter.department_ok(department) {
                            if let Some(k) = range.day(t.at) {
                                days[k].started += 1;
                                total.started += 1;
                            }
                        }
                    }
                    Some(open) if open.waiting_since.is_none() => open.waiting_since = Some(t.at),
                    Some(_) => {}
                }
                t.at
            }
            Step::Turn(t) => {
                if let Some(open) = case.as_mut() {
                    if let (Some(since), false) = (open.waiting_since, open.answered) {
                        open.answered = true;
                        let counts =
                            filter.department_ok(department) && filter.agent_ok(t.sender_id);
                        if let Some(k) = range.day(since).filter(|_| counts) {
                            days[k].first_responses.push(t.at - since);
                            total.first_responses.push(t.at - since);
                        }
                        let first_answerer = open.new && filter.agent.is_some();
                        if first_answerer
                            && filter.agent_ok(t.sender_id)
                            && filter.department_ok(open.start_department)
                        {
                            if let Some(k) = range.day(open.start) {
                                days[k].started += 1;
                                total.started += 1;
                            }
                        }
                    }
                }
                t.at
            }
        };
        standings.push(Standing {
            at,
            open: case.is_some(),
            department,
            assignee,
        });
    }
    standings
}

/// Adds the conversation to each day's "open at the end" it was open at.
fn count_open(range: &Range, filter: &Filter, standings: &[Standing], days: &mut [Samples]) {
    let mut next = 0;
    let mut now: Option<Standing> = None;
    for (k, day) in days.iter_mut().enumerate() {
        let end = range.start() + (k as i64 + 1) * DAY_MS;
        while let Some(s) = standings.get(next).filter(|s| s.at < end) {
            now = Some(*s);
            next += 1;
        }
        if let Some(s) = now {
            if s.open && filter.department_ok(s.department) && filter.agent_ok(s.assignee) {
                day.open_at_end += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;
    const BILLING: i64 = 1;
    const TECH: i64 = 2;
    const CUSTOMER: i64 = 10;
    const ANNA: i64 = 20;
    const BEN: i64 = 21;

    /// A conversation's history written by hand, with times from the
    /// range's start (day 0 00:00 in the report's zone).
    struct Script {
        room: i64,
        seq: i64,
        events: Vec<EventRow>,
        turns: Vec<TurnRow>,
        department: i64,
        assignee: Option<i64>,
    }

    impl Script {
        fn new(room: i64, department: i64, at: i64) -> Script {
            let mut s = Script {
                room,
                seq: 0,
                events: vec![],
                turns: vec![],
                department,
                assignee: None,
            };
            s.event("created", at, None);
            s
        }
        fn event(&mut self, kind: &str, at: i64, actor: Option<i64>) -> &mut Script {
            self.events.push(EventRow {
                room_id: self.room,
                seq: self.seq,
                kind: kind.into(),
                at: START + at,
                department_id: Some(self.department),
                agent_id: self.assignee,
                actor_id: actor,
            });
            self.seq += 1;
            self
        }
        fn says(&mut self, who: i64, at: i64) -> &mut Script {
            self.turns.push(TurnRow {
                room_id: self.room,
                seq: self.seq,
                at: START + at,
                sender_id: Some(who),
                customer: who == CUSTOMER,
            });
            self.seq += 1;
            self
        }
        fn claim(&mut self, agent: i64, at: i64) -> &mut Script {
            self.assignee = Some(agent);
            self.event("claimed", at, Some(agent))
        }
        fn transfer(&mut self, to: i64, at: i64, by: i64) -> &mut Script {
            self.department = to;
            self.assignee = None;
            self.event("transferred", at, Some(by))
        }
        fn resolve(&mut self, at: i64, by: i64) -> &mut Script {
            self.event("resolved", at, Some(by))
        }
    }

    /// 2026-12-01, in a zone one hour east of UTC.
    const FIRST_DAY: i64 = 20_788;
    const OFFSET: i64 = HOUR;
    const START: i64 = FIRST_DAY * DAY_MS - OFFSET;

    fn range() -> Range {
        Range {
            first_day: FIRST_DAY,
            days: 3,
            offset_ms: OFFSET,
        }
    }

    /// Four conversations over three days:
    /// 1. Billing: asks at 09:00, Anna answers at 09:10, resolves at 10:00;
    ///    the customer writes again (reopens) at 14:00, Anna answers at
    ///    14:30 and resolves at 15:00.
    /// 2. Billing, then Technical: asks at 11:00, Ben (Technical) is handed
    ///    it at 11:20 and answers at 11:50, resolves on day 1 at 09:00.
    /// 3. Billing: asks at 23:50 on day 0, Anna answers at 00:20 on day 1
    ///    (across midnight), resolves at 01:00.
    /// 4. Billing: asks on day 2 at 08:00; nobody answers.
    fn scripts() -> (Vec<EventRow>, Vec<TurnRow>) {
        let mut one = Script::new(1, BILLING, 8 * HOUR);
        one.says(CUSTOMER, 9 * HOUR)
            .claim(ANNA, 9 * HOUR + 5 * MIN)
            .says(ANNA, 9 * HOUR + 10 * MIN)
            .resolve(10 * HOUR, ANNA)
            .says(CUSTOMER, 14 * HOUR)
            .event("reopened", 14 * HOUR, Some(CUSTOMER))
            .says(ANNA, 14 * HOUR + 30 * MIN)
            .resolve(15 * HOUR, ANNA);
        let mut two = Script::new(2, BILLING, 11 * HOUR);
        two.says(CUSTOMER, 11 * HOUR)
            .transfer(TECH, 11 * HOUR + 10 * MIN, ANNA)
            .claim(BEN, 11 * HOUR + 20 * MIN)
            .says(BEN, 11 * HOUR + 50 * MIN)
            .resolve(DAY_MS + 9 * HOUR, BEN);
        let mut three = Script::new(3, BILLING, 23 * HOUR);
        three
            .says(CUSTOMER, 23 * HOUR + 50 * MIN)
            .says(ANNA, DAY_MS + 20 * MIN)
            .resolve(DAY_MS + HOUR, ANNA);
        let mut four = Script::new(4, BILLING, 2 * DAY_MS + 7 * HOUR);
        four.says(CUSTOMER, 2 * DAY_MS + 8 * HOUR);
        let mut events = vec![];
        let mut turns = vec![];
        for s in [one, two, three, four] {
            events.extend(s.events);
            turns.extend(s.turns);
        }
        (events, turns)
    }

    fn run(filter: Filter) -> (Vec<Figures>, Figures) {
        let (events, turns) = scripts();
        let ratings = vec![
            RatingRow {
                at: START + 16 * HOUR,
                score: 5,
                department_id: Some(BILLING),
                agent_id: Some(ANNA),
            },
            RatingRow {
                at: START + DAY_MS + 10 * HOUR,
                score: 2,
                department_id: Some(TECH),
                agent_id: Some(BEN),
            },
        ];
        compute(&range(), &filter, &events, &turns, &ratings)
    }

    #[test]
    fn everything_by_hand() {
        let (days, total) = run(Filter::default());
        // Day 0: 1, 2 and 3 started; waits 10 min (1), 30 min (1's
        // reopening), 50 min (2) and 30 min (3, answered after midnight);
        // resolutions 1 h and 1 h (1, twice); 2 and 3 open at the end.
        assert_eq!(days[0].started, 3);
        assert_eq!(days[0].first_responses, 4);
        assert_eq!(days[0].first_response_median_ms, Some(30 * MIN));
        assert_eq!(days[0].first_response_p90_ms, Some(50 * MIN));
        assert_eq!(days[0].resolved, 2);
        assert_eq!(days[0].resolution_median_ms, Some(HOUR));
        assert_eq!(days[0].open_at_end, 2);
        assert_eq!((days[0].ratings, days[0].rating_average), (1, Some(5.0)));
        // Day 1: 3 resolved after 1 h 10 min, 2 after 22 h; none open.
        assert_eq!(days[1].started, 0);
        assert_eq!(days[1].resolved, 2);
        assert_eq!(
            days[1].resolution_median_ms,
            Some((70 * MIN + 22 * HOUR) / 2)
        );
        assert_eq!(days[1].resolution_p90_ms, Some(22 * HOUR));
        assert_eq!(days[1].open_at_end, 0);
        // Day 2: 4 started, never answered, still open.
        assert_eq!(days[2].started, 1);
        assert_eq!(days[2].first_responses, 0);
        assert_eq!(days[2].first_response_median_ms, None);
        assert_eq!(days[2].open_at_end, 1);
        // The range: every sample once, the open count at its end.
        assert_eq!(total.started, 4);
        assert_eq!(total.first_responses, 4);
        assert_eq!(total.resolved, 4);
        assert_eq!(total.open_at_end, 1);
        assert_eq!((total.ratings, total.rating_average), (2, Some(3.5)));
    }

    #[test]
    fn by_department_and_agent() {
        // Technical: 2 was answered and resolved there (it started in Billing).
        let tech = Filter {
            department: Some(TECH),
            ..Filter::default()
        };
        let (days, total) = run(tech);
        assert_eq!(total.started, 0);
        assert_eq!(days[0].first_response_median_ms, Some(50 * MIN));
        assert_eq!(days[1].resolved, 1);
        assert_eq!(days[0].open_at_end, 1);
        assert_eq!(total.ratings, 1);
        // Anna: she answered 1 and 3 first (2 started), three waits, and
        // handled three resolutions.
        let anna = Filter {
            agent: Some(ANNA),
            ..Filter::default()
        };
        let (days, total) = run(anna);
        assert_eq!(days[0].started, 2);
        assert_eq!(total.first_responses, 3);
        assert_eq!(total.resolved, 3);
        assert_eq!(days[0].open_at_end, 0, "3 was not assigned at midnight");
        assert_eq!((total.ratings, total.rating_average), (1, Some(5.0)));
        // An agent of Technical alone sees Technical's figures only.
        let own = Filter {
            allowed: Some(vec![TECH]),
            ..Filter::default()
        };
        assert_eq!(run(own).1.resolved, 1);
    }
}
