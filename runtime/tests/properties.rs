//! Laws of the runtime over random event streams against the five seeds: no cap is ever
//! exceeded, nothing owed is ever negative, refunding every payment returns every point,
//! duplicated events change nothing, and batching does not change the ledger.

mod common;
use std::collections::HashMap;

use camp_runtime::{Entry, Runtime};
use chrono::{DateTime, Datelike, Duration, FixedOffset};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use serde_json::{Value, json};

fn runtime() -> Runtime {
    common::seeds()
}

#[derive(Clone, Debug)]
enum Action {
    Pay { account: usize, amount: i64, method: usize, merchant: usize, online: bool, provisional: bool },
    Refund { target: usize, share: u8 },
    Cancel { target: usize },
    Complete { target: usize },
    Enroll { account: usize },
    Attrs { account: usize, rank: u8, linked: bool, consent: bool, registered: bool },
}

const METHODS: [&str; 8] = [
    "paypay_balance",
    "paypay_credit",
    "paypay_point",
    "paypay_gift_voucher",
    "credit_card",
    "au_pay",
    "paypay_card",
    "cash",
];

fn merchant(i: usize) -> Value {
    match i {
        0 => json!({"tags":["ama-toku-4"],"class":"small"}),
        1 => json!({"brand":"amazon"}),
        2 => json!({"tags":["cashless-reduction"],"class":"small"}),
        3 => json!({"tags":["cashless-reduction"],"class":"franchise"}),
        _ => json!({"brand":"tokyo-cafe"}),
    }
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        6 => (0usize..3, 1i64..40_000, 0usize..METHODS.len(), 0usize..5, any::<bool>(), prop::bool::weighted(0.1)).prop_map(
            |(account, amount, method, merchant, online, provisional)| Action::Pay { account, amount, method, merchant, online, provisional }
        ),
        2 => (any::<usize>(), 1u8..=100).prop_map(|(target, share)| Action::Refund { target, share }),
        1 => any::<usize>().prop_map(|target| Action::Cancel { target }),
        1 => any::<usize>().prop_map(|target| Action::Complete { target }),
        1 => (0usize..3).prop_map(|account| Action::Enroll { account }),
        1 => (0usize..3, 0u8..8, any::<bool>(), any::<bool>(), any::<bool>())
            .prop_map(|(account, rank, linked, consent, registered)| Action::Attrs { account, rank, linked, consent, registered }),
    ]
}

/// A generated stream: JSON lines, and for each payment its account, time and amount.
struct Stream {
    lines: Vec<String>,
    payments: Vec<(String, String, DateTime<FixedOffset>)>,
    last: DateTime<FixedOffset>,
}

fn stream(era: usize, steps: &[(u32, Action)]) -> Stream {
    let starts = [
        "2019-11-01T00:00:00+09:00",
        "2026-01-28T00:00:00+09:00",
        "2026-03-29T00:00:00+09:00",
        "2026-04-25T00:00:00+09:00",
    ];
    let mut at = DateTime::parse_from_rfc3339(starts[era % starts.len()]).unwrap_or_default();
    let mut s = Stream { lines: Vec::new(), payments: Vec::new(), last: at };
    let mut amounts: Vec<i64> = Vec::new();
    for (n, (minutes, action)) in steps.iter().enumerate() {
        at += Duration::minutes(i64::from(*minutes));
        let when = at.to_rfc3339();
        let id = format!("e{n}");
        let target = |t: &usize| (!s.payments.is_empty()).then(|| &s.payments[t % s.payments.len()]);
        let event = match action {
            Action::Pay { account, amount, method, merchant: m, online, provisional } => {
                let account = format!("u{account}");
                s.payments.push((id.clone(), account.clone(), at));
                amounts.push(*amount);
                let mut e = json!({"type":"payment","id":id,"account":account,"at":when,"amount":amount,
                    "method":METHODS[*method],"merchant":merchant(*m),"channel":if *online {"online"} else {"in_store"}});
                if *provisional {
                    e["status"] = json!("provisional");
                }
                e
            }
            Action::Refund { target: t, share } => match target(t) {
                Some((payment, account, _)) => {
                    let amount = (amounts[t % amounts.len()] * i64::from(*share) / 100).max(1);
                    json!({"type":"refund","id":id,"account":account,"at":when,"payment":payment,"amount":amount})
                }
                None => continue,
            },
            Action::Cancel { target: t } => match target(t) {
                Some((payment, account, _)) => {
                    json!({"type":"cancel","id":id,"account":account,"at":when,"payment":payment})
                }
                None => continue,
            },
            Action::Complete { target: t } => match target(t) {
                Some((payment, account, _)) => {
                    json!({"type":"complete","id":id,"account":account,"at":when,"payment":payment})
                }
                None => continue,
            },
            Action::Enroll { account } => {
                json!({"type":"enroll","id":id,"account":format!("u{account}"),"at":when,"campaign":"aupay-amazon-2026"})
            }
            Action::Attrs { account, rank, linked, consent, registered } => {
                let mut attrs = json!({"dpoint_rank":rank,"dpoint_linked":linked,"consent_purchase_data":consent});
                if *registered {
                    attrs["paypay_credit_registered_at"] = json!(when);
                }
                json!({"type":"account","id":id,"account":format!("u{account}"),"at":when,"attrs":attrs})
            }
        };
        s.lines.push(event.to_string());
    }
    s.last = at;
    s
}

fn steps() -> impl Strategy<Value = (usize, Vec<(u32, Action)>)> {
    (0usize..4, prop::collection::vec((0u32..6000, action()), 1..40))
}

fn owed(entries: &[Entry]) -> HashMap<(String, String), i64> {
    let mut owed = HashMap::new();
    for e in entries {
        if let Some((c, p)) = e.owed_key() {
            *owed.entry((c.to_string(), p.to_string())).or_insert(0) += e.points();
        }
    }
    owed
}

fn process(lines: &[String]) -> Vec<Entry> {
    let mut rt = runtime();
    lines.iter().enumerate().flat_map(|(i, l)| rt.process_line(i + 1, l)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn no_cap_is_ever_exceeded_and_nothing_owed_is_negative((era, steps) in steps()) {
        let s = stream(era, &steps);
        let mut rt = runtime();
        let mut running: HashMap<(String, String), i64> = HashMap::new();
        for (i, line) in s.lines.iter().enumerate() {
            for e in rt.process_line(i + 1, line) {
                if let Some((c, p)) = e.owed_key() {
                    let total = running.entry((c.to_string(), p.to_string())).or_insert(0);
                    *total += e.points();
                    prop_assert!(*total >= 0, "{c}/{p} owes {total} after line {}", i + 1);
                }
            }
        }
        let info: HashMap<&str, (&str, DateTime<FixedOffset>)> =
            s.payments.iter().map(|(id, account, at)| (id.as_str(), (account.as_str(), *at))).collect();
        let per_payment = [("ama-toku-4", 1000), ("cashless-reduction-2019", 25000), ("amazon-dpoint", 250)];
        let per_period = [("ama-toku-4", 3000), ("aupay-amazon-2026", 500)];
        let per_month = [("cashless-reduction-2019", 25000), ("amazon-dpoint", 250)];
        let mut periods: HashMap<(&str, &str), i64> = HashMap::new();
        let mut months: HashMap<(&str, &str, i32, u32), i64> = HashMap::new();
        for ((campaign, payment), points) in &running {
            let Some((account, at)) = info.get(payment.as_str()) else { continue };
            for (c, cap) in per_payment {
                prop_assert!(campaign != c || *points <= cap, "{campaign}/{payment}: {points} > {cap}");
            }
            *periods.entry((campaign.as_str(), account)).or_insert(0) += points;
            *months.entry((campaign.as_str(), account, at.year(), at.month())).or_insert(0) += points;
        }
        for ((campaign, account), total) in &periods {
            for (c, cap) in per_period {
                prop_assert!(*campaign != c || *total <= cap, "{campaign} owes {account} {total} > {cap}");
            }
        }
        for ((campaign, account, y, m), total) in &months {
            for (c, cap) in per_month {
                prop_assert!(*campaign != c || *total <= cap, "{campaign} owes {account} {total} in {y}-{m} > {cap}");
            }
        }
    }

    #[test]
    fn refunding_every_payment_returns_every_point((era, steps) in steps()) {
        let mut s = stream(era, &steps);
        let end = s.last + Duration::minutes(1);
        for (i, (payment, account, _)) in s.payments.iter().enumerate() {
            s.lines.push(json!({"type":"cancel","id":format!("x{i}"),"account":account,"at":end.to_rfc3339(),"payment":payment}).to_string());
        }
        let entries = process(&s.lines);
        let left: Vec<_> = owed(&entries).into_iter().filter(|(_, p)| *p != 0).collect();
        prop_assert!(left.is_empty(), "still owed after cancelling everything: {left:?}");
    }

    #[test]
    fn a_stream_with_events_repeated_gives_the_same_ledger((era, steps) in steps(), repeat in prop::collection::vec(any::<bool>(), 40)) {
        let s = stream(era, &steps);
        let once = process(&s.lines);
        let mut doubled = Vec::new();
        for (i, line) in s.lines.iter().enumerate() {
            doubled.push(line.clone());
            if repeat[i % repeat.len()] {
                doubled.push(line.clone());
            }
        }
        let twice = process(&doubled);
        let accepted = |entries: &[Entry]| entries.iter().filter(|e| e.owed_key().is_some()).cloned().collect::<Vec<_>>();
        let rejected = |entries: &[Entry]| {
            let mut ids: Vec<Option<String>> = entries.iter().filter_map(|e| match e {
                Entry::Reject { event, .. } => Some(event.clone()),
                _ => None,
            }).collect();
            ids.dedup();
            ids
        };
        prop_assert_eq!(accepted(&once), accepted(&twice));
        prop_assert_eq!(rejected(&once), rejected(&twice));
    }

    #[test]
    fn the_jit_and_the_interpreter_write_the_same_ledger((era, steps) in steps()) {
        let s = stream(era, &steps);
        let ledger = |engine| {
            let mut rt = common::seeds_with(engine);
            s.lines.iter().enumerate().flat_map(|(i, l)| rt.process_line(i + 1, l)).collect::<Vec<_>>()
        };
        prop_assert_eq!(ledger(camp_runtime::Engine::Jit), ledger(camp_runtime::Engine::Interp));
    }

    #[test]
    fn the_ledger_does_not_depend_on_how_the_stream_is_cut((era, steps) in steps(), cuts in prop::collection::vec(1usize..8, 1..10)) {
        let s = stream(era, &steps);
        let whole = process(&s.lines);
        let mut rt = runtime();
        let mut batched = Vec::new();
        let (mut at, mut cut) = (0, 0);
        while at < s.lines.len() {
            let size = cuts[cut % cuts.len()].min(s.lines.len() - at);
            batched.extend(rt.process_lines(at + 1, &s.lines[at..at + size].join("\n")));
            at += size;
            cut += 1;
        }
        prop_assert_eq!(whole, batched);
    }

    #[test]
    fn state_kept_outside_the_process_gives_the_same_ledger((era, steps) in steps(), cuts in prop::collection::vec(1usize..8, 1..10)) {
        let s = stream(era, &steps);
        prop_assert_eq!(process(&s.lines), common::through_snapshots(&s.lines, &cuts));
    }
}

#[test]
fn the_generator_exercises_awards_refunds_and_rejects() {
    // The laws above are only as good as the streams: check that generated streams do reach
    // awards, adjustments and rejects at all.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut awards, mut adjusts, mut rejects) = (0, 0, 0);
    for _ in 0..64 {
        let Ok(tree) = steps().new_tree(&mut runner) else { continue };
        let (era, steps) = tree.current();
        for e in process(&stream(era, &steps).lines) {
            match e {
                Entry::Award { .. } => awards += 1,
                Entry::Adjust { .. } => adjusts += 1,
                Entry::Reject { .. } => rejects += 1,
            }
        }
    }
    assert!(awards > 50 && adjusts > 5 && rejects > 5, "awards {awards}, adjusts {adjusts}, rejects {rejects}");
}
