//! The documentation's campaign examples are real: every ```camp block of the docs and the
//! README that holds a whole campaign checks clean.

fn camp_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```camp") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn every_campaign_in_the_docs_checks_clean() {
    let mut checked_blocks = 0;
    for doc in ["docs/language.md", "docs/tutorial.md", "README.md"] {
        let text = camp_tests::read(&camp_tests::root().join(doc));
        for block in camp_blocks(&text) {
            let whole = block.lines().any(|l| l.starts_with("campaign ") || l.starts_with("group "));
            if !whole {
                continue;
            }
            let result = camp_lang::check_sources(&[&block]);
            let codes: Vec<_> = result.diagnostics.iter().map(|d| d.code().as_str()).collect();
            // A block that shows a mistake says which: `# expect: E0301`.
            let expected = camp_tests::expected_codes(&block);
            assert_eq!(codes, expected, "{doc}:\n{block}");
            checked_blocks += 1;
        }
    }
    assert!(checked_blocks >= 10, "only {checked_blocks} doc examples found");
}
