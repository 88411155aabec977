//! Turning stored text and times into what the page shows. Message text is
//! only ever split into plain text and http(s) links, both rendered as text
//! nodes and attributes by Leptos: no user HTML reaches the page.

/// A piece of a message body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Text(String),
    Link(String),
}

/// Splits `body` into text and `http://` / `https://` links. Trailing
/// punctuation stays text ("see https://x.io." links `https://x.io`).
pub fn linkify(body: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut rest = body;
    while let Some(start) = find_link_start(rest) {
        let (before, from) = rest.split_at(start);
        text.push_str(before);
        let end = from.find(char::is_whitespace).unwrap_or(from.len());
        let candidate = &from[..end];
        let trimmed =
            candidate.trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '}', '\'', '"']);
        let scheme_len = if trimmed.starts_with("https://") {
            8
        } else {
            7
        };
        if trimmed.len() > scheme_len {
            if !text.is_empty() {
                out.push(Segment::Text(std::mem::take(&mut text)));
            }
            out.push(Segment::Link(trimmed.to_string()));
            rest = &from[trimmed.len()..];
        } else {
            text.push_str(candidate);
            rest = &from[end..];
        }
    }
    text.push_str(rest);
    if !text.is_empty() {
        out.push(Segment::Text(text));
    }
    out
}

fn find_link_start(text: &str) -> Option<usize> {
    let http = text.find("http://");
    let https = text.find("https://");
    match (http, https) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The first letter of a name, upper-cased, for an avatar.
pub fn initial(name: &str) -> String {
    name.chars()
        .next()
        .map(|c| c.to_uppercase().to_string())
        .unwrap_or_default()
}

/// A moment in the viewer's local time zone (UTC while rendering on the
/// server, where nothing time-related is shown before hydration anyway).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
}

impl LocalTime {
    pub fn of(ms: i64) -> LocalTime {
        #[cfg(feature = "hydrate")]
        {
            let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
            LocalTime {
                year: date.get_full_year() as i32,
                month: date.get_month() + 1,
                day: date.get_date(),
                hour: date.get_hours(),
                minute: date.get_minutes(),
            }
        }
        #[cfg(not(feature = "hydrate"))]
        {
            utc(ms)
        }
    }

    pub fn clock(&self) -> String {
        format!("{:02}:{:02}", self.hour, self.minute)
    }

    pub fn same_day(&self, other: &LocalTime) -> bool {
        (self.year, self.month, self.day) == (other.year, other.month, other.day)
    }
}

/// Civil date and time from Unix ms in UTC.
#[cfg_attr(feature = "hydrate", allow(dead_code))]
fn utc(ms: i64) -> LocalTime {
    let days = ms.div_euclid(86_400_000);
    let minutes = ms.rem_euclid(86_400_000) / 60_000;
    let (year, month, day) = crate::calendar::civil_from_days(days);
    LocalTime {
        year: year as i32,
        month: month as u32,
        day: day as u32,
        hour: (minutes / 60) as u32,
        minute: (minutes % 60) as u32,
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// "Today", "Yesterday" or "3 Mar 2026", for day separators.
pub fn day_label(ms: i64, now_ms: i64) -> String {
    let day = LocalTime::of(ms);
    if day.same_day(&LocalTime::of(now_ms)) {
        return "Today".into();
    }
    if day.same_day(&LocalTime::of(now_ms - 86_400_000)) {
        return "Yesterday".into();
    }
    let month = MONTHS[(day.month.clamp(1, 12) - 1) as usize];
    format!("{} {month} {}", day.day, day.year)
}

/// The sidebar's time: the clock today, else a short date.
pub fn short_time(ms: i64, now_ms: i64) -> String {
    let at = LocalTime::of(ms);
    if at.same_day(&LocalTime::of(now_ms)) {
        at.clock()
    } else {
        let month = MONTHS[(at.month.clamp(1, 12) - 1) as usize];
        format!("{} {month}", at.day)
    }
}

/// Now, Unix ms.
pub fn now_ms() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
}

/// What a deleted message shows, in the list and the sidebar.
pub const DELETED: &str = "This message was deleted";

#[cfg(test)]
mod tests {
    use super::*;

    fn link(s: &str) -> Segment {
        Segment::Link(s.into())
    }
    fn text(s: &str) -> Segment {
        Segment::Text(s.into())
    }

    #[test]
    fn links_are_found_and_trailing_punctuation_left_out() {
        assert_eq!(
            linkify("see https://x.io/a?b=1. ok"),
            vec![text("see "), link("https://x.io/a?b=1"), text(". ok")]
        );
        assert_eq!(
            linkify("(http://a.b) and https://c.d"),
            vec![
                text("("),
                link("http://a.b"),
                text(") and "),
                link("https://c.d")
            ]
        );
    }

    #[test]
    fn only_http_and_https_become_links() {
        for body in [
            "javascript:alert(1)",
            "<a href=\"x\">x</a>",
            "data:text/html,<b>",
            "ftp://x.io",
            "https://",
        ] {
            assert!(
                linkify(body).iter().all(|s| matches!(s, Segment::Text(_))),
                "{body}"
            );
            let joined: String = linkify(body)
                .into_iter()
                .map(|s| match s {
                    Segment::Text(t) | Segment::Link(t) => t,
                })
                .collect();
            assert_eq!(joined, body, "nothing is lost");
        }
        assert_eq!(
            linkify("x https://a.io\"onmouseover=1"),
            vec![text("x "), link("https://a.io\"onmouseover=1")],
            "a quote inside a URL is only ever an attribute value, escaped by the renderer"
        );
    }

    #[test]
    fn utc_dates_are_civil_dates() {
        let t = utc(1_795_500_000_000);
        assert_eq!((t.year, t.month, t.day, t.hour), (2026, 11, 24, 6));
        assert_eq!(utc(0).clock(), "00:00");
        assert_eq!(day_label(0, 0), "Today");
        assert_eq!(day_label(0, 86_400_000), "Yesterday");
        assert_eq!(day_label(0, 3 * 86_400_000), "1 Jan 1970");
    }
}
