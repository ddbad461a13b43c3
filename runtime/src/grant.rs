//! Grant dates (S1.6, S3.6, S4.6, S5.8): when the points of a payment reach the customer.

use camp_compiler::ir::{Campaign, Nanos};
use camp_compiler::time;
use camp_lang::typed::GrantWhen;
use chrono::{Datelike, Days, NaiveDate};

/// The grant date of an award for a payment made at `at`, in the campaign's zone. The first
/// grant line whose payment range holds `at` decides; with none, the payment's date.
pub fn date(c: &Campaign, at: Nanos) -> NaiveDate {
    let paid_on = time::local(at, c.zone).date();
    let rule = c.grants.iter().find(|g| g.from.is_none_or(|f| at >= f) && g.until.is_none_or(|u| at < u));
    match rule.map(|g| &g.when) {
        Some(GrantWhen::OnDate(d)) => *d,
        Some(GrantWhen::DaysAfter(n)) => paid_on.checked_add_days(Days::new(u64::from(*n))).unwrap_or(paid_on),
        Some(GrantWhen::DayOfNextMonth(day)) => {
            let first = time::month_first_day(time::month_key(paid_on) + 1);
            // The 31st of a 30-day month is its last day.
            (0..4).find_map(|back| first.with_day(day.saturating_sub(back))).unwrap_or(first)
        }
        Some(GrantWhen::AtPayment) | None => paid_on,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn campaign(grants: &str) -> Campaign {
        let src = format!(
            "campaign g {{\n  title \"g\"\n  period 2019-10-01 to 2020-06-30 in Asia/Tokyo\n  unit p = 1 JPY\n  award 1%\n{grants}\n  stack independent\n}}\n"
        );
        let program = crate::compile(&[camp_compiler::SourceFile { name: "g.camp", text: &src }])
            .unwrap_or_else(|e| panic!("{e:?}"));
        let Some(c) = std::sync::Arc::try_unwrap(program).ok().and_then(|p| p.campaigns.into_iter().next()) else {
            panic!("no campaign")
        };
        c
    }

    fn at(text: &str) -> Nanos {
        crate::event::parse_time(text).unwrap_or_default()
    }

    #[test]
    fn s5_8_grant_dates_follow_the_payment_date() {
        let c = campaign(
            "  grant on 20th of next month for payments to 2019-11-30\n  grant 30 days after payment for payments from 2019-12-01",
        );
        let ymd = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
        assert_eq!(date(&c, at("2019-11-30T23:59:59+09:00")), ymd(2019, 12, 20));
        assert_eq!(date(&c, at("2019-12-01T00:00:00+09:00")), ymd(2019, 12, 31));
        // Japan time decides the date: 2019-10-31T16:00Z is already 1 November in Tokyo.
        assert_eq!(date(&c, at("2019-10-31T16:00:00Z")), ymd(2019, 12, 20));
    }

    #[test]
    fn the_31st_of_next_month_is_its_last_day_when_shorter() {
        let c = campaign("  grant on 31st of next month");
        assert_eq!(date(&c, at("2020-01-15T10:00:00+09:00")), NaiveDate::from_ymd_opt(2020, 2, 29).unwrap_or_default());
    }
}
