//! What an explanation says about stacking: which campaign's award kept a group's place, and
//! what a combined cap cut. Stacking decides as it settles, and its words are written only
//! when the payment is explained, so these tests hold the words to the decisions.

mod common;

use camp_runtime::{Engine, Entry, Runtime, SourceFile};

/// The explanation of `payment` after `lines` went through `runtime`, and the points each
/// campaign was awarded for it.
fn explain(runtime: &mut Runtime, payment: &str, lines: &[&str]) -> (String, Vec<(String, i64)>) {
    runtime.explain_payment(payment);
    let mut awards = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        for entry in runtime.process_line(i + 1, line) {
            match entry {
                Entry::Award { campaign, payment: p, points, .. } if *p == *payment => {
                    awards.push((campaign.to_string(), points));
                }
                Entry::Reject { error, .. } => panic!("line {} rejected: {error}", i + 1),
                _ => {}
            }
        }
    }
    let explanation = runtime.explanation(payment).unwrap_or_default().to_string();
    (explanation, awards)
}

/// A campaign of 2026 awarding `rate` on every payment, stacking as `stack` says.
fn campaign(id: &str, rate: &str, stack: &str) -> String {
    format!(
        "campaign {id} {{\n  title \"{id}\"\n  period 2026-01-01 to 2026-12-31 in Asia/Tokyo\n  \
         unit point = 1 JPY\n  award {rate}\n  grant at payment\n  refund recompute\n  {stack}\n}}\n"
    )
}

#[test]
fn the_losing_member_of_a_group_names_the_award_that_won() {
    // 10% at an Ama store (ama-toku-4, 120 points) against PayPay Step's 0.5% (6 points):
    // only the largest of the paypay_sotsuke group applies (S4.8).
    let line = r#"{"type":"payment","id":"p1","account":"u1","at":"2026-02-03T10:15:00+09:00","amount":1200,"method":"paypay_balance","merchant":{"tags":["ama-toku-4"]}}"#;
    for engine in [Engine::Jit, Engine::Interp] {
        let (explanation, awards) = explain(&mut common::seeds_with(engine), "p1", &[line]);
        assert_eq!(awards, vec![("ama-toku-4".to_string(), 120)], "{explanation}");
        let needle = "stacking: not applied: only the largest award of group paypay_sotsuke applies, \
                      and ama-toku-4's 120 is larger";
        assert!(explanation.contains(needle), "missing `{needle}` in:\n{explanation}");
        assert_eq!(explanation.matches("stacking:").count(), 1, "{explanation}");
    }
}

#[test]
fn a_combined_cap_says_how_much_it_cut_and_whose_share_it_keeps() {
    let big = campaign("big", "8%", "stack combined up to 10% of amount, cut first");
    let small = campaign("small", "5%", "stack independent");
    let files = [SourceFile { name: "big.camp", text: &big }, SourceFile { name: "small.camp", text: &small }];
    // 1,000 JPY: 80 + 50 points, at most 100 together; `big` is cut first, by 30.
    let line = r#"{"type":"payment","id":"p1","account":"u1","at":"2026-05-01T12:00:00+09:00","amount":1000,"method":"paypay_balance"}"#;
    for engine in [Engine::Jit, Engine::Interp] {
        let mut runtime = Runtime::load_with(&files, engine).unwrap_or_else(|e| panic!("the campaigns load: {e:?}"));
        let (explanation, mut awards) = explain(&mut runtime, "p1", &[line]);
        awards.sort();
        assert_eq!(awards, vec![("big".to_string(), 50), ("small".to_string(), 50)], "{explanation}");
        let needle = "stacking: cut by 30: all awards on this payment together are at most 10% of it (big)";
        assert!(explanation.contains(needle), "missing `{needle}` in:\n{explanation}");
        assert_eq!(explanation.matches("stacking:").count(), 1, "{explanation}");
    }
}

#[test]
fn each_group_keeps_its_own_largest_award() {
    let groups = "group red {\n  title \"red\"\n}\n\ngroup blue {\n  title \"blue\"\n}\n";
    let sources = [
        campaign("a", "8%", "stack largest in red priority 1"),
        campaign("b", "5%", "stack largest in red priority 2"),
        campaign("c", "3%", "stack largest in blue priority 1"),
        campaign("d", "4%", "stack largest in blue priority 2"),
        campaign("e", "1%", "stack independent"),
        groups.to_string(),
    ];
    let files: Vec<SourceFile<'_>> = sources.iter().map(|text| SourceFile { name: "g.camp", text }).collect();
    // 1,000 JPY: a's 80 wins group red over b's 50, d's 40 group blue over c's 30; e
    // stands alone.
    let line = r#"{"type":"payment","id":"p1","account":"u1","at":"2026-05-01T12:00:00+09:00","amount":1000,"method":"paypay_balance"}"#;
    for engine in [Engine::Jit, Engine::Interp] {
        let mut runtime = Runtime::load_with(&files, engine).unwrap_or_else(|e| panic!("the campaigns load: {e:?}"));
        let (explanation, mut awards) = explain(&mut runtime, "p1", &[line]);
        awards.sort();
        let expected = [("a", 80), ("d", 40), ("e", 10)].map(|(c, p)| (c.to_string(), p));
        assert_eq!(awards, expected, "{explanation}");
        for needle in [
            "only the largest award of group red applies, and a's 80 is larger",
            "only the largest award of group blue applies, and d's 40 is larger",
        ] {
            assert!(explanation.contains(needle), "missing `{needle}` in:\n{explanation}");
        }
    }
}
