//! The cron engine of rotation schedules: EventBridge-style `cron(0 H DoM Mon DoW *)` fields
//! (values, ranges, lists, steps, names, `L`, `W`, `#`) and the proleptic Gregorian calendar
//! they are matched against, hour by hour.

use std::collections::BTreeSet;
use std::time::SystemTime;

pub(super) const HOUR_MS: u64 = 3_600_000;
pub(super) const DAY_MS: u64 = 24 * HOUR_MS;
/// How far ahead a cron schedule is searched for its next time (five years).
const CRON_HORIZON_DAYS: u64 = 5 * 366;

/// A parsed `cron(0 H DoM Mon DoW *)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Cron {
    pub(super) hours: BTreeSet<u32>,
    pub(super) months: BTreeSet<u32>,
    days: Days,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Days {
    /// Day-of-month rules (day-of-week is `?`).
    OfMonth(Vec<DomRule>),
    /// Day-of-week rules (day-of-month is `?`).
    OfWeek(Vec<DowRule>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum DomRule {
    Any,
    Day(u32),
    Last,
    NearestWeekday(u32),
    LastWeekday,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum DowRule {
    Any,
    /// 1 = Sunday .. 7 = Saturday.
    Day(u32),
    /// The last such weekday of the month.
    Last(u32),
    /// The n-th such weekday of the month.
    Nth(u32, u32),
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl Cron {
    pub(super) fn parse(body: &str) -> Result<Self, String> {
        let fields: Vec<&str> = body.split_whitespace().collect();
        let [minutes, hours, dom, month, dow, year] = fields.as_slice() else {
            return Err(
                "cron(...) takes six fields: minutes hours day-of-month month day-of-week year."
                    .into(),
            );
        };
        if *minutes != "0" {
            return Err("the minutes field must be 0.".into());
        }
        if *year != "*" {
            return Err("the year field must be *.".into());
        }
        let hours = parse_set(hours, 0, 23, &[])?;
        if hours.is_empty() {
            return Err("the hours field names no hour.".into());
        }
        let mut previous: Option<u32> = None;
        for h in &hours {
            if previous.is_some_and(|p| h - p < 4) {
                return Err("rotation can be at most every 4 hours.".into());
            }
            previous = Some(*h);
        }
        let months = parse_set(month, 1, 12, &MONTHS)?;
        let days = match (*dom, *dow) {
            ("?", "?") => return Err("only one of day-of-month and day-of-week can be ?.".into()),
            ("?", dow) => {
                let mut rules = Vec::new();
                for part in dow.split(',') {
                    rules.extend(parse_dow(part)?);
                }
                Days::OfWeek(rules)
            }
            (dom, "?") => {
                let mut rules = Vec::new();
                for part in dom.split(',') {
                    rules.extend(parse_dom(part)?);
                }
                Days::OfMonth(rules)
            }
            _ => return Err("one of day-of-month and day-of-week must be ?.".into()),
        };
        Ok(Self {
            hours,
            months,
            days,
        })
    }

    pub(super) fn next_after_ms(&self, last_ms: u64) -> Option<u64> {
        let first_day = last_ms / DAY_MS;
        (first_day..first_day + CRON_HORIZON_DAYS).find_map(|day| {
            let date = Civil::from_days(day);
            if !self.months.contains(&date.month) || !self.matches_day(&date) {
                return None;
            }
            self.hours
                .iter()
                .map(|h| day * DAY_MS + u64::from(*h) * HOUR_MS)
                .find(|t| *t > last_ms)
        })
    }

    pub(super) fn matches_day(&self, d: &Civil) -> bool {
        let last = days_in_month(d.year, d.month);
        match &self.days {
            Days::OfMonth(rules) => rules.iter().any(|r| match r {
                DomRule::Any => true,
                DomRule::Day(n) => d.day == *n,
                DomRule::Last => d.day == last,
                DomRule::NearestWeekday(n) => d.day == nearest_weekday(d, (*n).min(last), last),
                DomRule::LastWeekday => d.day == nearest_weekday(d, last, last),
            }),
            Days::OfWeek(rules) => rules.iter().any(|r| match r {
                DowRule::Any => true,
                DowRule::Day(w) => d.weekday == *w,
                DowRule::Last(w) => d.weekday == *w && d.day + 7 > last,
                DowRule::Nth(w, n) => d.weekday == *w && (d.day - 1) / 7 + 1 == *n,
            }),
        }
    }
}

/// The weekday nearest to day `target` of `d`'s month, without leaving the month.
fn nearest_weekday(d: &Civil, target: u32, last: u32) -> u32 {
    // Weekday (1 = Sunday) of `target`, from `d`'s.
    let offset = i64::from(target) - i64::from(d.day);
    let w = u32::try_from((i64::from(d.weekday) - 1 + offset).rem_euclid(7) + 1).unwrap_or(1);
    match w {
        7 if target == 1 => target + 2,    // Saturday the 1st: Monday the 3rd
        7 => target - 1,                   // Saturday: Friday
        1 if target == last => target - 2, // Sunday the last: Friday
        1 => target + 1,                   // Sunday: Monday
        _ => target,
    }
}

fn parse_number(s: &str, names: &[&str], names_from: u32) -> Result<u32, String> {
    if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
        return Ok(u32::try_from(i).unwrap_or(0) + names_from);
    }
    s.parse()
        .map_err(|_| format!("'{}' is not a value.", crate::model::shown(s)))
}

/// A cron field of values, ranges, lists and steps, within `lo..=hi`.
fn parse_set(field: &str, lo: u32, hi: u32, names: &[&str]) -> Result<BTreeSet<u32>, String> {
    let mut set = BTreeSet::new();
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<u32>()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("'{}' is not a step.", crate::model::shown(s)))?,
            ),
            None => (part, 1),
        };
        let (from, to) = match range {
            "*" => (lo, hi),
            r => match r.split_once('-') {
                Some((a, b)) => (parse_number(a, names, lo)?, parse_number(b, names, lo)?),
                None => {
                    let v = parse_number(r, names, lo)?;
                    (v, if part.contains('/') { hi } else { v })
                }
            },
        };
        if from < lo || to > hi || from > to {
            return Err(format!(
                "'{}' is outside {lo}-{hi}.",
                crate::model::shown(part)
            ));
        }
        set.extend((from..=to).step_by(usize::try_from(step).unwrap_or(1)));
    }
    Ok(set)
}

fn parse_dom(part: &str) -> Result<Vec<DomRule>, String> {
    let day = |s: &str| match s.parse::<u32>() {
        Ok(d @ 1..=31) => Ok(d),
        _ => Err(format!(
            "'{}' is not a day of the month.",
            crate::model::shown(s)
        )),
    };
    Ok(match part {
        "*" => vec![DomRule::Any],
        "L" => vec![DomRule::Last],
        "LW" => vec![DomRule::LastWeekday],
        p if p.ends_with('W') => vec![DomRule::NearestWeekday(day(p.trim_end_matches('W'))?)],
        p if p.contains(['-', '/']) => parse_set(p, 1, 31, &[])?
            .into_iter()
            .map(DomRule::Day)
            .collect(),
        p => vec![DomRule::Day(day(p)?)],
    })
}

fn parse_dow(part: &str) -> Result<Vec<DowRule>, String> {
    let weekday = |s: &str| match parse_number(s, &WEEKDAYS, 1)? {
        w @ 1..=7 => Ok(w),
        _ => Err(format!(
            "'{}' is not a day of the week.",
            crate::model::shown(s)
        )),
    };
    Ok(match part {
        "*" => vec![DowRule::Any],
        "L" => vec![DowRule::Last(7)],
        p if p.ends_with('L') => vec![DowRule::Last(weekday(p.trim_end_matches('L'))?)],
        p if p.contains('#') => {
            let (w, n) = p.split_once('#').unwrap_or((p, ""));
            let n = match n.parse::<u32>() {
                Ok(n @ 1..=5) => n,
                _ => return Err(format!("'{}' is not 1 to 5.", crate::model::shown(n))),
            };
            vec![DowRule::Nth(weekday(w)?, n)]
        }
        p if p.contains(['-', '/']) => parse_set(p, 1, 7, &WEEKDAYS)?
            .into_iter()
            .map(DowRule::Day)
            .collect(),
        p => vec![DowRule::Day(weekday(p)?)],
    })
}

/// A UTC calendar date.
pub(super) struct Civil {
    pub(super) year: i64,
    pub(super) month: u32,
    pub(super) day: u32,
    /// 1 = Sunday .. 7 = Saturday.
    pub(super) weekday: u32,
}

impl Civil {
    /// The date `days` days after 1970-01-01 (Howard Hinnant's `civil_from_days`).
    pub(super) fn from_days(days: u64) -> Self {
        let z = i64::try_from(days).unwrap_or(i64::MAX / 2) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        // 1970-01-01 was a Thursday (5 when Sunday is 1).
        let weekday = (i64::try_from(days % 7).unwrap_or(0) + 4) % 7 + 1;
        Self {
            year,
            month: u32::try_from(month).unwrap_or(1),
            day: u32::try_from(day).unwrap_or(1),
            weekday: u32::try_from(weekday).unwrap_or(1),
        }
    }
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

pub(super) fn to_ms(t: SystemTime) -> u64 {
    crate::clock::to_millis(t)
}
