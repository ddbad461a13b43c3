//! The shipped campaigns: the five seeds and the other examples check clean together and are
//! formatted.

use camp_tests::{camp_files, read};

fn all_examples() -> Vec<std::path::PathBuf> {
    let mut files = camp_files("examples/seeds");
    files.extend(camp_files("examples"));
    files
}

#[test]
fn seeds_are_exactly_the_five_campaigns_of_terms() {
    let names: Vec<String> = camp_files("examples/seeds")
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    assert_eq!(
        names,
        [
            "ama-toku-4.camp",
            "amazon-dpoint.camp",
            "aupay-amazon-2026.camp",
            "cashless-reduction-2019.camp",
            "paypay-step.camp"
        ]
    );
    let sources: Vec<String> = camp_files("examples/seeds").iter().map(|p| read(p)).collect();
    let texts: Vec<&str> = sources.iter().map(String::as_str).collect();
    let checked = camp_lang::check_sources(&texts);
    let mut ids: Vec<&str> = checked.program.campaigns.iter().map(|c| c.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["ama-toku-4", "amazon-dpoint", "aupay-amazon-2026", "cashless-reduction-2019", "paypay-step"]);
}

#[test]
fn examples_check_clean_together() {
    let files = all_examples();
    assert!(files.len() >= 8, "five seeds and at least three other examples");
    let sources: Vec<String> = files.iter().map(|p| read(p)).collect();
    let texts: Vec<&str> = sources.iter().map(String::as_str).collect();
    let checked = camp_lang::check_sources(&texts);
    assert!(checked.diagnostics.is_empty(), "{:#?}", checked.diagnostics);
    assert_eq!(checked.program.campaigns.len(), files.len());
}

#[test]
fn examples_and_vocabulary_are_formatted() {
    let mut files = all_examples();
    files.push(camp_tests::root().join("stdlib/vocabulary.camp"));
    for path in files {
        let src = read(&path);
        let formatted = camp_lang::fmt::format_source(&src).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        assert_eq!(formatted, src, "{} is not in canonical layout", path.display());
    }
}

#[test]
fn every_seed_cites_its_rules() {
    for path in camp_files("examples/seeds") {
        let src = read(&path);
        let cites = src.matches("# S").count() + src.matches(" S1.").count() + src.matches(" S2.").count();
        assert!(cites >= 3, "{} cites too few TERMS.md rules", path.display());
    }
}
