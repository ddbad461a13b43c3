//! `tests/cases/ok/*.camp` check clean (snapshot: their formatted text); `tests/cases/err/*.camp`
//! produce at least the codes they declare (snapshot: the rendered diagnostics in English and
//! Japanese).

use std::collections::BTreeSet;

use camp_lang::diag::Lang;
use camp_tests::{camp_files, codes, expected_codes, read, render_diagnostics};

#[test]
fn ok_cases_check_clean_and_format_stably() {
    insta::glob!("../cases/ok", "*.camp", |path| {
        let src = read(path);
        let diagnostics = render_diagnostics("case.camp", &src, Lang::En);
        assert!(diagnostics.is_empty(), "{}:\n{diagnostics}", path.display());
        let formatted = camp_lang::fmt::format_source(&src).unwrap_or_else(|e| panic!("{e:?}"));
        let again = camp_lang::fmt::format_source(&formatted).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(formatted, again, "fmt is not idempotent on {}", path.display());
        insta::assert_snapshot!(formatted);
    });
}

#[test]
fn err_cases_report_what_they_expect() {
    insta::glob!("../cases/err", "*.camp", |path| {
        let src = read(path);
        let expected = expected_codes(&src);
        assert!(!expected.is_empty(), "{} has no `# expect:` line", path.display());
        let found = codes(&src);
        for code in &expected {
            assert!(found.contains(code), "{}: expected {code}, found {found:?}", path.display());
        }
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let en = render_diagnostics(&name, &src, Lang::En);
        let ja = render_diagnostics(&name, &src, Lang::Ja);
        insta::assert_snapshot!(format!(
            "----- SOURCE\n{src}\n----- DIAGNOSTICS (en)\n{en}\n----- DIAGNOSTICS (ja)\n{ja}"
        ));
    });
}

#[test]
fn every_diagnostic_has_a_label_and_a_help_line_in_both_languages() {
    for path in camp_files("tests/cases/err") {
        let src = read(&path);
        for d in camp_lang::check_sources(&[&src]).diagnostics {
            for lang in [Lang::En, Lang::Ja] {
                assert!(!d.message.title(lang).is_empty(), "{}: {d:?}", path.display());
                assert!(!d.message.label(lang).is_empty(), "{}: {d:?}", path.display());
                assert!(d.message.help(lang).is_some(), "{}: no help for {d:?}", path.display());
            }
        }
    }
}

#[test]
fn err_cases_cover_every_code() {
    let declared: BTreeSet<String> =
        camp_files("tests/cases/err").iter().flat_map(|p| expected_codes(&read(p))).collect();
    let missing: Vec<&str> =
        camp_lang::Code::ALL.iter().map(|c| c.as_str()).filter(|c| !declared.contains(*c)).collect();
    assert!(missing.is_empty(), "no err case for {missing:?}");
    assert!(camp_files("tests/cases/err").len() >= 40);
}
