//! Large files are parsed in pieces on several threads: spans and diagnostics must still
//! point at the right bytes of the whole file, in order.

use camp_lang::ast::Decl;

fn many_campaigns(n: usize) -> String {
    let seed = camp_tests::read(&camp_tests::root().join("examples/seeds/ama-toku-4.camp"));
    let body = seed.split("\ngroup ").next().unwrap_or_default().to_string();
    (0..n)
        .map(|i| {
            body.replace("campaign ama-toku-4", &format!("campaign ama-{i}"))
                .replace("priority 1", &format!("priority {}", i + 10))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn spans_of_a_large_file_point_into_the_whole_file() {
    let src = many_campaigns(300);
    assert!(src.len() > 128 * 1024, "large enough for the parallel path");
    let (file, diagnostics) = camp_lang::parse(&src);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    assert_eq!(file.decls.len(), 300);
    for (i, decl) in file.decls.iter().enumerate() {
        let Decl::Campaign(c) = decl else { panic!("not a campaign") };
        assert_eq!(&src[c.id.span.start..c.id.span.end], format!("ama-{i}"));
        assert!(src[c.span.start..c.span.end].starts_with("campaign ama-"));
    }
}

#[test]
fn errors_deep_in_a_large_file_are_reported_where_they_are() {
    let mut src = many_campaigns(300);
    let at = src.rfind("  award 10%").unwrap_or_default();
    src.replace_range(at..at + 7, "  awrd ");
    let line = src[..at].matches('\n').count() + 1;
    let checked = camp_lang::check_sources(&[&src]);
    let codes: Vec<&str> = checked.diagnostics.iter().take(5).map(|d| d.code().as_str()).collect();
    assert_eq!(codes, ["E0102"], "only the broken campaign is affected");
    let d = &checked.diagnostics[0];
    assert_eq!(&src[d.span.start..d.span.end], "awrd");
    assert_eq!(camp_lang::diag::line_column(&src, d.span.start).0, line);
    assert_eq!(checked.program.campaigns.len(), 299);
}

#[test]
fn a_shared_priority_is_reported_once_per_campaign() {
    let src = many_campaigns(50);
    let same = with_one_priority(&src);
    let checked = camp_lang::check_sources(&[&same]);
    let ties = checked.diagnostics.iter().filter(|d| d.code().as_str() == "E0311").count();
    assert_eq!(ties, 49, "each campaign after the first is reported once, not once per pair");
}

/// Gives every campaign the same priority.
fn with_one_priority(src: &str) -> String {
    src.lines()
        .map(|l| {
            if l.trim_start().starts_with("stack largest") { "  stack largest in paypay_sotsuke priority 1" } else { l }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
