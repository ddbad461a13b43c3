//! The generated input of the front-end benchmark, shared with `examples/profile_parse.rs`.

/// 1,000 campaigns in the style of the seeds: conditions, a table, a counter, caps, stacking.
pub fn thousand_campaigns() -> String {
    let mut src = String::new();
    for i in 0..1000 {
        src.push_str(&format!(
            r#"# Campaign {i}: a city campaign with monthly tiers.
campaign city-{i} {{
  title "市のキャンペーン 第{i}弾"
  sponsor "市役所"
  period 2026-02-01 00:00 to 2026-02-28 23:59:59 in Asia/Tokyo
  unit paypay_point = 1 JPY
  when merchant.tags has "city-{i}"
  when channel == in_store
  when terminal not in [vending_machine, ticket_machine]
  when app == paypay and currency == "JPY"
  unless any item in [tobacco, gift_certificate]
  unless account.consent_purchase_data == false
  counter spent = sum amount per month
  let regular = spent >= 30000 JPY
  table by_class by merchant.class {{
    "small": 10%
    "franchise": 5%
    else: 2%
  }}
  award by_class + (if regular last month then 1% else 0%) up to 1000/payment, 3000/period where method in [paypay_credit, paypay_balance, paypay_point, paypay_debit]
  grant 30 days after payment
  refund recompute
  stack largest in city priority {i}
}}

"#
        ));
    }
    src
}
