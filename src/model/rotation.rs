//! Rotation schedules (rule ROT-3): `AutomaticallyAfterDays`, or a `ScheduleExpression` in
//! `rate(...)` or `cron(...)` form, and an optional window `Duration`; and when the next rotation
//! is due.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::cron::{Cron, DAY_MS, HOUR_MS, to_ms};
use crate::error::{Error, Result};
use crate::field::Field;

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
        let rules = Self::stored(automatically_after_days, schedule_expression, duration)?;
        if let (Some(w), Some(d), Schedule::Expression(e)) =
            (rules.window, duration, &rules.schedule)
        {
            check_window(e, w, d)?;
        }
        Ok(rules)
    }

    /// Rules as a secret's record keeps them: validated as [`RotationRules::new`] validates
    /// them, but for the fit of the window to the schedule, which stores written before that
    /// check existed may lack (their schedule is kept rather than dropped).
    pub(crate) fn stored(
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
                if let Some(e) = Error::out_of_range(days, Field::AutomaticallyAfterDays, 1, 1000) {
                    return Err(e);
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

    /// `AutomaticallyAfterDays` as `DescribeSecret` and `ListSecrets` show it: "calculated from
    /// the rotation schedule after every successful rotation" (AWS's documentation). As given, or
    /// from a `rate(N days)` schedule; for a `cron(...)` schedule, once the secret was rotated,
    /// the days from that rotation (`last`) to the next one the schedule names (`next`), to the
    /// nearest whole day (`cron(0 16 1,15 * ? *)` rotated on the 1st: 14). `None` for schedules
    /// in hours, and for a cron schedule never rotated yet.
    pub fn days_between_rotations(
        &self,
        last: Option<SystemTime>,
        next: Option<SystemTime>,
    ) -> Option<u32> {
        if let Some(days) = self.automatically_after_days() {
            return Some(days);
        }
        let Schedule::Expression(ScheduleExpression {
            kind: Kind::Cron(_),
            ..
        }) = &self.schedule
        else {
            return None;
        };
        let gap = to_ms(next?).checked_sub(to_ms(last?))?;
        let days = (gap + DAY_MS / 2) / DAY_MS;
        u32::try_from(days).ok().filter(|d| (1..=1000).contains(d))
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

/// AWS's rule for the window (`RotationRulesType.Duration`): it "must not extend into the next
/// rotation window or the next UTC day". Checkable where the schedule fixes when windows open:
/// a `cron(...)` schedule opens one at each hour it names, so a window must close by the next of
/// those hours and by midnight UTC; a `rate(N hours)` one every N hours, so a window must close
/// within N hours. (A schedule in days is not checked further: any window of 1h to 24h.)
fn check_window(e: &ScheduleExpression, window: Duration, given: &str) -> Result<()> {
    let hours = window.as_secs() / 3600;
    let refuse = |why: &str| {
        Err(Error::invalid_parameter(format!(
            "The rotation window duration '{}' is not valid for the schedule '{}': {why}",
            crate::model::shown(given),
            crate::model::shown(e.as_str())
        )))
    };
    match &e.kind {
        Kind::Rate { every_ms } if every_ms % DAY_MS != 0 && hours * HOUR_MS > *every_ms => {
            refuse("the window must close before the next rotation window opens.")
        }
        Kind::Cron(cron) => {
            let starts: Vec<u64> = cron.hours.iter().map(|h| u64::from(*h)).collect();
            if starts.windows(2).any(|pair| match pair {
                [a, b] => a + hours > *b,
                _ => false,
            }) {
                return refuse("the window must close before the next rotation window opens.");
            }
            if starts.last().is_some_and(|last| last + hours > 24) {
                return refuse("the window must close by the end of the UTC day.");
            }
            Ok(())
        }
        _ => Ok(()),
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
        const MEMBER: Field = Field::ScheduleExpression;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::cron::Civil;

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
    fn a_window_that_fits_its_schedule_is_accepted() {
        for (expr, duration) in [
            ("rate(4 hours)", "4h"),
            ("rate(10 days)", "24h"),
            ("cron(0 4,12 * * ? *)", "8h"),
            ("cron(0 20 * * ? *)", "4h"),
            ("cron(0 0 1,15 * ? *)", "24h"),
        ] {
            let r = RotationRules::new(None, Some(expr), Some(duration)).unwrap();
            assert_eq!(
                r.duration().map(|d| d.as_secs() / 3600),
                duration.trim_end_matches('h').parse().ok(),
                "{expr} {duration}"
            );
        }
        RotationRules::new(Some(3), None, Some("24h")).unwrap();
    }

    #[test]
    fn days_between_rotations_as_describe_shows_them() {
        let given = RotationRules::new(Some(30), None, None).unwrap();
        assert_eq!(given.days_between_rotations(None, None), Some(30));
        let daily = RotationRules::new(None, Some("rate(10 days)"), None).unwrap();
        assert_eq!(daily.days_between_rotations(None, None), Some(10));
        let hourly = RotationRules::new(None, Some("rate(6 hours)"), None).unwrap();
        let (last, next) = (at(THU_2026_11_26), at(THU_2026_11_26 + 6 * HOUR_MS));
        assert_eq!(hourly.days_between_rotations(Some(last), Some(next)), None);
        // AWS's own example: the 1st and the 15th at 16:00, rotated on the 1st a few minutes
        // after 16:00, next on the 15th: 14 days.
        let cron = RotationRules::new(None, Some("cron(0 16 1,15 * ? *)"), Some("2h")).unwrap();
        let dec_1 = THU_2026_11_26 + 5 * DAY_MS + 16 * HOUR_MS + 7 * 60_000;
        let next = cron.next_rotation_after(at(dec_1)).unwrap();
        assert_eq!(to_ms(next), THU_2026_11_26 + 19 * DAY_MS + 16 * HOUR_MS);
        assert_eq!(
            cron.days_between_rotations(Some(at(dec_1)), Some(next)),
            Some(14)
        );
        // Never rotated: nothing to calculate from.
        assert_eq!(cron.days_between_rotations(None, Some(next)), None);
        let every_six = RotationRules::new(None, Some("cron(0 */6 * * ? *)"), None).unwrap();
        let six_hours_on = at(THU_2026_11_26 + 6 * HOUR_MS);
        assert_eq!(
            every_six.days_between_rotations(Some(at(THU_2026_11_26)), Some(six_hours_on)),
            None
        );
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
            (
                None,
                Some("rate(4 hours)"),
                Some("5h"),
                "before the next rotation window opens",
            ),
            (
                None,
                Some("cron(0 4,12 * * ? *)"),
                Some("9h"),
                "before the next rotation window opens",
            ),
            (
                None,
                Some("cron(0 20 * * ? *)"),
                Some("5h"),
                "by the end of the UTC day",
            ),
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
