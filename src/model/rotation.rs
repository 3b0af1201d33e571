//! Rotation schedules (rule ROT-3): `AutomaticallyAfterDays`, or a `ScheduleExpression` in
//! `rate(...)` or `cron(...)` form, and an optional window `Duration`; and when the next rotation
//! is due.

use std::collections::BTreeSet;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

const HOUR_MS: u64 = 3_600_000;
const DAY_MS: u64 = 24 * HOUR_MS;
/// How far ahead a cron schedule is searched for its next time (five years).
const CRON_HORIZON_DAYS: u64 = 5 * 366;

/// When a secret is rotated: validated `RotationRules` of the AWS API.
///
/// Either `AutomaticallyAfterDays` (1..=1000) or a [`ScheduleExpression`], not both, and an
/// optional rotation window `Duration` of 1 to 24 hours (`"3h"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RotationRules {
    schedule: Schedule,
    window: Option<Duration>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Schedule {
    AfterDays(u32),
    Expression(ScheduleExpression),
}

impl RotationRules {
    /// Validates rotation rules as `RotateSecret` receives them.
    pub fn new(
        automatically_after_days: Option<i64>,
        schedule_expression: Option<&str>,
        duration: Option<&str>,
    ) -> Result<Self> {
        let schedule = match (automatically_after_days, schedule_expression) {
            (Some(_), Some(_)) => {
                return Err(Error::invalid_parameter(
                    "You can't specify both AutomaticallyAfterDays and ScheduleExpression.",
                ));
            }
            (None, None) => {
                return Err(Error::invalid_parameter(
                    "RotationRules must specify AutomaticallyAfterDays or ScheduleExpression.",
                ));
            }
            (Some(days), None) => {
                if !(1..=1000).contains(&days) {
                    return Err(Error::constraint(
                        &days.to_string(),
                        "rotationRules.automaticallyAfterDays",
                        if days < 1 {
                            "Member must have value greater than or equal to 1"
                        } else {
                            "Member must have value less than or equal to 1000"
                        },
                    ));
                }
                Schedule::AfterDays(u32::try_from(days).unwrap_or(1000))
            }
            (None, Some(expr)) => Schedule::Expression(ScheduleExpression::new(expr)?),
        };
        let window = duration.map(parse_window).transpose()?;
        Ok(Self { schedule, window })
    }

    /// `AutomaticallyAfterDays`: as given, or derived from a `rate(N days)` schedule.
    pub fn automatically_after_days(&self) -> Option<u32> {
        match &self.schedule {
            Schedule::AfterDays(d) => Some(*d),
            Schedule::Expression(e) => match e.kind {
                Kind::Rate { every_ms } if every_ms % DAY_MS == 0 => {
                    u32::try_from(every_ms / DAY_MS).ok()
                }
                _ => None,
            },
        }
    }

    /// The schedule expression, if the rules have one.
    pub fn schedule_expression(&self) -> Option<&ScheduleExpression> {
        match &self.schedule {
            Schedule::Expression(e) => Some(e),
            Schedule::AfterDays(_) => None,
        }
    }

    /// The rotation window's length, as given.
    pub fn duration(&self) -> Option<Duration> {
        self.window
    }

    /// When the next rotation is due after one at `last`: `last` plus the interval for
    /// `AutomaticallyAfterDays` and `rate(...)`, the first hour the expression names after
    /// `last` for `cron(...)`. `None` if a cron expression names no time in the next five years.
    pub fn next_rotation_after(&self, last: SystemTime) -> Option<SystemTime> {
        let last_ms = to_ms(last);
        let next = match &self.schedule {
            Schedule::AfterDays(days) => last_ms.checked_add(u64::from(*days) * DAY_MS)?,
            Schedule::Expression(e) => e.next_after_ms(last_ms)?,
        };
        UNIX_EPOCH.checked_add(Duration::from_millis(next))
    }
}

fn parse_window(d: &str) -> Result<Duration> {
    let hours = d
        .strip_suffix('h')
        .filter(|n| (1..=2).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse::<u64>().ok());
    match hours {
        Some(h @ 1..=24) => Ok(Duration::from_secs(h * 3600)),
        _ => Err(Error::invalid_parameter(format!(
            "The rotation window duration '{}' is not valid: give 1h to 24h.",
            crate::model::shown(d)
        ))),
    }
}

/// A validated `ScheduleExpression`: `rate(N hours)` (N >= 4), `rate(N days)` (1..=1000), or
/// `cron(0 H DoM Mon DoW *)`: minutes 0, year `*`, hours at least 4 apart, and exactly one of
/// day-of-month and day-of-week `?`. Cron fields take values, ranges (`a-b`), lists (`a,b`),
/// steps (`a/n`, `*/n`), month and day names (`JAN`, `MON`), `L` and `W` in day-of-month, and
/// `L` and `#` in day-of-week (1 = Sunday), as in Amazon EventBridge.
#[derive(Clone, PartialEq, Eq)]
pub struct ScheduleExpression {
    text: String,
    kind: Kind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Rate { every_ms: u64 },
    Cron(Box<Cron>),
}

impl fmt::Debug for ScheduleExpression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ScheduleExpression")
            .field(&self.text)
            .finish()
    }
}

impl fmt::Display for ScheduleExpression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl ScheduleExpression {
    /// Parses and validates a schedule expression.
    pub fn new(text: &str) -> Result<Self> {
        const MEMBER: &str = "rotationRules.scheduleExpression";
        if text.is_empty() || text.len() > 256 {
            return Err(if text.is_empty() {
                Error::min_len(text, MEMBER, 1)
            } else {
                Error::max_len(&crate::model::shown(text), MEMBER, 256)
            });
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || "()#?*-/, ".contains(c);
        if !text.chars().all(allowed) {
            return Err(Error::constraint(
                &crate::model::shown(text),
                MEMBER,
                "Member must satisfy regular expression pattern: [0-9A-Za-z\\(\\)#\\?\\*\\-\\/, ]+",
            ));
        }
        let bad = |why: &str| {
            Error::invalid_parameter(format!(
                "The schedule expression '{}' is not valid: {why}",
                crate::model::shown(text)
            ))
        };
        let kind = if let Some(body) = text.strip_prefix("rate(").and_then(|t| t.strip_suffix(')'))
        {
            let (n, unit) = body
                .trim()
                .split_once(' ')
                .ok_or_else(|| bad("write rate(N hours) or rate(N days)."))?;
            let n: u64 = n
                .parse()
                .map_err(|_| bad("the rate must be a whole number."))?;
            let every_ms = match unit.trim() {
                "hour" | "hours" if (4..=24_000).contains(&n) => n * HOUR_MS,
                "hour" | "hours" => return Err(bad("rotation can be at most every 4 hours.")),
                "day" | "days" if (1..=1000).contains(&n) => n * DAY_MS,
                "day" | "days" => return Err(bad("the rate in days must be 1 to 1000.")),
                _ => return Err(bad("the unit must be hours or days.")),
            };
            Kind::Rate { every_ms }
        } else if let Some(body) = text.strip_prefix("cron(").and_then(|t| t.strip_suffix(')')) {
            Kind::Cron(Box::new(Cron::parse(body).map_err(|why| bad(&why))?))
        } else {
            return Err(bad("it must be rate(...) or cron(...)."));
        };
        Ok(Self {
            text: text.to_owned(),
            kind,
        })
    }

    /// The expression as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    fn next_after_ms(&self, last_ms: u64) -> Option<u64> {
        match &self.kind {
            Kind::Rate { every_ms } => last_ms.checked_add(*every_ms),
            Kind::Cron(cron) => cron.next_after_ms(last_ms),
        }
    }
}

/// A parsed `cron(0 H DoM Mon DoW *)`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Cron {
    hours: BTreeSet<u32>,
    months: BTreeSet<u32>,
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
    fn parse(body: &str) -> std::result::Result<Self, String> {
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

    fn next_after_ms(&self, last_ms: u64) -> Option<u64> {
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

    fn matches_day(&self, d: &Civil) -> bool {
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

fn parse_number(s: &str, names: &[&str], names_from: u32) -> std::result::Result<u32, String> {
    if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
        return Ok(u32::try_from(i).unwrap_or(0) + names_from);
    }
    s.parse()
        .map_err(|_| format!("'{}' is not a value.", crate::model::shown(s)))
}

/// A cron field of values, ranges, lists and steps, within `lo..=hi`.
fn parse_set(
    field: &str,
    lo: u32,
    hi: u32,
    names: &[&str],
) -> std::result::Result<BTreeSet<u32>, String> {
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

fn parse_dom(part: &str) -> std::result::Result<Vec<DomRule>, String> {
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

fn parse_dow(part: &str) -> std::result::Result<Vec<DowRule>, String> {
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
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    /// 1 = Sunday .. 7 = Saturday.
    weekday: u32,
}

impl Civil {
    /// The date `days` days after 1970-01-01 (Howard Hinnant's `civil_from_days`).
    fn from_days(days: u64) -> Self {
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

fn to_ms(t: SystemTime) -> u64 {
    crate::clock::to_millis(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-26T00:00:00Z, a Thursday.
    const THU_2026_11_26: u64 = 1_795_651_200_000;

    fn at(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    fn next(expr: &str, from_ms: u64) -> u64 {
        let rules = RotationRules::new(None, Some(expr), None).unwrap();
        to_ms(rules.next_rotation_after(at(from_ms)).unwrap())
    }

    #[test]
    fn civil_dates_and_weekdays() {
        let d = Civil::from_days(THU_2026_11_26 / DAY_MS);
        assert_eq!((d.year, d.month, d.day, d.weekday), (2026, 11, 26, 5));
        let d = Civil::from_days(0);
        assert_eq!((d.year, d.month, d.day, d.weekday), (1970, 1, 1, 5));
        // 2024-02-29 is 19,782 days after the epoch, a Thursday.
        let d = Civil::from_days(19_782);
        assert_eq!((d.year, d.month, d.day, d.weekday), (2024, 2, 29, 5));
    }

    #[test]
    fn after_days_and_rates_add_their_interval() {
        let r = RotationRules::new(Some(30), None, None).unwrap();
        assert_eq!(r.automatically_after_days(), Some(30));
        assert_eq!(
            to_ms(r.next_rotation_after(at(THU_2026_11_26)).unwrap()),
            THU_2026_11_26 + 30 * DAY_MS
        );
        assert_eq!(next("rate(4 hours)", 7), 7 + 4 * HOUR_MS);
        assert_eq!(next("rate(10 days)", 7), 7 + 10 * DAY_MS);
        let r = RotationRules::new(None, Some("rate(10 days)"), Some("3h")).unwrap();
        assert_eq!(r.automatically_after_days(), Some(10));
        assert_eq!(r.duration(), Some(Duration::from_secs(3 * 3600)));
        assert_eq!(r.schedule_expression().unwrap().as_str(), "rate(10 days)");
    }

    #[test]
    fn cron_finds_the_next_named_hour() {
        // Every day at 10:00: later today, or tomorrow once it has passed.
        assert_eq!(
            next("cron(0 10 * * ? *)", THU_2026_11_26),
            THU_2026_11_26 + 10 * HOUR_MS
        );
        assert_eq!(
            next("cron(0 10 * * ? *)", THU_2026_11_26 + 10 * HOUR_MS),
            THU_2026_11_26 + DAY_MS + 10 * HOUR_MS
        );
        // Every 4 hours from 0:00.
        assert_eq!(
            next("cron(0 */4 * * ? *)", THU_2026_11_26 + HOUR_MS),
            THU_2026_11_26 + 4 * HOUR_MS
        );
        // Mondays at 8:00: Thursday 26 -> Monday 30.
        assert_eq!(
            next("cron(0 8 ? * MON *)", THU_2026_11_26),
            THU_2026_11_26 + 4 * DAY_MS + 8 * HOUR_MS
        );
        assert_eq!(
            next("cron(0 8 ? * 2 *)", THU_2026_11_26),
            THU_2026_11_26 + 4 * DAY_MS + 8 * HOUR_MS
        );
        // Weekdays at 3:00, from Thursday 4:00: Friday 3:00; from Friday 4:00: Monday 3:00.
        let weekdays = "cron(0 3 ? * MON-FRI *)";
        assert_eq!(
            next(weekdays, THU_2026_11_26 + 4 * HOUR_MS),
            THU_2026_11_26 + DAY_MS + 3 * HOUR_MS
        );
        assert_eq!(
            next(weekdays, THU_2026_11_26 + DAY_MS + 4 * HOUR_MS),
            THU_2026_11_26 + 4 * DAY_MS + 3 * HOUR_MS
        );
        // Days 1 to 7 of the month: December 1.
        assert_eq!(
            next("cron(0 0 1-7 * ? *)", THU_2026_11_26),
            THU_2026_11_26 + 5 * DAY_MS
        );
        // The last day of the month: November 30.
        assert_eq!(
            next("cron(0 0 L * ? *)", THU_2026_11_26),
            THU_2026_11_26 + 4 * DAY_MS
        );
        // The first of each month: December 1.
        assert_eq!(
            next("cron(0 0 1 * ? *)", THU_2026_11_26),
            THU_2026_11_26 + 5 * DAY_MS
        );
        // The last Friday of the month: November 27.
        assert_eq!(
            next("cron(0 0 ? * 6L *)", THU_2026_11_26),
            THU_2026_11_26 + DAY_MS
        );
        // The first Monday of December: December 7.
        assert_eq!(
            next("cron(0 0 ? DEC 2#1 *)", THU_2026_11_26),
            THU_2026_11_26 + 11 * DAY_MS
        );
        // The weekday nearest the 1st of August 2027 (a Sunday): Monday the 2nd.
        let aug_2027 = next("cron(0 0 1W AUG ? *)", THU_2026_11_26);
        let d = Civil::from_days(aug_2027 / DAY_MS);
        assert_eq!((d.year, d.month, d.day, d.weekday), (2027, 8, 2, 2));
        // February 29 only: 2028.
        let leap = next("cron(0 0 29 FEB ? *)", THU_2026_11_26);
        let d = Civil::from_days(leap / DAY_MS);
        assert_eq!((d.year, d.month, d.day), (2028, 2, 29));
        // A date that never comes names no time.
        let never = RotationRules::new(None, Some("cron(0 0 31 FEB ? *)"), None).unwrap();
        assert_eq!(never.next_rotation_after(at(THU_2026_11_26)), None);
    }

    #[test]
    fn invalid_rules_are_refused_clearly() {
        for (days, expr, duration, contains) in [
            (Some(1), Some("rate(1 days)"), None, "both"),
            (
                None,
                None,
                None,
                "AutomaticallyAfterDays or ScheduleExpression",
            ),
            (Some(0), None, None, "greater than or equal to 1"),
            (Some(1001), None, None, "less than or equal to 1000"),
            (None, Some("rate(3 hours)"), None, "every 4 hours"),
            (None, Some("rate(1001 days)"), None, "1 to 1000"),
            (None, Some("rate(5 weeks)"), None, "hours or days"),
            (None, Some("every day"), None, "rate(...) or cron(...)"),
            (
                None,
                Some("cron(5 10 * * ? *)"),
                None,
                "minutes field must be 0",
            ),
            (
                None,
                Some("cron(0 10 * * ? 2027)"),
                None,
                "year field must be *",
            ),
            (None, Some("cron(0 10 * * * *)"), None, "must be ?"),
            (None, Some("cron(0 10 ? * ? *)"), None, "only one"),
            (None, Some("cron(0 1,2 * * ? *)"), None, "every 4 hours"),
            (None, Some("cron(0 24 * * ? *)"), None, "outside 0-23"),
            (
                None,
                Some("cron(0 10 32 * ? *)"),
                None,
                "not a day of the month",
            ),
            (None, Some("cron(0 10 ? * FUNDAY *)"), None, "not a value"),
            (None, Some("cron(0 10 * *)"), None, "six fields"),
            (None, Some("rate(1 day);"), None, "regular expression"),
            (Some(1), None, Some("25h"), "1h to 24h"),
            (Some(1), None, Some("2d"), "1h to 24h"),
        ] {
            let err = RotationRules::new(days, expr, duration).unwrap_err();
            assert!(err.to_string().contains(contains), "{expr:?}: {err}");
        }
    }

    proptest::proptest! {
        /// The next time is after `last`, on a named hour of a matching day, and no named hour
        /// lies between them (checked hour by hour).
        #[test]
        fn cron_next_is_the_first_match_after_last(
            last in 1_700_000_000_000u64..1_900_000_000_000,
            which in 0usize..6,
        ) {
            let expr = [
                "cron(0 10 * * ? *)",
                "cron(0 */6 * * ? *)",
                "cron(0 3 ? * MON-FRI *)",
                "cron(0 0 L * ? *)",
                "cron(0 12 ? * 6#2 *)",
                "cron(0 5 15W * ? *)",
            ][which];
            let Kind::Cron(cron) = ScheduleExpression::new(expr).unwrap().kind else {
                unreachable!()
            };
            let next = cron.next_after_ms(last).unwrap();
            proptest::prop_assert!(next > last);
            proptest::prop_assert_eq!(next % HOUR_MS, 0);
            let matches = |t: u64| {
                let date = Civil::from_days(t / DAY_MS);
                let hour = u32::try_from((t % DAY_MS) / HOUR_MS).unwrap();
                cron.months.contains(&date.month)
                    && cron.matches_day(&date)
                    && cron.hours.contains(&hour)
            };
            proptest::prop_assert!(matches(next));
            let mut t = (last / HOUR_MS + 1) * HOUR_MS;
            while t < next {
                proptest::prop_assert!(!matches(t), "{} matches before {}", t, next);
                t += HOUR_MS;
            }
        }
    }
}
