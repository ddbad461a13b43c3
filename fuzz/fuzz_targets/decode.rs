//! Any bytes as one line of events: the decoder (which reads a JSON value borrowed from the
//! line) accepts exactly the JSON that serde_json accepts, says serde_json's words for what it
//! rejects as JSON, and hashes the content as `content_hash` hashes serde_json's value.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else { return };
    if line.contains('\n') || line.trim().is_empty() {
        return;
    }
    let decoded = camp_runtime::event::parse_line(line);
    match serde_json::from_str::<serde_json::Value>(line) {
        Err(e) => match decoded {
            Err(reject) => assert_eq!(reject.error, format!("the line is not a JSON object: {e}")),
            Ok(_) => panic!("decoded a line serde_json rejects: {line}"),
        },
        Ok(value) => {
            if let Ok(Some((_, hash))) = decoded {
                assert_eq!(hash, camp_runtime::content_hash(&value), "{line}");
            }
        }
    }
});
