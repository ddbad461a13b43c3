//! Any text through parse, check and format: nothing may panic, and a formatted file must
//! parse again.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else { return };
    let checked = camp_lang::check_sources(&[src]);
    for d in &checked.diagnostics {
        let _ = camp_lang::diag::render(d, camp_lang::Lang::En, "fuzz.camp", src, 80, false);
    }
    if let Ok(formatted) = camp_lang::fmt::format_source(src) {
        assert!(camp_lang::fmt::format_source(&formatted).is_ok(), "formatted text no longer parses");
    }
});
