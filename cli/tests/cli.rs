//! `campc` as a user runs it: exit codes, text, JSON, languages.

mod common;
#[path = "../../store/tests/support/scratch.rs"]
mod scratch;
use common::{root, seeds};
use scratch::Scratch;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn campc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_campc"))
        .args(args)
        .env("LANG", "C")
        .env_remove("LC_ALL")
        .output()
        .unwrap_or_else(|e| panic!("cannot run campc: {e}"))
}

/// A copy of the Ama seed with three mistakes: a misspelled field, money compared with a
/// count, a misspelled keyword, written in `dir`.
fn broken_seed(dir: &Path) -> PathBuf {
    let src = std::fs::read_to_string(root().join("examples/seeds/ama-toku-4.camp")).unwrap_or_default();
    let broken = src
        .replace("merchant.tags has", "merchant.tagz has")
        .replace("  when app == paypay\n", "  when app == paypay\n  when amount >= 200\n")
        .replace("  award 10%", "  awrd 10%");
    assert_ne!(broken, src);
    let path = dir.join("broken.camp");
    std::fs::write(&path, broken).unwrap_or_default();
    path
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_passes_on_the_seeds_and_examples() {
    let mut args = vec!["check".to_string()];
    args.extend(seeds());
    for example in ["weekend-bonus", "welcome-bonus", "stamp-card"] {
        args.push(root().join(format!("examples/{example}.camp")).display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = campc(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

#[test]
fn three_mistakes_give_three_diagnostics_in_one_run() {
    let dir = Scratch::new("campc-test", "three");
    let path = broken_seed(&dir);
    let path = path.to_string_lossy();
    let en = campc(&["check", &path]);
    assert_eq!(en.status.code(), Some(1));
    let stderr = text(&en.stderr);
    for needle in ["E0201", "did you mean `merchant.tags`?", "E0203", "money (JPY)", "E0102", "did you mean `award`?"] {
        assert!(stderr.contains(needle), "missing `{needle}` in:\n{stderr}");
    }
    assert!(stderr.contains("3 error(s), 0 warning(s)"), "{stderr}");

    let ja = campc(&["check", "--lang", "ja", &path]);
    let stderr = text(&ja.stderr);
    for needle in ["`merchant.tagz` という項目はありません", "金額 (JPY)と数", "`awrd` というキーワードはありません"]
    {
        assert!(stderr.contains(needle), "missing `{needle}` in:\n{stderr}");
    }

    let json = campc(&["check", "--format", "json", &path]);
    let lines: Vec<serde_json::Value> =
        text(&json.stdout).lines().map(|l| serde_json::from_str(l).unwrap_or_default()).collect();
    let codes: Vec<&str> = lines.iter().filter_map(|d| d["code"].as_str()).collect();
    assert_eq!(codes, ["E0201", "E0203", "E0102"]);
    let first = &lines[0];
    assert_eq!(first["severity"], "error");
    assert_eq!((first["line"].as_u64(), first["column"].as_u64()), (Some(11), Some(8)));
    assert_eq!(first["span"]["end"].as_u64().unwrap_or(0) - first["span"]["start"].as_u64().unwrap_or(0), 13);
}

#[test]
fn japanese_comes_from_lang() {
    let dir = Scratch::new("campc-test", "ja");
    let path = broken_seed(&dir);
    let out = Command::new(env!("CARGO_BIN_EXE_campc"))
        .args(["check", &path.to_string_lossy()])
        .env("LANG", "ja_JP.UTF-8")
        .env_remove("LC_ALL")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(text(&out.stderr).contains("エラー 3 件"), "{}", text(&out.stderr));
}

#[test]
fn warnings_fail_only_when_denied() {
    let dir = Scratch::new("campc-test", "warn");
    let path = dir.join("warn.camp");
    let src = "campaign w {\n  title \"w\"\n  period 2026-02-01 to 2026-02-28\n  unit paypay_point = 1 JPY\n  let unused = amount >= 5 JPY\n  award 1%\n  stack independent\n}\n";
    std::fs::write(&path, src).unwrap_or_default();
    let path = path.to_string_lossy();
    assert_eq!(campc(&["check", &path]).status.code(), Some(0));
    assert_eq!(campc(&["check", "--deny", "warnings", &path]).status.code(), Some(1));
}

#[test]
fn fmt_check_accepts_the_seeds_and_rejects_a_messy_copy() {
    let mut args = vec!["fmt".to_string(), "--check".to_string()];
    args.extend(seeds());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert!(campc(&args).status.success());

    let dir = Scratch::new("campc-test", "fmt");
    let path = dir.join("messy.camp");
    let tidy = std::fs::read_to_string(root().join("examples/seeds/ama-toku-4.camp")).unwrap_or_default();
    std::fs::write(&path, tidy.replace("  when channel == in_store", "when   channel==in_store")).unwrap_or_default();
    let path_text = path.to_string_lossy();
    assert_eq!(campc(&["fmt", "--check", &path_text]).status.code(), Some(1));
    assert!(campc(&["fmt", &path_text]).status.success());
    assert_eq!(std::fs::read_to_string(&path).unwrap_or_default(), tidy);
}

#[test]
fn explain_prints_a_page_for_every_code() {
    let list = campc(&["explain"]);
    let listed: Vec<String> =
        text(&list.stdout).lines().filter_map(|l| l.split_whitespace().next()).map(str::to_string).collect();
    assert!(listed.len() >= 30, "{listed:?}");
    for code in &listed {
        let page = campc(&["explain", code]);
        assert!(page.status.success());
        let page = text(&page.stdout);
        assert!(page.contains("What it means") && page.contains("Example") && page.contains("Fix"), "{page}");
    }
    assert_eq!(campc(&["explain", "E9999"]).status.code(), Some(2));
    assert!(text(&campc(&["--lang", "ja", "explain", "E0201"]).stdout).contains("直し方"));
}

#[test]
fn unreadable_file_is_reported() {
    let out = campc(&["check", "/no/such/file.camp"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read"));
}

fn seed_args(rest: &[&str]) -> Vec<String> {
    let mut args = vec!["run".to_string()];
    args.extend(seeds());
    args.extend(rest.iter().map(|s| s.to_string()));
    args
}

fn run_campc(args: &[String]) -> Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    campc(&args)
}

#[test]
fn run_writes_the_ledger_and_exits_0_when_every_event_is_accepted() {
    let events = root().join("examples/events/sample.jsonl").display().to_string();
    let out = run_campc(&seed_args(&["--events", &events]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let entries: Vec<serde_json::Value> =
        text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap_or_default()).collect();
    assert!(entries.len() >= 6);
    for e in &entries {
        assert!(e["source"].as_str().is_some_and(|s| s.contains(".camp:")), "{e}");
        assert!(e["reason"].as_str().is_some_and(|r| !r.is_empty()), "{e}");
    }
}

#[test]
fn run_exits_1_on_rejects_and_2_when_campaigns_do_not_check() {
    let dir = Scratch::new("campc-test", "run");
    let events = dir.join("bad.jsonl");
    std::fs::write(&events, "{\"type\":\"payment\"\n\n{\"type\":\"refund\",\"id\":\"r\",\"account\":\"u\",\"at\":\"2026-02-01T00:00:00Z\",\"payment\":\"x\",\"amount\":1}\n").unwrap_or_default();
    let events = events.display().to_string();
    let out = dir.join("ledger.jsonl");
    let result = run_campc(&seed_args(&["--events", &events, "--out", &out.display().to_string()]));
    assert_eq!(result.status.code(), Some(1));
    let ledger = std::fs::read_to_string(&out).unwrap_or_default();
    assert_eq!(ledger.lines().count(), 2, "{ledger}");
    assert!(ledger.contains("\"line\":1") && ledger.contains("\"line\":3"), "{ledger}");

    let broken = broken_seed(&dir);
    let result = campc(&["run", &broken.to_string_lossy(), "--events", &events]);
    assert_eq!(result.status.code(), Some(2));
    assert!(text(&result.stderr).contains("E0201"));
}

#[test]
fn run_explains_a_payment_on_stderr() {
    let events = root().join("examples/events/sample.jsonl").display().to_string();
    let out = run_campc(&seed_args(&["--events", &events, "--explain", "p1"]));
    let explanation = text(&out.stderr);
    for needle in [
        "Payment p1",
        "ama-toku-4",
        "basis: 700 JPY",
        "rate: 10% of 700 = 70",
        "these conditions do not hold",
        "result: 70 paypay_point",
    ] {
        assert!(explanation.contains(needle), "missing `{needle}` in:\n{explanation}");
    }
}

#[test]
fn both_engines_write_the_same_ledger() {
    let events = root().join("examples/events/sample.jsonl").display().to_string();
    let jit = run_campc(&seed_args(&["--events", &events, "--engine", "jit"]));
    let interp = run_campc(&seed_args(&["--events", &events, "--engine", "interp"]));
    let default = run_campc(&seed_args(&["--events", &events]));
    assert_eq!(jit.status.code(), Some(0), "{}", text(&jit.stderr));
    assert!(!jit.stdout.is_empty());
    assert_eq!(jit.stdout, interp.stdout);
    assert_eq!(default.stdout, jit.stdout);
}

#[test]
fn test_runs_the_rule_tests_beside_the_seeds() {
    let files: Vec<String> = seeds().iter().map(|s| s.replace(".camp", ".camptest")).collect();
    let mut args = vec!["test".to_string()];
    args.extend(files);
    let out = run_campc(&args);
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(text(&out.stdout).trim_end().ends_with("passed, 0 failed"));
}

#[test]
fn bench_reports_both_engines_as_json() {
    let events = root().join("examples/events/sample.jsonl").display().to_string();
    let mut args = vec!["bench".to_string()];
    args.extend(seeds());
    args.extend(["--events".to_string(), events, "--format".to_string(), "json".to_string()]);
    let out = run_campc(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap_or_default();
    for engine in ["jit", "interp"] {
        let e = &report["engines"][engine];
        assert!(e["events_per_sec"].as_f64().is_some_and(|v| v > 0.0), "{report}");
        assert!(e["ns_per_event"].as_f64().is_some_and(|v| v > 0.0), "{report}");
        assert!(e["end_to_end"]["events_per_sec"].as_f64().is_some_and(|v| v > 0.0), "{report}");
    }
    assert_eq!(report["events"], 9);
    let payments = report["payments"].as_u64().unwrap_or(0);
    assert!(payments > 0 && payments < 9, "{report}");
}

/// The ledger of a stream many chunks long (the thread writing it is handed a chunk at a
/// time, and holds a few ahead) is the runtime's, every entry in order, with or without a
/// store, and with a store whose accounts mostly do not stay in memory (`--cache-accounts`).
#[test]
fn run_writes_a_long_ledger_whole_and_in_order() {
    let dir = Scratch::new("campc-test", "long-ledger");
    let lines: Vec<String> = camp_runtime::synthetic::stream(30_000, 700, 3).collect();
    let events = dir.join("events.jsonl");
    std::fs::write(&events, lines.join("\n") + "\n").unwrap_or_default();
    let texts: Vec<(String, String)> =
        seeds().into_iter().map(|p| (p.clone(), std::fs::read_to_string(&p).unwrap_or_default())).collect();
    let files: Vec<camp_runtime::SourceFile<'_>> =
        texts.iter().map(|(name, text)| camp_runtime::SourceFile { name, text }).collect();
    let mut runtime = camp_runtime::Runtime::load(&files).unwrap_or_else(|e| panic!("the seeds load: {e}"));
    let mut expected = String::new();
    for (i, line) in lines.iter().enumerate() {
        for entry in runtime.process_line(i + 1, line) {
            expected.push_str(&entry.to_json());
            expected.push('\n');
        }
    }
    assert!(expected.lines().count() > 10_000, "the stream earns: {} entries", expected.lines().count());
    let events = events.display().to_string();
    let memory = run_campc(&seed_args(&["--events", &events]));
    assert!(text(&memory.stdout) == expected, "without a store: {} lines", text(&memory.stdout).lines().count());
    let store = dir.join("ledger.db").display().to_string();
    let stored = run_campc(&seed_args(&["--events", &events, "--store", &store, "--batch", "700"]));
    assert!(text(&stored.stdout) == expected, "with a store: {} lines", text(&stored.stdout).lines().count());
    // 50 of the 700 accounts kept in memory: most batches read their accounts back.
    let small = dir.join("small-cache.db").display().to_string();
    let args = ["--events", &events, "--store", &small, "--batch", "700", "--cache-accounts", "50"];
    let stored = run_campc(&seed_args(&args));
    assert!(text(&stored.stdout) == expected, "a small cache: {} lines", text(&stored.stdout).lines().count());
}

/// An output that cannot be written is an error, exit code 2, with the reason.
#[test]
fn run_reports_a_ledger_it_cannot_write() {
    let events = root().join("examples/events/sample.jsonl").display().to_string();
    let out = run_campc(&seed_args(&["--events", &events, "--out", "/dev/full"]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("cannot write the ledger"), "{}", text(&out.stderr));
}

#[test]
fn serve_refuses_zero_http_threads_before_opening_anything() {
    let out =
        campc(&["serve", "--store", "/nonexistent/ledger.db", "--campaigns", "examples/seeds", "--http-threads", "0"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("--http-threads") && err.contains("0 is not in 1"), "{err}");
}
