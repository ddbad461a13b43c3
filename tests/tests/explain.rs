//! Every code has a page, and every page's example really produces its code.

use camp_lang::Code;
use camp_lang::diag::Lang;
use camp_lang::explain::{example, page};

#[test]
fn every_code_has_a_full_page_in_both_languages() {
    for code in Code::ALL {
        let en = page(*code, Lang::En);
        let ja = page(*code, Lang::Ja);
        for (text, headings) in [(&en, ["What it means", "Example", "Fix"]), (&ja, ["意味", "例", "直し方"])] {
            assert!(text.starts_with(code.as_str()), "{code}: {text}");
            for h in headings {
                assert!(text.contains(&format!("\n{h}\n")), "{code} page lacks `{h}`");
            }
        }
    }
}

#[test]
fn every_example_produces_its_code() {
    for code in Code::ALL {
        let src = example(*code);
        let found = camp_tests::codes(&src);
        assert!(found.iter().any(|c| c == code.as_str()), "{code}: example gives {found:?}:\n{src}");
    }
}

#[test]
fn codes_parse_back() {
    for code in Code::ALL {
        assert_eq!(Code::parse(&code.as_str().to_lowercase()), Some(*code));
    }
    assert_eq!(Code::parse("E9999"), None);
}
