//! Synthetic event streams: deterministic, realistic enough to exercise every path of the
//! seed campaigns (Ama stores, Amazon, elsewhere; balance, credit, cards, au PAY, split
//! tenders; refunds, cancels, account and entry events), for benchmarks, load tests and crash
//! tests. Not a model of any real traffic.

/// A small deterministic generator (xorshift): the next number of the sequence `state` is at
/// (never 0 when `state` starts other than 0). For the stream here and for tests.
pub(crate) fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// `events` events over `accounts` accounts from a seed: 90% payments, 6% refunds and
/// cancels (of earlier payments, by their owners), 4% account and entry events, spread over
/// February to May 2026 in time order. The same arguments give the same lines.
pub fn stream(events: usize, accounts: u64, seed: u64) -> impl Iterator<Item = String> {
    let mut state: u64 = seed | 1;
    let mut next = move || next(&mut state);
    let accounts = accounts.max(1);
    let start = 1_769_871_600i64; // 2026-02-01T00:00:00+09:00
    let step = (120 * 86_400) / events.max(1) as i64;
    let methods = ["paypay_balance", "paypay_credit", "paypay_card", "credit_card", "au_pay", "paypay_point"];
    let mut payments: Vec<(u64, u64)> = Vec::new();
    (0..events).map(move |i| {
        let r = next();
        let account = r % accounts;
        let at = chrono::DateTime::from_timestamp(start + step * i as i64, 0).unwrap_or_default().to_rfc3339();
        match r % 100 {
            0..=89 => {
                let amount = 100 + next() % 20_000;
                let method = methods[(next() % methods.len() as u64) as usize];
                let merchant = match next() % 4 {
                    0 => r#"{"tags":["ama-toku-4"],"class":"small"}"#,
                    1 => r#"{"brand":"amazon"}"#,
                    _ => r#"{"brand":"tokyo-cafe"}"#,
                };
                payments.push((i as u64, account));
                if next() % 10 == 0 {
                    let half = amount / 2;
                    format!(
                        r#"{{"type":"payment","id":"p{i}","account":"u{account}","at":"{at}","amount":{amount},"tenders":[{{"method":"paypay_balance","amount":{half}}},{{"method":"paypay_gift_voucher","amount":{}}}],"merchant":{merchant}}}"#,
                        amount - half
                    )
                } else {
                    format!(r#"{{"type":"payment","id":"p{i}","account":"u{account}","at":"{at}","amount":{amount},"method":"{method}","merchant":{merchant}}}"#)
                }
            }
            90..=95 if !payments.is_empty() => {
                let (p, owner) = payments[(next() % payments.len() as u64) as usize];
                if r % 2 == 0 {
                    format!(r#"{{"type":"cancel","id":"c{i}","account":"u{owner}","at":"{at}","payment":"p{p}"}}"#)
                } else {
                    format!(r#"{{"type":"refund","id":"r{i}","account":"u{owner}","at":"{at}","payment":"p{p}","amount":50}}"#)
                }
            }
            96..=97 => format!(
                r#"{{"type":"account","id":"a{i}","account":"u{account}","at":"{at}","attrs":{{"dpoint_linked":true,"dpoint_rank":{}}}}}"#,
                1 + next() % 5
            ),
            _ => format!(r#"{{"type":"enroll","id":"e{i}","account":"u{account}","at":"{at}","campaign":"aupay-amazon-2026"}}"#),
        }
})
}
