//! Reloading campaigns keeps every account's state: caps used stay used, also when a reload
//! removes a campaign and a later one brings it back.

mod common;
use std::path::Path;

use camp_runtime::{Entry, Runtime, SourceFile};
use serde_json::json;

fn seed_files(only: Option<&str>) -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/seeds");
    let mut names = vec![
        "ama-toku-4.camp",
        "amazon-dpoint.camp",
        "aupay-amazon-2026.camp",
        "cashless-reduction-2019.camp",
        "paypay-step.camp",
    ];
    names.retain(|n| only.is_none_or(|o| o == *n));
    names
        .iter()
        .map(|n| (n.to_string(), std::fs::read_to_string(dir.join(n)).unwrap_or_else(|e| panic!("{n}: {e}"))))
        .collect()
}

fn reload(rt: &mut Runtime, files: &[(String, String)]) {
    let sources: Vec<SourceFile<'_>> = files.iter().map(|(name, text)| SourceFile { name, text }).collect();
    rt.reload_sources(&sources, None).unwrap_or_else(|e| panic!("reload: {e}"));
}

fn ama_payment(n: usize) -> String {
    json!({"type":"payment","id":format!("p{n}"),"account":"u","at":format!("2026-02-{:02}T10:00:00+09:00", n + 1),
        "amount":20000,"method":"paypay_balance","merchant":{"tags":["ama-toku-4"]}})
    .to_string()
}

fn ama_points(entries: &[Entry]) -> i64 {
    entries.iter().filter(|e| e.owed_key().is_some_and(|(c, _)| c == "ama-toku-4")).map(Entry::points).sum()
}

#[test]
fn a_campaign_removed_and_brought_back_keeps_its_period_cap_used() {
    let mut rt = common::seeds();
    let mut entries = Vec::new();
    for n in 0..2 {
        entries.extend(rt.process_line(n + 1, &ama_payment(n)));
    }
    assert_eq!(ama_points(&entries), 2000, "1000 a payment before the reload");
    reload(&mut rt, &seed_files(Some("paypay-step.camp")));
    let while_away = rt.process_line(3, &ama_payment(2));
    assert_eq!(ama_points(&while_away), 0, "no award while the campaign is not loaded");
    reload(&mut rt, &seed_files(None));
    let mut after = Vec::new();
    for n in 3..6 {
        after.extend(rt.process_line(n + 1, &ama_payment(n)));
    }
    assert_eq!(ama_points(&after), 1000, "the 3000 period cap remembers the 2000 awarded before");
}

#[test]
fn a_reload_of_the_same_campaigns_changes_no_award() {
    let lines: Vec<String> = (0..6).map(ama_payment).collect();
    let mut straight = common::seeds();
    reload(&mut straight, &seed_files(None)); // the same file names as below
    let expected: Vec<Entry> = lines.iter().enumerate().flat_map(|(i, l)| straight.process_line(i + 1, l)).collect();
    let mut rt = common::seeds();
    let mut got = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        reload(&mut rt, &seed_files(None));
        got.extend(rt.process_line(i + 1, line));
    }
    assert_eq!(got, expected);
    assert_eq!(ama_points(&got), 3000, "the period cap");
}

#[test]
fn an_award_of_a_campaign_removed_and_brought_back_is_still_taken_back_by_a_refund() {
    let mut rt = common::seeds();
    let awarded = rt.process_line(1, &ama_payment(0));
    assert_eq!(ama_points(&awarded), 1000);
    // Away, the payment's award belongs to no loaded campaign; back, it is the payment's again.
    reload(&mut rt, &seed_files(Some("paypay-step.camp")));
    reload(&mut rt, &seed_files(None));
    let cancel = json!({"type":"cancel","id":"c0","account":"u","at":"2026-02-05T10:00:00+09:00","payment":"p0"});
    let taken = rt.process_line(2, &cancel.to_string());
    assert_eq!(ama_points(&taken), -1000, "{taken:?}");
}
