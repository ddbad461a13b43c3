//! One test per TERMS.md rule, named after it, run against the five seed campaigns loaded
//! together (as `campc run examples/seeds/*.camp` loads them).

mod common;
use std::collections::HashMap;

use camp_runtime::{Entry, Runtime};
use serde_json::{Value, json};

fn runtime() -> Runtime {
    common::seeds()
}

/// Runs events; returns what each campaign owes per payment, the rejected ids and every entry.
fn run(events: &[Value]) -> (HashMap<String, i64>, Vec<String>, Vec<Entry>) {
    let mut rt = runtime();
    let mut owed = HashMap::new();
    let mut rejected = Vec::new();
    let mut all = Vec::new();
    for (i, e) in events.iter().enumerate() {
        for entry in rt.process_line(i + 1, &e.to_string()) {
            if let Entry::Reject { event, line, .. } = &entry {
                rejected.push(event.clone().unwrap_or_else(|| format!("line:{line}")));
            }
            if let Some((c, p)) = entry.owed_key() {
                *owed.entry(format!("{c}/{p}")).or_insert(0) += entry.points();
            }
            all.push(entry);
        }
    }
    // Every rule holds as well when the state goes out to a store and back after each event.
    let lines: Vec<String> = events.iter().map(Value::to_string).collect();
    assert_eq!(common::through_snapshots(&lines, &[1]), all, "the ledger changed through snapshots");
    (owed, rejected, all)
}

fn owes(owed: &HashMap<String, i64>, key: &str) -> i64 {
    owed.get(key).copied().unwrap_or(0)
}

fn pay(id: &str, account: &str, at: &str, amount: i64, method: &str, extra: Value) -> Value {
    let mut e = json!({"type":"payment","id":id,"account":account,"at":at,"amount":amount,"method":method});
    if let (Some(e), Value::Object(extra)) = (e.as_object_mut(), extra) {
        e.extend(extra);
    }
    e
}

fn ama(id: &str, at: &str, amount: i64, method: &str) -> Value {
    pay(id, "u", at, amount, method, json!({"merchant":{"tags":["ama-toku-4"]}}))
}

fn amazon(id: &str, account: &str, at: &str, amount: i64, method: &str) -> Value {
    pay(id, account, at, amount, method, json!({"merchant":{"brand":"amazon"},"channel":"online","app":"aupay"}))
}

fn refund(id: &str, account: &str, at: &str, payment: &str, amount: i64) -> Value {
    json!({"type":"refund","id":id,"account":account,"at":at,"payment":payment,"amount":amount})
}

fn cancel(id: &str, account: &str, at: &str, payment: &str) -> Value {
    json!({"type":"cancel","id":id,"account":account,"at":at,"payment":payment})
}

fn attrs(id: &str, account: &str, at: &str, attrs: Value) -> Value {
    json!({"type":"account","id":id,"account":account,"at":at,"attrs":attrs})
}

fn enroll(id: &str, account: &str, at: &str) -> Value {
    json!({"type":"enroll","id":id,"account":account,"at":at,"campaign":"aupay-amazon-2026"})
}

/// Thirty balance payments of 3,400 JPY in April 2026 (102,000 JPY): April is achieved.
fn achieved_april(account: &str) -> Vec<Value> {
    (0..30)
        .map(|i| {
            pay(
                &format!("w{i:02}"),
                account,
                &format!("2026-04-{:02}T10:00:00+09:00", 2 + i / 10),
                3400,
                "paypay_balance",
                json!({}),
            )
        })
        .collect()
}

// ---------------------------------------------------------------- S1 aupay-amazon-2026

#[test]
fn s1_1_period_edges_are_inclusive_to_the_last_second() {
    let (owed, _, _) = run(&[
        enroll("e", "u", "2026-03-30T00:00:00+09:00"),
        amazon("v1", "u", "2026-03-31T00:00:00+09:00", 1000, "au_pay"),
        amazon("v2", "u", "2026-04-06T23:59:59.500+09:00", 1000, "au_pay"),
        amazon("v3", "u", "2026-04-07T00:00:00+09:00", 1000, "au_pay"),
        amazon("v4", "u", "2026-03-30T23:59:59+09:00", 1000, "au_pay"),
    ]);
    assert_eq!(owes(&owed, "aupay-amazon-2026/v1"), 300);
    assert_eq!(owes(&owed, "aupay-amazon-2026/v2"), 200, "inside, but the 500 cap leaves 200");
    assert_eq!(owes(&owed, "aupay-amazon-2026/v3"), 0);
    assert_eq!(owes(&owed, "aupay-amazon-2026/v4"), 0);
}

#[test]
fn s1_2_entry_must_come_before_the_payment() {
    let (owed, _, _) = run(&[
        amazon("v0", "u", "2026-04-01T08:00:00+09:00", 1000, "au_pay"),
        enroll("e", "u", "2026-04-01T09:00:00+09:00"),
        amazon("v1", "u", "2026-04-01T09:00:00+09:00", 1000, "au_pay"),
    ]);
    assert_eq!(owes(&owed, "aupay-amazon-2026/v0"), 0);
    assert_eq!(owes(&owed, "aupay-amazon-2026/v1"), 300, "an entry at the same moment counts");
}

#[test]
fn s1_3_only_au_pay_at_amazon_of_200_jpy_or_more() {
    let (owed, _, _) = run(&[
        enroll("e", "u", "2026-03-31T00:00:00+09:00"),
        amazon("v1", "u", "2026-04-01T10:00:00+09:00", 199, "au_pay"),
        amazon("v2", "u", "2026-04-01T11:00:00+09:00", 200, "au_pay"),
        amazon("v3", "u", "2026-04-01T12:00:00+09:00", 1000, "cash"),
        pay("v4", "u", "2026-04-01T13:00:00+09:00", 1000, "au_pay", json!({"merchant":{"brand":"rakuten"}})),
    ]);
    assert_eq!(owes(&owed, "aupay-amazon-2026/v1"), 0);
    assert_eq!(owes(&owed, "aupay-amazon-2026/v2"), 60);
    assert_eq!(owes(&owed, "aupay-amazon-2026/v3"), 0);
    assert_eq!(owes(&owed, "aupay-amazon-2026/v4"), 0);
}

#[test]
fn s1_4_the_customer_class_is_fixed_by_the_cutoff() {
    let (owed, _, _) = run(&[
        attrs(
            "a1",
            "old",
            "2026-01-01T00:00:00+09:00",
            json!({"aupay_amazon_first_used_at":"2026-03-30T23:59:59+09:00"}),
        ),
        attrs(
            "a2",
            "new",
            "2026-01-01T00:00:00+09:00",
            json!({"aupay_amazon_first_used_at":"2026-03-31T00:00:00+09:00"}),
        ),
        enroll("e1", "old", "2026-03-31T00:00:00+09:00"),
        enroll("e2", "new", "2026-03-31T00:00:00+09:00"),
        enroll("e3", "none", "2026-03-31T00:00:00+09:00"),
        amazon("v1", "old", "2026-04-01T10:00:00+09:00", 1000, "au_pay"),
        amazon("v2", "new", "2026-04-01T10:00:00+09:00", 1000, "au_pay"),
        amazon("v3", "none", "2026-04-01T10:00:00+09:00", 1000, "au_pay"),
    ]);
    assert_eq!(owes(&owed, "aupay-amazon-2026/v1"), 100);
    assert_eq!(owes(&owed, "aupay-amazon-2026/v2"), 300);
    assert_eq!(owes(&owed, "aupay-amazon-2026/v3"), 300);
}

#[test]
fn s1_5_the_award_that_would_pass_500_is_cut_to_what_is_left() {
    let (owed, _, _) = run(&[
        enroll("e", "u", "2026-03-31T00:00:00+09:00"),
        amazon("v1", "u", "2026-04-01T10:00:00+09:00", 1500, "au_pay"),
        amazon("v2", "u", "2026-04-01T11:00:00+09:00", 1500, "au_pay"),
        amazon("v3", "u", "2026-04-01T12:00:00+09:00", 1500, "au_pay"),
    ]);
    assert_eq!(
        [owes(&owed, "aupay-amazon-2026/v1"), owes(&owed, "aupay-amazon-2026/v2"), owes(&owed, "aupay-amazon-2026/v3")],
        [450, 50, 0]
    );
}

#[test]
fn s1_6_granted_on_june_30th_and_stacks_with_everything() {
    let (_, _, entries) = run(&[
        enroll("e", "u", "2026-03-31T00:00:00+09:00"),
        amazon("v1", "u", "2026-04-01T10:00:00+09:00", 1000, "au_pay"),
    ]);
    let grant = entries.iter().find_map(|e| match e {
        Entry::Award { grant_on, unit, .. } => Some((grant_on.to_string(), unit.to_string())),
        _ => None,
    });
    assert_eq!(grant, Some(("2026-06-30".to_string(), "au_pay_balance".to_string())));
}

#[test]
fn s1_7_partial_refund_recomputes_never_above_the_award_before() {
    let (owed, _, _) = run(&[
        enroll("e", "u", "2026-03-31T00:00:00+09:00"),
        amazon("v1", "u", "2026-04-01T10:00:00+09:00", 1000, "au_pay"),
        amazon("v2", "u", "2026-04-01T11:00:00+09:00", 2000, "au_pay"),
        refund("r1", "u", "2026-04-02T10:00:00+09:00", "v1", 400),
        refund("r2", "u", "2026-04-02T11:00:00+09:00", "v2", 500),
    ]);
    assert_eq!(owes(&owed, "aupay-amazon-2026/v1"), 180, "30% of the 600 left");
    assert_eq!(owes(&owed, "aupay-amazon-2026/v2"), 200, "capped at 200 before; 30% of 1,500 is more, so it stays");
}

// ---------------------------------------------------------------- S2 amazon-dpoint

#[test]
fn s2_1_only_linked_accounts_earn() {
    let (owed, _, _) = run(&[
        attrs("a", "linked", "2024-01-01T00:00:00+09:00", json!({"dpoint_linked": true})),
        amazon("d1", "linked", "2026-05-03T10:00:00+09:00", 5000, "credit_card"),
        amazon("d2", "other", "2026-05-03T10:00:00+09:00", 5000, "credit_card"),
    ]);
    assert_eq!(owes(&owed, "amazon-dpoint/d1"), 50);
    assert_eq!(owes(&owed, "amazon-dpoint/d2"), 0);
}

#[test]
fn s2_4_only_the_first_10000_jpy_counts() {
    let (owed, _, _) = run(&[
        attrs("a", "u", "2024-01-01T00:00:00+09:00", json!({"dpoint_linked": true, "dpoint_rank": 2})),
        amazon("d1", "u", "2026-05-03T10:00:00+09:00", 50000, "credit_card"),
    ]);
    assert_eq!(owes(&owed, "amazon-dpoint/d1"), 150);
}

#[test]
fn s2_5_the_monthly_cap_uses_the_rank_in_force_at_the_payment() {
    let (owed, _, _) = run(&[
        attrs("a1", "u", "2024-01-01T00:00:00+09:00", json!({"dpoint_linked": true, "dpoint_rank": 1})),
        amazon("d1", "u", "2026-05-03T10:00:00+09:00", 10000, "credit_card"),
        attrs("a2", "u", "2026-05-10T00:00:00+09:00", json!({"dpoint_rank": 5})),
        amazon("d2", "u", "2026-05-11T10:00:00+09:00", 10000, "credit_card"),
    ]);
    assert_eq!(owes(&owed, "amazon-dpoint/d1"), 100);
    assert_eq!(owes(&owed, "amazon-dpoint/d2"), 150, "rank 5 earns 250 with a 250 cap; 100 are used");
}

// ---------------------------------------------------------------- S3 paypay-step

#[test]
fn s3_3_payments_under_300_jpy_add_to_the_total_not_to_the_count() {
    // 29 payments of 3,400 and one of 299: 29 counted, 98,899 JPY: April is missed.
    let mut events: Vec<Value> = achieved_april("u").into_iter().take(29).collect();
    events.push(pay("small", "u", "2026-04-20T10:00:00+09:00", 299, "paypay_balance", json!({})));
    events.push(pay("may", "u", "2026-05-10T10:00:00+09:00", 10000, "paypay_balance", json!({})));
    let (owed, _, _) = run(&events);
    assert_eq!(owes(&owed, "paypay-step/may"), 50, "no bonus");
}

#[test]
fn s3_4_the_bonus_needs_the_previous_count_period_achieved() {
    let mut events = achieved_april("u");
    events.push(pay("may", "u", "2026-05-10T10:00:00+09:00", 10000, "paypay_credit", json!({})));
    let (owed, _, _) = run(&events);
    assert_eq!(owes(&owed, "paypay-step/may"), 150);
}

#[test]
fn s3_5_app_windows_turn_at_noon_on_the_1st_and_card_windows_at_midnight() {
    let mut events = vec![attrs(
        "a",
        "u",
        "2026-01-01T00:00:00+09:00",
        json!({"paypay_credit_registered_at":"2026-01-01T00:00:00+09:00"}),
    )];
    events.extend(achieved_april("u"));
    events.push(pay("card", "u", "2026-05-01T00:00:00+09:00", 10000, "paypay_card", json!({})));
    events.push(pay("app", "u", "2026-05-01T11:59:59.900+09:00", 10000, "paypay_balance", json!({})));
    let (owed, _, _) = run(&events);
    assert_eq!(owes(&owed, "paypay-step/app"), 50, "still the window of March");
    assert_eq!(owes(&owed, "paypay-step/card"), 150, "the card window of April opens at midnight");
}

#[test]
fn s3_8_partial_refund_prorates_exactly_and_a_full_refund_voids() {
    let (owed, _, _) = run(&[
        pay("p1", "u", "2026-03-10T10:00:00+09:00", 3000, "paypay_balance", json!({})),
        refund("r1", "u", "2026-03-11T10:00:00+09:00", "p1", 2000),
        pay("p2", "u", "2026-03-10T11:00:00+09:00", 3000, "paypay_balance", json!({})),
        cancel("c2", "u", "2026-03-11T11:00:00+09:00", "p2"),
    ]);
    assert_eq!(owes(&owed, "paypay-step/p1"), 5, "floor(1000 × 15 ÷ 3000), not a rounded quotient");
    assert_eq!(owes(&owed, "paypay-step/p2"), 0);
}

#[test]
fn s3_9_a_refund_that_misses_a_month_re_rates_its_window_with_the_refund_id() {
    let mut events = achieved_april("u");
    events.push(pay("may", "u", "2026-05-10T10:00:00+09:00", 10000, "paypay_balance", json!({})));
    events.push(cancel("c1", "u", "2026-05-12T10:00:00+09:00", "w00"));
    let (owed, _, entries) = run(&events);
    assert_eq!(owes(&owed, "paypay-step/may"), 50);
    let rerate = entries.iter().find(|e| matches!(e, Entry::Adjust { payment, .. } if &**payment == "may"));
    assert!(matches!(rerate, Some(Entry::Adjust { event, points: -50, .. }) if &**event == "c1"), "{rerate:?}");
}

#[test]
fn s3_9_a_partial_refund_that_keeps_the_month_achieved_changes_nothing_else() {
    let mut events = achieved_april("u");
    events.push(pay("may", "u", "2026-05-10T10:00:00+09:00", 10000, "paypay_balance", json!({})));
    events.push(refund("r1", "u", "2026-05-12T10:00:00+09:00", "w00", 100));
    let (owed, _, _) = run(&events);
    assert_eq!(owes(&owed, "paypay-step/may"), 100, "101,900 JPY and 30 payments still achieve April");
}

#[test]
fn s3_10_a_completion_that_achieves_a_month_helps_only_later_payments() {
    let mut events: Vec<Value> = achieved_april("u").into_iter().take(29).collect();
    events.push(pay("late", "u", "2026-04-25T10:00:00+09:00", 3400, "paypay_balance", json!({"status":"provisional"})));
    events.push(pay("before", "u", "2026-05-10T10:00:00+09:00", 10000, "paypay_balance", json!({})));
    events.push(json!({"type":"complete","id":"k1","account":"u","at":"2026-05-11T10:00:00+09:00","payment":"late"}));
    events.push(pay("after", "u", "2026-05-12T10:00:00+09:00", 10000, "paypay_balance", json!({})));
    let (owed, _, _) = run(&events);
    assert_eq!(owes(&owed, "paypay-step/late"), 17, "earns at the rate in force at its own time (March missed)");
    assert_eq!(owes(&owed, "paypay-step/before"), 50);
    assert_eq!(owes(&owed, "paypay-step/after"), 100);
}

// ---------------------------------------------------------------- S4 ama-toku-4

#[test]
fn s4_3_only_paypay_tenders_are_the_basis() {
    let (owed, _, _) =
        run(&[json!({"type":"payment","id":"p1","account":"u","at":"2026-02-03T10:00:00+09:00","amount":1200,
        "tenders":[{"method":"paypay_balance","amount":700},{"method":"paypay_gift_voucher","amount":500}],
        "merchant":{"tags":["ama-toku-4"]}})]);
    assert_eq!(owes(&owed, "ama-toku-4/p1"), 70);
}

#[test]
fn s4_5_the_period_cap_cuts_the_last_award() {
    let (owed, _, _) = run(&[
        ama("q1", "2026-02-02T10:00:00+09:00", 12000, "paypay_balance"),
        ama("q2", "2026-02-03T10:00:00+09:00", 12000, "paypay_balance"),
        ama("q3", "2026-02-04T10:00:00+09:00", 8000, "paypay_balance"),
        ama("q4", "2026-02-05T10:00:00+09:00", 8000, "paypay_balance"),
    ]);
    assert_eq!([owes(&owed, "ama-toku-4/q3"), owes(&owed, "ama-toku-4/q4")], [800, 200]);
}

#[test]
fn s4_6_granted_30_days_after_the_payment_date_in_japan_time() {
    let (_, _, entries) = run(&[ama("p1", "2026-02-27T16:00:00Z", 1000, "paypay_balance")]);
    let grant = entries.iter().find_map(|e| match e {
        Entry::Award { grant_on, campaign, .. } if &**campaign == "ama-toku-4" => Some(grant_on.to_string()),
        _ => None,
    });
    assert_eq!(grant.as_deref(), Some("2026-03-30"), "2026-02-27T16:00Z is 28 February in Japan");
}

#[test]
fn s4_7_refund_frees_room_only_for_later_payments() {
    let (owed, _, _) = run(&[
        ama("q1", "2026-02-02T10:00:00+09:00", 12000, "paypay_balance"),
        ama("q2", "2026-02-03T10:00:00+09:00", 12000, "paypay_balance"),
        ama("q3", "2026-02-04T10:00:00+09:00", 12000, "paypay_balance"),
        ama("q4", "2026-02-05T10:00:00+09:00", 12000, "paypay_balance"),
        cancel("c1", "u", "2026-02-06T10:00:00+09:00", "q1"),
        ama("q5", "2026-02-07T10:00:00+09:00", 12000, "paypay_balance"),
    ]);
    assert_eq!(owes(&owed, "ama-toku-4/q4"), 0, "made while the cap was full: stays at what it got");
    assert_eq!(owes(&owed, "paypay-step/q4"), 60);
    assert_eq!(owes(&owed, "ama-toku-4/q5"), 1000);
}

#[test]
fn s4_8_while_the_period_cap_is_full_paypay_step_applies_and_the_choice_stays() {
    let (owed, _, _) = run(&[
        ama("q1", "2026-02-02T10:00:00+09:00", 12000, "paypay_balance"),
        ama("q2", "2026-02-03T10:00:00+09:00", 12000, "paypay_balance"),
        ama("q3", "2026-02-04T10:00:00+09:00", 12000, "paypay_balance"),
        ama("q4", "2026-02-05T10:00:00+09:00", 12000, "paypay_balance"),
        refund("r1", "u", "2026-02-06T10:00:00+09:00", "q4", 6000),
    ]);
    assert_eq!(owes(&owed, "paypay-step/q1"), 0);
    assert_eq!(owes(&owed, "paypay-step/q4"), 30, "Step keeps q4 after the refund, prorated");
    assert_eq!(owes(&owed, "ama-toku-4/q4"), 0);
}

// ---------------------------------------------------------------- S5 cashless-reduction-2019

#[test]
fn s5_5_the_monthly_cap_cuts_and_room_does_not_come_back_with_a_refund() {
    let shop = json!({"merchant":{"tags":["cashless-reduction"],"class":"small"}});
    let (owed, _, _) = run(&[
        pay("k1", "u", "2019-11-10T10:00:00+09:00", 10000, "paypay_balance", shop.clone()),
        pay("k2", "u", "2019-11-15T10:00:00+09:00", 600000, "paypay_balance", shop.clone()),
        refund("r1", "u", "2019-11-20T10:00:00+09:00", "k2", 100000),
        pay("k3", "u", "2019-11-21T10:00:00+09:00", 10000, "paypay_balance", shop),
    ]);
    assert_eq!(owes(&owed, "cashless-reduction-2019/k2"), 24500);
    assert_eq!(owes(&owed, "cashless-reduction-2019/k3"), 0);
}

#[test]
fn s5_8_grant_dates_switch_on_2019_12_01() {
    let shop = json!({"merchant":{"tags":["cashless-reduction"],"class":"small"}});
    let (_, _, entries) = run(&[
        pay("k1", "u", "2019-11-30T23:00:00+09:00", 10000, "paypay_balance", shop.clone()),
        pay("k2", "u", "2019-12-01T00:00:00+09:00", 10000, "paypay_balance", shop),
    ]);
    let dates: Vec<String> = entries
        .iter()
        .filter_map(|e| match e {
            Entry::Award { grant_on, .. } => Some(grant_on.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(dates, ["2019-12-20", "2019-12-31"]);
}

// ---------------------------------------------------------------- edges and the contract

#[test]
fn edges_a_payment_in_another_currency_earns_nothing() {
    let (owed, _, _) = run(&[pay(
        "p1",
        "u",
        "2026-02-03T10:00:00+09:00",
        1000,
        "paypay_balance",
        json!({"currency":"USD","merchant":{"tags":["ama-toku-4"]}}),
    )]);
    assert!(owed.values().all(|p| *p == 0), "{owed:?}");
}

#[test]
fn events_the_same_event_twice_changes_nothing_and_other_content_is_rejected() {
    let p = ama("p1", "2026-02-03T10:00:00+09:00", 1000, "paypay_balance");
    let other = ama("p1", "2026-02-03T10:00:00+09:00", 9999, "paypay_balance");
    let (owed, rejected, entries) = run(&[p.clone(), p, other]);
    assert_eq!(owes(&owed, "ama-toku-4/p1"), 100);
    assert_eq!(rejected, ["p1"]);
    assert_eq!(entries.len(), 2, "one award, one reject");
}

#[test]
fn events_refunds_must_name_a_payment_of_the_same_account_and_not_exceed_it() {
    let (_, rejected, _) = run(&[
        pay("p1", "a", "2026-03-10T10:00:00+09:00", 1000, "paypay_balance", json!({})),
        refund("r1", "b", "2026-03-10T11:00:00+09:00", "p1", 100),
        refund("r2", "a", "2026-03-10T11:00:00+09:00", "p1", 1001),
        refund("r3", "a", "2026-03-10T11:00:00+09:00", "p404", 1),
        json!({"type":"complete","id":"k1","account":"a","at":"2026-03-10T12:00:00+09:00","payment":"p1"}),
    ]);
    assert_eq!(rejected, ["r1", "r2", "r3", "k1"]);
}
