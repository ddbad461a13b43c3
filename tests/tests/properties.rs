//! Laws of the front end, over the shipped campaigns and over generated programs:
//! `parse(fmt(ast)) == ast`, `fmt` is idempotent, and no input makes parse + check + fmt panic.

use camp_lang::ast::*;
use chrono::{NaiveDate, NaiveTime};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn sp() -> Span {
    Span::default()
}

fn ident(name: &str) -> Ident {
    Ident { name: name.to_string(), span: sp() }
}

fn e(kind: ExprKind) -> Expr {
    Expr { kind, span: sp() }
}

/// Wraps compound expressions in parentheses, as a planner must to nest them.
fn operand(x: Expr) -> Expr {
    match x.kind {
        ExprKind::Binary(..)
        | ExprKind::Unary(..)
        | ExprKind::If(..)
        | ExprKind::LastMonth(..)
        | ExprKind::Default(..)
        | ExprKind::IsSet(..) => e(ExprKind::Paren(Box::new(x))),
        _ => x,
    }
}

/// Names that are never keywords.
fn name() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["amount", "channel", "merchant", "tags", "rate_a", "big", "x1", "counted", "tier"])
        .prop_map(str::to_string)
}

fn decimal() -> impl Strategy<Value = Decimal> {
    (0i64..1_000_000, 0u32..4).prop_map(|(n, scale)| Decimal::new(n, scale))
}

fn date() -> impl Strategy<Value = NaiveDate> {
    (2019i32..2030, 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default())
}

fn time() -> impl Strategy<Value = (NaiveTime, TimePrecision)> {
    (0u32..24, 0u32..60, prop::option::of(0u32..60)).prop_map(|(h, m, s)| match s {
        Some(s) => (NaiveTime::from_hms_opt(h, m, s).unwrap_or_default(), TimePrecision::Second),
        None => (NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default(), TimePrecision::Minute),
    })
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(vec!['a', 'Z', ' ', '"', '\\', 'あ', 'ま', '市', '%', '#', '\n']), 0..12)
        .prop_map(|cs| cs.into_iter().collect())
}

fn literal() -> impl Strategy<Value = Expr> {
    prop_oneof![
        decimal().prop_map(|d| e(ExprKind::Number(d))),
        decimal().prop_map(|d| e(ExprKind::Percent(d))),
        (decimal(), prop::sample::select(vec!["JPY", "USD"])).prop_map(|(d, c)| e(ExprKind::Money(d, c.into()))),
        decimal().prop_map(|d| e(ExprKind::Points(d))),
        (1u32..400, prop::sample::select(vec![DurationUnit::Days, DurationUnit::Hours, DurationUnit::Minutes]))
            .prop_map(|(n, u)| e(ExprKind::Duration(n, u))),
        text().prop_map(|s| e(ExprKind::Str(s))),
        any::<bool>().prop_map(|b| e(ExprKind::Bool(b))),
        date().prop_map(|d| e(ExprKind::Date(d))),
        (date(), time()).prop_map(|(d, (t, p))| e(ExprKind::DateTime(d.and_time(t), p))),
    ]
}

fn path() -> impl Strategy<Value = Expr> {
    prop::collection::vec(name(), 1..3).prop_map(|names| e(ExprKind::Path(names.iter().map(|n| ident(n)).collect())))
}

fn binary_op() -> impl Strategy<Value = BinaryOp> {
    prop::sample::select(vec![
        BinaryOp::Or,
        BinaryOp::And,
        BinaryOp::Eq,
        BinaryOp::Ne,
        BinaryOp::Lt,
        BinaryOp::Le,
        BinaryOp::Gt,
        BinaryOp::Ge,
        BinaryOp::In,
        BinaryOp::NotIn,
        BinaryOp::Has,
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
    ])
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![literal(), path()];
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (binary_op(), inner.clone(), inner.clone()).prop_map(|(op, a, b)| e(ExprKind::Binary(
                op,
                Box::new(operand(a)),
                Box::new(operand(b))
            ))),
            inner.clone().prop_map(|a| e(ExprKind::Unary(UnaryOp::Not, Box::new(operand(a))))),
            inner.clone().prop_map(|a| e(ExprKind::Unary(UnaryOp::Neg, Box::new(operand(a))))),
            (inner.clone(), inner.clone(), inner.clone()).prop_map(|(c, a, b)| e(ExprKind::If(
                Box::new(c),
                Box::new(a),
                Box::new(b)
            ))),
            prop::collection::vec(prop_oneof![literal(), path()], 0..4).prop_map(|items| e(ExprKind::List(items))),
            (name(), prop::collection::vec(inner.clone(), 0..3))
                .prop_map(|(n, args)| e(ExprKind::Call(ident(&n), args))),
            prop::collection::vec(prop_oneof![literal(), path()], 0..3)
                .prop_map(|items| e(ExprKind::AnyItemIn(Box::new(e(ExprKind::List(items)))))),
            (inner.clone(), prop::option::of((1u32..=28, time()))).prop_map(|(a, w)| {
                let window = w.map(|(day, (time, _))| WindowStart { day, time });
                e(ExprKind::LastMonth(Box::new(operand(a)), window))
            }),
            (inner.clone(), literal()).prop_map(|(a, b)| e(ExprKind::Default(Box::new(operand(a)), Box::new(b)))),
            (inner.clone(), any::<bool>()).prop_map(|(a, set)| e(ExprKind::IsSet(Box::new(operand(a)), set))),
            inner.prop_map(|a| e(ExprKind::Paren(Box::new(a)))),
        ]
    })
}

fn instant() -> impl Strategy<Value = Instant> {
    (date(), prop::option::of(time())).prop_map(|(date, time)| Instant { date, time, span: sp() })
}

fn money() -> impl Strategy<Value = Money> {
    decimal().prop_map(|amount| Money { amount, currency: "JPY".into(), span: sp() })
}

fn basis() -> impl Strategy<Value = Basis> {
    (
        prop::option::of(money()),
        prop_oneof![
            expr().prop_map(|c| BasisSource::Tenders(Some(c))),
            name().prop_map(|n| BasisSource::Named(ident(&n)))
        ],
    )
        .prop_map(|(first, source)| Basis { first, source, span: sp() })
}

fn cap() -> impl Strategy<Value = Cap> {
    let value = prop_oneof![
        decimal().prop_map(|d| e(ExprKind::Number(d))),
        decimal().prop_map(|d| e(ExprKind::Points(d))),
        name().prop_map(|n| e(ExprKind::Path(vec![ident(&n)]))),
        expr().prop_map(|x| e(ExprKind::Paren(Box::new(x)))),
    ];
    (value, prop::sample::select(vec![CapScope::Payment, CapScope::Period, CapScope::Month]))
        .prop_map(|(value, scope)| Cap { value, scope, span: sp() })
}

fn table_key() -> impl Strategy<Value = Expr> {
    prop_oneof![
        decimal().prop_map(|d| e(ExprKind::Number(d))),
        decimal().prop_map(|d| e(ExprKind::Percent(d))),
        text().prop_map(|s| e(ExprKind::Str(s))),
        name().prop_map(|n| e(ExprKind::Path(vec![ident(&n)]))),
    ]
}

fn item() -> impl Strategy<Value = ItemKind> {
    prop_oneof![
        text().prop_map(|s| ItemKind::Title(Str { value: s, span: sp() })),
        text().prop_map(|s| ItemKind::Sponsor(Str { value: s, span: sp() })),
        (
            prop::option::of(instant()),
            prop::option::of(instant()),
            prop::option::of(prop::sample::select(vec!["Asia/Tokyo", "+09:00", "UTC"]))
        )
            .prop_filter("a period has an end", |(s, e, _)| s.is_some() || e.is_some())
            .prop_map(|(start, end, zone)| ItemKind::Period(Period { start, end, zone: zone.map(ident) })),
        (name(), money()).prop_map(|(n, value)| ItemKind::Unit { name: ident(&n), value }),
        Just(ItemKind::EntryRequired),
        expr().prop_map(ItemKind::When),
        expr().prop_map(ItemKind::Unless),
        (name(), expr()).prop_map(|(n, value)| ItemKind::Let { name: ident(&n), value }),
        (name(), expr(), prop::collection::vec((prop::collection::vec(table_key(), 0..3), expr()), 0..4)).prop_map(
            |(n, key, rows)| {
                let rows = rows.into_iter().map(|(keys, value)| TableRow { keys, value, span: sp() }).collect();
                ItemKind::Table(Table { name: ident(&n), key, rows })
            }
        ),
        (name(), basis()).prop_map(|(n, basis)| ItemKind::Basis { name: ident(&n), basis }),
        (name(), prop::option::of(expr()), prop::option::of(expr()), any::<bool>()).prop_map(
            |(n, sum, filter, month)| {
                let aggregate = match sum {
                    Some(s) => Aggregate::Sum(s, filter),
                    None => Aggregate::Count(filter),
                };
                let scope = if month { CounterScope::Month } else { CounterScope::Period };
                ItemKind::Counter(Counter { name: ident(&n), aggregate, scope })
            }
        ),
        (expr(), prop::option::of(basis()), prop::collection::vec(cap(), 0..3), prop::option::of(expr()))
            .prop_map(|(value, basis, caps, tenders)| ItemKind::Award(Award { value, basis, caps, tenders })),
        prop::sample::select(vec![Rounding::Floor, Rounding::Ceil, Rounding::HalfUp, Rounding::HalfEven])
            .prop_map(ItemKind::Rounding),
        (
            prop_oneof![
                date().prop_map(GrantWhen::OnDate),
                (1u32..=31).prop_map(GrantWhen::DayOfNextMonth),
                (0u32..400).prop_map(GrantWhen::DaysAfter),
                Just(GrantWhen::AtPayment),
            ],
            prop::option::of(instant()),
            prop::option::of(instant()),
        )
            .prop_map(|(when, from, to)| ItemKind::Grant(Grant { when, from, to })),
        (prop::sample::select(vec![RefundPolicy::Recompute, RefundPolicy::Prorate]), any::<bool>())
            .prop_map(|(policy, retroactive)| ItemKind::Refund { policy, retroactive }),
        prop_oneof![
            Just(Stack::Independent),
            (name(), prop::option::of(0u32..10))
                .prop_map(|(g, priority)| Stack::Largest { group: ident(&g), priority }),
            (decimal(), any::<bool>()).prop_map(|(share, cut_first)| Stack::Combined { share, cut_first }),
        ]
        .prop_map(ItemKind::Stack),
    ]
}

fn campaign() -> impl Strategy<Value = Decl> {
    (prop::sample::select(vec!["ama-toku-4", "paypay-step", "c1", "x_y"]), prop::collection::vec(item(), 0..8))
        .prop_map(|(id, items)| {
            let items = items.into_iter().map(|kind| Item { kind, span: sp() }).collect();
            Decl::Campaign(Campaign { id: ident(id), items, span: sp() })
        })
}

fn file() -> impl Strategy<Value = File> {
    let other = prop_oneof![
        (name(), prop::option::of(text())).prop_map(|(n, t)| Decl::Group(Group {
            name: ident(&n),
            title: t.map(|value| Str { value, span: sp() }),
            span: sp()
        })),
        (name(), money()).prop_map(|(n, value)| Decl::Unit(UnitDecl { name: ident(&n), value, span: sp() })),
    ];
    prop::collection::vec(prop_oneof![3 => campaign(), 1 => other], 0..4).prop_map(|decls| File { decls })
}

fn round_trip(file: &File) -> Result<(), TestCaseError> {
    let text = camp_lang::fmt::format_file(file);
    let (parsed, diagnostics) = camp_lang::parse(&text);
    prop_assert!(diagnostics.is_empty(), "formatted text does not parse:\n{text}\n{diagnostics:?}");
    prop_assert_eq!(&parsed, file, "parse(fmt(ast)) != ast for:\n{}", text);
    prop_assert_eq!(camp_lang::fmt::format_file(&parsed), text);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn fmt_then_parse_is_the_identity_on_generated_programs(file in file()) {
        round_trip(&file)?;
    }
}

#[test]
fn fmt_then_parse_is_the_identity_on_the_examples() {
    let mut files = camp_tests::camp_files("examples/seeds");
    files.extend(camp_tests::camp_files("examples"));
    files.extend(camp_tests::camp_files("tests/cases/ok"));
    for path in files {
        let src = camp_tests::read(&path);
        let (tree, diagnostics) = camp_lang::parse(&src);
        assert!(diagnostics.is_empty(), "{}: {diagnostics:?}", path.display());
        let formatted = camp_lang::fmt::format_source(&src).unwrap_or_default();
        let (again, _) = camp_lang::parse(&formatted);
        assert_eq!(again, tree, "{}", path.display());
        assert_eq!(camp_lang::fmt::format_source(&formatted).unwrap_or_default(), formatted, "{}", path.display());
        let (plain, _) = camp_lang::parse(&camp_lang::fmt::format_file(&tree));
        assert_eq!(plain, tree, "{} without comments", path.display());
    }
}

/// Parse, check and (when it parses) format, on any text: none of it may panic.
fn front_end(src: &str) {
    let checked = camp_lang::check_sources(&[src]);
    for d in &checked.diagnostics {
        assert!(d.span.start <= d.span.end && d.span.end <= src.len() + 1, "span out of the file: {d:?}");
        let _ = camp_lang::diag::render(d, camp_lang::Lang::Ja, "fuzz.camp", src, 80, false);
    }
    if let Ok(formatted) = camp_lang::fmt::format_source(src) {
        assert!(camp_lang::fmt::format_source(&formatted).is_ok(), "formatted text no longer parses:\n{formatted}");
    }
}

fn seed_sources() -> Vec<String> {
    camp_tests::camp_files("examples/seeds").iter().map(|p| camp_tests::read(p)).collect()
}

/// A mutation of a valid source: bytes cut, repeated or replaced by grammar fragments.
#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, &'static str),
    Duplicate(usize, usize),
}

fn apply(src: &str, mutations: &[Mutation]) -> String {
    let mut text = src.to_string();
    for m in mutations {
        let clamp = |t: &str, i: usize| t.floor_char_boundary(i % (t.len() + 1));
        match m {
            Mutation::Delete(at, len) => {
                let from = clamp(&text, *at);
                let to = text.floor_char_boundary((from + len).min(text.len()));
                text.replace_range(from..to, "");
            }
            Mutation::Insert(at, piece) => {
                let at = clamp(&text, *at);
                text.insert_str(at, piece);
            }
            Mutation::Duplicate(at, len) => {
                let from = clamp(&text, *at);
                let to = text.floor_char_boundary((from + len).min(text.len()));
                let piece = text[from..to].to_string();
                text.insert_str(to, &piece);
            }
        }
    }
    text
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let pieces = vec![
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        "\"",
        "#",
        "award",
        " when ",
        " and ",
        " or ",
        "not",
        "10%",
        "5 JPY",
        "/payment",
        ",",
        ":",
        "last month",
        "2026-02-30",
        " in ",
        "\n",
        "円",
        "あ",
        "-",
        "*",
        "default",
        "is set",
        "table t by x {",
        "else: 1",
        "campaign",
        "up to",
        "of first",
        "where",
        "99999999999999999999999999999999",
        "..",
        "==",
    ];
    prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(a, l)| Mutation::Delete(a, l)),
        (any::<usize>(), prop::sample::select(pieces)).prop_map(|(a, p)| Mutation::Insert(a, p)),
        (any::<usize>(), 0usize..60).prop_map(|(a, l)| Mutation::Duplicate(a, l)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn nothing_panics_on_mutated_campaigns(which in 0usize..5, mutations in prop::collection::vec(mutation(), 1..6)) {
        let sources = seed_sources();
        let src = apply(&sources[which % sources.len()], &mutations);
        front_end(&src);
    }

    #[test]
    fn nothing_panics_on_random_text(src in "\\PC{0,300}") {
        front_end(&src);
    }

    #[test]
    fn nothing_panics_on_random_token_soup(tokens in prop::collection::vec(mutation(), 0..40)) {
        front_end(&apply("", &tokens));
    }
}
