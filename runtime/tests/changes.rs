//! What a store asks of the runtime: the accounts and payments accepted events changed.

mod common;

const PAYMENT: &str = r#"{"type":"payment","id":"p1","account":"u1","at":"2026-02-10T10:00:00+09:00","amount":1000,"method":"paypay_balance","merchant":{"tags":["ama-toku-4"]}}"#;
const REFUND: &str =
    r#"{"type":"refund","id":"r1","account":"u1","at":"2026-02-11T10:00:00+09:00","payment":"p1","amount":100}"#;
const ENROLL: &str =
    r#"{"type":"enroll","id":"e1","account":"u2","at":"2026-02-11T10:00:00+09:00","campaign":"aupay-amazon-2026"}"#;

#[test]
fn changes_are_kept_only_when_asked_for_and_name_what_events_touched() {
    let mut untracked = common::seeds();
    untracked.process_line(1, PAYMENT);
    assert_eq!(untracked.take_changes(), camp_runtime::Changes::default(), "nobody asked for them");

    let mut rt = common::seeds();
    rt.track_changes();
    rt.process_line(1, PAYMENT);
    let changes = rt.take_changes();
    assert_eq!(names(&changes.accounts), ["u1"]);
    assert_eq!(pairs(&changes.payments), [("u1", "p1")]);
    assert_eq!(rt.take_changes(), camp_runtime::Changes::default(), "taken, so afresh");

    // In the order events touched them, as often as they did.
    rt.process_line(2, ENROLL);
    rt.process_line(3, REFUND);
    rt.process_line(4, &REFUND.replace("r1", "r2"));
    let changes = rt.take_changes();
    assert_eq!(names(&changes.accounts), ["u2", "u1", "u1"]);
    // Each refund names the payment, and so does the adjustment it writes.
    assert_eq!(pairs(&changes.payments), [("u1", "p1"); 4]);
    // A duplicate changes nothing.
    rt.process_line(5, PAYMENT);
    assert_eq!(rt.take_changes(), camp_runtime::Changes::default());
}

fn names(ids: &[camp_runtime::Id]) -> Vec<&str> {
    ids.iter().map(|id| &**id).collect()
}

fn pairs(ids: &[(camp_runtime::Id, camp_runtime::Id)]) -> Vec<(&str, &str)> {
    ids.iter().map(|(a, b)| (&**a, &**b)).collect()
}
