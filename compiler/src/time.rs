//! Times in a campaign's zone: calendar months, local dates, weekdays.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Utc};

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
        Zone::Named(tz) => t.naive_utc() + chrono::Duration::seconds(i64::from(utc_offset(at, tz))),
        Zone::Fixed(offset) => t.with_timezone(&offset).naive_local(),
    }
}

const NANOS_PER_DAY: i64 = 86_400 * 1_000_000_000;

thread_local! {
    /// The zone and UTC day last asked for, when its offset from UTC held all day.
    static DAY_OFFSET: std::cell::Cell<Option<(chrono_tz::Tz, i64, i32)>> = const { std::cell::Cell::new(None) };
}

/// The offset of `tz` from UTC at `at`, in seconds. Looking it up in the time-zone database
/// is the costly part of finding a local time, and payments come in time order, so the
/// offset of the UTC day last asked for is kept when it is the same at the day's first and
/// last instant: time zones change their offset at most a few times a year, never twice
/// within one day.
fn utc_offset(at: Nanos, tz: chrono_tz::Tz) -> i32 {
    utc_offset_and_day(at, tz).0
}

/// [`utc_offset`], and the UTC day of `at` (as `[first, last]` instants) when the offset held
/// all of it.
fn utc_offset_and_day(at: Nanos, tz: chrono_tz::Tz) -> (i32, Option<(Nanos, Nanos)>) {
    use chrono::Offset;
    let lookup = |at: Nanos| tz.offset_from_utc_datetime(&utc(at).naive_utc()).fix().local_minus_utc();
    let day = at.div_euclid(NANOS_PER_DAY);
    let first = day.saturating_mul(NANOS_PER_DAY);
    let last = first.saturating_add(NANOS_PER_DAY - 1);
    if let Some((z, d, offset)) = DAY_OFFSET.get()
        && z == tz
        && d == day
    {
        return (offset, Some((first, last)));
    }
    let offset = lookup(first);
    if lookup(last) == offset {
        DAY_OFFSET.set(Some((tz, day, offset)));
        (offset, Some((first, last)))
    } else {
        (lookup(at), None)
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

/// The calendar month of `at` in `zone`: [`month_of_local`] of its [`local_nanos`].
pub fn month_of(at: Nanos, zone: Zone) -> MonthKey {
    if let Some((z, first, last, month)) = MONTH_SPAN.get()
        && first <= at
        && at <= last
        && z == zone
    {
        return month;
    }
    let (local, steady) = local_nanos_and_span(at, zone);
    let month = month_of_local(local);
    // The local day of `at`, in UTC, where the offset held all along: its month is this one.
    if let (Some((steady_first, steady_last)), Some((_, into_day))) = (steady, day_of_local(local))
        && let Some(day_first) = at.checked_sub(into_day)
    {
        let day_last = day_first.saturating_add(NANOS_PER_DAY - 1);
        MONTH_SPAN.set(Some((zone, day_first.max(steady_first), day_last.min(steady_last), month)));
    }
    month
}

thread_local! {
    /// The UTC instants `[first, last]` last found to lie in one local day of a zone, and
    /// that day's month: payments come in time order, and a payment's campaigns, counters
    /// and caps each ask for its month.
    static MONTH_SPAN: std::cell::Cell<Option<(Zone, Nanos, Nanos, MonthKey)>> =
        const { std::cell::Cell::new(None) };
}

/// `at` as nanoseconds since 1970-01-01T00:00 local time in `zone` (wide enough for any
/// `at` and offset).
pub fn local_nanos(at: Nanos, zone: Zone) -> i128 {
    local_nanos_and_span(at, zone).0
}

/// [`local_nanos`], and the UTC instants `[first, last]` around `at` over which the zone's
/// offset holds: all of time for a fixed offset, `at`'s UTC day for a named zone whose
/// offset held all that day, `None` when it changed within it.
fn local_nanos_and_span(at: Nanos, zone: Zone) -> (i128, Option<(Nanos, Nanos)>) {
    let (offset, steady) = match zone {
        Zone::Named(tz) => utc_offset_and_day(at, tz),
        Zone::Fixed(offset) => (offset.local_minus_utc(), Some((Nanos::MIN, Nanos::MAX))),
    };
    (i128::from(at) + i128::from(offset) * 1_000_000_000, steady)
}

/// The calendar month of a local time given as [`local_nanos`]: the civil date of its day
/// number (the proleptic Gregorian calendar, as chrono's), in integers only.
pub fn month_of_local(local: i128) -> MonthKey {
    match day_of_local(local) {
        Some((days, _)) => {
            // Payments come in time order and evaluation asks for the months of a few days
            // (the payment's, the windows' shifted ones) many times over: the last few days'
            // months are kept, by day.
            let slot = usize::try_from(days.rem_euclid(DAY_MONTHS as i64)).unwrap_or(0);
            let mut kept = DAY_MONTH.get();
            match kept.get(slot) {
                Some(&(day, month)) if day == days => month,
                _ => {
                    let month = civil_month(days);
                    if let Some(entry) = kept.get_mut(slot) {
                        *entry = (days, month);
                        DAY_MONTH.set(kept);
                    }
                    month
                }
            }
        }
        None => {
            if local < 0 {
                MonthKey::MIN
            } else {
                MonthKey::MAX
            }
        }
    }
}

/// How many days' months [`month_of_local`] keeps.
const DAY_MONTHS: usize = 4;

thread_local! {
    /// The months of the last days asked for, each in the slot its day number picks.
    /// (No day number is `i64::MIN`: `day_of_local` keeps them within 2^40.)
    static DAY_MONTH: std::cell::Cell<[(i64, MonthKey); DAY_MONTHS]> =
        const { std::cell::Cell::new([(i64::MIN, 0); DAY_MONTHS]) };
}

/// The day number of a local time and the nanoseconds into that day, in 64-bit arithmetic
/// (128-bit division is a library call, and this runs for every counter read); `None` for a
/// time more than 2^40 days from 1970, whose month no `MonthKey` holds.
fn day_of_local(local: i128) -> Option<(i64, i64)> {
    if let Ok(local) = i64::try_from(local) {
        return Some((local.div_euclid(NANOS_PER_DAY), local.rem_euclid(NANOS_PER_DAY)));
    }
    let day = i128::from(NANOS_PER_DAY);
    let days = i64::try_from(local.div_euclid(day)).ok().filter(|d| d.unsigned_abs() < 1 << 40)?;
    Some((days, i64::try_from(local.rem_euclid(day)).ok()?))
}

/// The calendar month of day number `days` (|days| < 2^40, so nothing overflows).
fn civil_month(days: i64) -> MonthKey {
    // Days since 0000-03-01, in 400-year eras of 146,097 days (H. Hinnant's civil_from_days).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let key = year * 12 + (month - 1);
    MonthKey::try_from(key).unwrap_or(if key < 0 { MonthKey::MIN } else { MonthKey::MAX })
}

/// Weekday (0 for Monday) and hour of a local time given as [`local_nanos`].
pub fn weekday_and_hour_of_local(local: i128) -> (u32, u32) {
    let (weekday, into_day) = match day_of_local(local) {
        // 1970-01-01 was a Thursday.
        Some((days, into_day)) => ((days + 3).rem_euclid(7), into_day),
        None => {
            let day = i128::from(NANOS_PER_DAY);
            let weekday = (local.div_euclid(day) + 3).rem_euclid(7);
            (i64::try_from(weekday).unwrap_or(0), i64::try_from(local.rem_euclid(day)).unwrap_or(0))
        }
    };
    (u32::try_from(weekday).unwrap_or(0), u32::try_from(into_day / 3_600_000_000_000).unwrap_or(0))
}

/// The start of the month of `at`, in `zone`.
pub fn month_start(at: Nanos, zone: Zone) -> Nanos {
    month_start_of(month_of(at, zone), zone)
}

thread_local! {
    /// The last month start computed on this thread: payments come in time order, so most
    /// ask for the same month as the one before.
    static MONTH_START: std::cell::Cell<Option<(Zone, MonthKey, Nanos)>> = const { std::cell::Cell::new(None) };
}

/// The start of month `key` in `zone`.
pub fn month_start_of(key: MonthKey, zone: Zone) -> Nanos {
    if let Some((z, k, start)) = MONTH_START.get()
        && z == zone
        && k == key
    {
        return start;
    }
    let first = month_first_day(key);
    let start = from_local(first.and_hms_opt(0, 0, 0).unwrap_or_default(), zone);
    MONTH_START.set(Some((zone, key, start)));
    start
}

/// Weekday of `at` in `zone`: 0 for Monday to 6 for Sunday.
pub fn weekday(at: Nanos, zone: Zone) -> u32 {
    weekday_and_hour_of_local(local_nanos(at, zone)).0
}

/// Hour of `at` in `zone`.
pub fn hour(at: Nanos, zone: Zone) -> u32 {
    weekday_and_hour_of_local(local_nanos(at, zone)).1
}

/// The count period whose application window holds `at`: windows start `offset`
/// nanoseconds after the start of the month after their count period.
pub fn count_period_for_window(at: Nanos, zone: Zone, offset: i64) -> MonthKey {
    count_period_for_local(local_nanos(at, zone), offset)
}

/// [`count_period_for_window`] of a local time given as [`local_nanos`].
pub fn count_period_for_local(local: i128, offset: i64) -> MonthKey {
    month_of_local(local - i128::from(offset)).saturating_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;

    /// The kept offset gives what the time-zone database gives, across clock changes, in
    /// zones with and without them, whatever order times are asked in.
    #[test]
    fn local_times_agree_with_the_time_zone_database() {
        let zones = [
            chrono_tz::Asia::Tokyo,
            chrono_tz::America::New_York,
            chrono_tz::Europe::London,
            chrono_tz::Australia::Lord_Howe,
        ];
        let start = nanos(chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z").unwrap_or_default().to_utc());
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let fixed = chrono::FixedOffset::east_opt(-5 * 3600).expect("a valid offset");
        for tz in zones {
            // In order, every 7 minutes for two years, then at random.
            let ordered = (0..150_000i64).map(|i| start + i * 7 * 60 * 1_000_000_000);
            let random = (0..50_000)
                .map(|_| start + (crate::test_support::next(&mut state) % (2 * 366 * 86_400)) as i64 * 1_000_000_000);
            for at in ordered.chain(random.collect::<Vec<_>>()) {
                let expected = utc(at).with_timezone(&tz).naive_local();
                assert_eq!(local(at, Zone::Named(tz)), expected, "{tz} at {at}");
                let n = local_nanos(at, Zone::Named(tz));
                assert_eq!(month_of_local(n), month_key(expected.date()), "{tz} at {at}");
                assert_eq!(month_of(at, Zone::Named(tz)), month_key(expected.date()), "{tz} at {at}");
                // A fixed zone in between keeps neither's month for the other.
                let in_fixed = utc(at).with_timezone(&fixed).naive_local();
                assert_eq!(month_of(at, Zone::Fixed(fixed)), month_key(in_fixed.date()), "-05:00 at {at}");
                let (weekday, hour) = weekday_and_hour_of_local(n);
                assert_eq!(weekday, expected.weekday().num_days_from_monday());
                assert_eq!(hour, expected.hour());
                let window = 12 * 3_600_000_000_000 + 59;
                let shifted = expected - chrono::Duration::nanoseconds(window);
                assert_eq!(count_period_for_local(n, window), month_key(shifted.date()) - 1);
            }
        }
    }

    /// Months, weekdays and hours of local times at the edges of 64 bits and far beyond
    /// them come out as 128-bit arithmetic throughout (the first version) gives them.
    #[test]
    fn local_times_far_from_1970_keep_their_calendar() {
        let reference = |local: i128| -> (MonthKey, u32, u32) {
            let day = i128::from(NANOS_PER_DAY);
            let days = local.div_euclid(day);
            let z = days + 719_468;
            let (era, doe) = (z.div_euclid(146_097), z.rem_euclid(146_097));
            let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
            let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
            let mp = (5 * doy + 2) / 153;
            let month = if mp < 10 { mp + 3 } else { mp - 9 };
            let key = (yoe + era * 400 + i128::from(month <= 2)) * 12 + (month - 1);
            let key = MonthKey::try_from(key).unwrap_or(if key < 0 { MonthKey::MIN } else { MonthKey::MAX });
            let weekday = u32::try_from((days + 3).rem_euclid(7)).unwrap_or(0);
            let hour = u32::try_from(local.rem_euclid(day) / 3_600_000_000_000).unwrap_or(0);
            (key, weekday, hour)
        };
        let edges = [i128::from(i64::MAX), i128::from(i64::MIN), 0, i128::MAX / 2, i128::MIN / 2, i128::MAX, i128::MIN];
        let day = i128::from(NANOS_PER_DAY);
        let shifts =
            [0, 1, -1, day, -day, 86_400 * 1_000_000_000 * 400 * 366, day << 40, -(day << 40), (day << 40) - 1];
        for edge in edges {
            for shift in shifts {
                let local = edge.saturating_add(shift);
                let (weekday, hour) = weekday_and_hour_of_local(local);
                assert_eq!((month_of_local(local), weekday, hour), reference(local), "at {local}");
            }
        }
    }
}
