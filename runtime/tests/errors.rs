//! Errors are defined, never wrong numbers and never panics: an award too large to compute
//! exactly rejects its event and changes nothing.

use camp_runtime::{Entry, Runtime, SourceFile};

#[test]
fn an_overflowing_award_rejects_the_event_and_changes_nothing() {
    let campaign = r#"
campaign huge {
  title "huge"
  period 2026-01-01 to 2026-12-31 in Asia/Tokyo
  unit p = 1 JPY
  counter seen = count payments per period
  award 1000000000000%
  stack independent
}
"#;
    let mut rt = Runtime::load(&[SourceFile { name: "huge.camp", text: campaign }]).unwrap_or_else(|e| panic!("{e:?}"));
    let big = r#"{"type":"payment","id":"p1","account":"u","at":"2026-02-01T10:00:00+09:00","amount":100000000000000000000,"method":"cash"}"#;
    let entries = rt.process_line(1, big);
    match &entries[..] {
        [Entry::Reject { event, error, .. }] => {
            assert_eq!(event.as_deref(), Some("p1"));
            assert!(error.contains("too large to compute exactly"), "{error}");
        }
        other => panic!("expected one reject, got {other:?}"),
    }
    assert!(rt.account("u").is_none_or(|a| a.payment("p1").is_none()), "the rejected payment was kept");
    // The same id with a small amount is a new event, and works.
    let small =
        r#"{"type":"payment","id":"p1","account":"u","at":"2026-02-01T10:00:00+09:00","amount":1,"method":"cash"}"#;
    let entries = rt.process_line(2, small);
    assert!(matches!(&entries[..], [Entry::Award { points: 10_000_000_000, .. }]), "{entries:?}");
    let account = rt.account("u").unwrap_or_else(|| panic!("account u"));
    assert_eq!(account.counter_value(0, 0, 0).to_string(), "1", "counted once: the rejected attempt left no trace");
}
