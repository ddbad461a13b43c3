//! Times in a campaign's zone: calendar months, local dates, weekdays.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};

use crate::ir::{Nanos, Zone};

/// A time as a UTC date-time.
pub fn utc(at: Nanos) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(at)
}

/// A UTC date-time as nanoseconds (saturating outside 1677..2262).
pub fn nanos(at: DateTime<Utc>) -> Nanos {
    at.timestamp_nanos_opt().unwrap_or(if at.timestamp() < 0 { i64::MIN } else { i64::MAX })
}

/// The local date and time of `at` in `zone`.
pub fn local(at: Nanos, zone: Zone) -> NaiveDateTime {
    let t = utc(at);
    match zone {
        Zone::Named(tz) => t.with_timezone(&tz).naive_local(),
        Zone::Fixed(offset) => t.with_timezone(&offset).naive_local(),
    }
}

/// The UTC time of a local date-time in `zone` (the earlier one where a clock change
/// repeats it; read as UTC where a clock change skips it).
pub fn from_local(local: NaiveDateTime, zone: Zone) -> Nanos {
    let t = match zone {
        Zone::Named(tz) => tz.from_local_datetime(&local).earliest().map(|t| t.with_timezone(&Utc)),
        Zone::Fixed(offset) => offset.from_local_datetime(&local).earliest().map(|t| t.with_timezone(&Utc)),
    };
    nanos(t.unwrap_or_else(|| Utc.from_utc_datetime(&local)))
}

/// A calendar month as one number: `year * 12 + month - 1`.
pub type MonthKey = i32;

/// The calendar month of a local date.
pub fn month_key(date: NaiveDate) -> MonthKey {
    date.year() * 12 + i32::try_from(date.month0()).unwrap_or(0)
}

/// The first day of a month.
pub fn month_first_day(key: MonthKey) -> NaiveDate {
    let year = key.div_euclid(12);
    let month = u32::try_from(key.rem_euclid(12)).unwrap_or(0) + 1;
    NaiveDate::from_ymd_opt(year, month, 1).unwrap_or_default()
}

/// The calendar month of `at` in `zone`.
pub fn month_of(at: Nanos, zone: Zone) -> MonthKey {
    month_key(local(at, zone).date())
}

/// The start of the month of `at`, in `zone`.
pub fn month_start(at: Nanos, zone: Zone) -> Nanos {
    let first = month_first_day(month_of(at, zone));
    from_local(first.and_hms_opt(0, 0, 0).unwrap_or_default(), zone)
}

/// Weekday of `at` in `zone`: 0 for Monday to 6 for Sunday.
pub fn weekday(at: Nanos, zone: Zone) -> u32 {
    local(at, zone).weekday().num_days_from_monday()
}

/// Hour of `at` in `zone`.
pub fn hour(at: Nanos, zone: Zone) -> u32 {
    local(at, zone).hour()
}

/// The count period whose application window holds `at`: windows start `offset`
/// nanoseconds after the start of the month after their count period.
pub fn count_period_for_window(at: Nanos, zone: Zone, offset: i64) -> MonthKey {
    let shifted = local(at, zone) - chrono::Duration::nanoseconds(offset);
    month_key(shifted.date()) - 1
}
