//! Account attributes over time, against the five seeds (whose campaigns read a number, a
//! yes/no and a time of the account).

mod common;

use camp_compiler::ir::Value;
use camp_runtime::event;
use proptest::prelude::*;
use rust_decimal::Decimal;

/// An `account` event's time: day `d` of March 2026 from 0, at 10:00 in Japan.
fn day(d: i64) -> String {
    format!("2026-03-{:02}T10:00:00+09:00", 1 + d)
}

/// Processes `changes` (each an event: its day, and (attribute, value) pairs: attribute 0 the
/// rank, 1 linked, 2 the credit registration, 3 a name no campaign reads; value 0 removes)
/// on one account, then checks the values in force at every day's 10:00 against every change
/// read in time order, changes of one time in the order given.
fn check(changes: &[(i64, Vec<(usize, u8)>)]) -> Result<(), TestCaseError> {
    let mut runtime = common::seeds();
    let program = std::sync::Arc::clone(runtime.program());
    let named = |name: &str| {
        let found = program.attributes.iter().position(|a| a.name == name);
        found.unwrap_or_else(|| panic!("the seeds no longer read `{name}`: {:?}", program.attributes))
    };
    let names = ["dpoint_rank", "dpoint_linked", "paypay_credit_registered_at", "shoe_size"];
    let indices = [Some(named(names[0])), Some(named(names[1])), Some(named(names[2])), None];
    // Every change given, in the order given: (day, attribute index or none, value).
    let mut given: Vec<(i64, Option<usize>, Value)> = Vec::new();
    for (i, (d, attrs)) in changes.iter().enumerate() {
        let mut json = Vec::new();
        for &(which, v) in attrs {
            let (text, value) = match (which, v) {
                (_, 0) => ("null".to_string(), Value::Absent),
                (0, v) => (v.to_string(), Value::Num(Decimal::from(v))),
                (1, v) => ((v % 2 == 0).to_string(), Value::Bool(v % 2 == 0)),
                (2, v) => {
                    let at = day(i64::from(v));
                    let nanos = event::parse_time(&at).unwrap_or_else(|| panic!("{at}"));
                    (format!("\"{at}\""), Value::Time(nanos))
                }
                (_, v) => (v.to_string(), Value::Absent),
            };
            json.push(format!("\"{}\":{text}", names[which]));
            given.push((*d, indices[which], value));
        }
        let line = format!(
            r#"{{"type":"account","id":"a{i}","account":"u1","at":"{}","attrs":{{{}}}}}"#,
            day(*d),
            json.join(",")
        );
        let Ok(Some((event, hash))) = event::parse_line(&line) else { panic!("not an event: {line}") };
        runtime.process_hashed(&event, hash).unwrap_or_else(|r| panic!("{line}: {}", r.error));
    }
    given.sort_by_key(|(d, _, _)| *d);
    let Some(account) = runtime.account("u1") else { panic!("no account") };
    for probe in 0..7 {
        let at = event::parse_time(&day(probe)).unwrap_or_default();
        let mut expected = vec![Value::Absent; program.attributes.len()];
        for (_, index, value) in given.iter().filter(|(d, _, _)| *d <= probe) {
            if let Some(index) = index {
                expected[*index] = value.clone();
            }
        }
        prop_assert_eq!(account.attributes_at(at, program.attributes.len()), expected, "at day {}", probe);
    }
    Ok(())
}

proptest! {
    /// Whatever order attribute changes come in (later times first, several at one time,
    /// values removed, names no campaign reads), the value a payment sees at a time is the
    /// last one set at or before it.
    #[test]
    fn an_attribute_in_force_is_the_last_set_at_or_before_the_time(
        changes in proptest::collection::vec((0i64..6, proptest::collection::vec((0usize..4, 0u8..7), 1..4)), 1..60),
    ) {
        check(&changes)?;
    }
}
