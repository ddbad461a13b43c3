//! `campc serve` over loopback: every route, tokens, limits, reloads, parallel clients on one
//! account, and shutdown that keeps what it accepted.

use std::path::{Path, PathBuf};

#[path = "../../store/tests/support/scratch.rs"]
mod scratch;
#[path = "../../store/tests/support/postgres.rs"]
mod support;
use scratch::Scratch;

use camp_server::client::Client;
use camp_server::{Config, Running};
use serde_json::{Value, json};

const TOKEN: &str = "test-token-0123456789";

fn seeds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/seeds")
}

fn scratch(name: &str) -> Scratch {
    Scratch::new("camp-serve", name)
}

/// A copy of the seeds in a directory of their own, so a test can edit it.
fn campaigns_copy(dir: &Path) -> PathBuf {
    let campaigns = dir.join("campaigns");
    std::fs::create_dir_all(&campaigns).unwrap_or_else(|e| panic!("{e}"));
    for entry in std::fs::read_dir(seeds_dir()).unwrap_or_else(|e| panic!("{e}")).filter_map(Result::ok) {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "camp") {
            std::fs::copy(&path, campaigns.join(entry.file_name())).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    campaigns
}

fn start(dir: &Path, campaigns: &Path) -> Running {
    start_on(&dir.join("ledger.db").display().to_string(), campaigns)
}

fn start_on(store: &str, campaigns: &Path) -> Running {
    camp_server::start(Config {
        store: store.to_string(),
        campaigns: campaigns.to_path_buf(),
        listen: "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
        token: TOKEN.into(),
        max_body: 64 * 1024,
        max_batch: 1000,
        engine: None,
        http_threads: None,
        cache_accounts: camp_store::DEFAULT_CACHE_LIMIT,
    })
    .unwrap_or_else(|e| panic!("the service does not start: {e}"))
}

fn client(running: &Running, token: Option<&str>) -> Client {
    Client::connect(running.addr, token).unwrap_or_else(|e| panic!("cannot connect: {e}"))
}

fn ama(id: &str, account: &str, day: u32, amount: u32) -> String {
    json!({"type":"payment","id":id,"account":account,"at":format!("2026-02-{day:02}T10:00:00+09:00"),
        "amount":amount,"method":"paypay_balance","merchant":{"tags":["ama-toku-4"]}})
    .to_string()
}

fn points(entries: &Value, campaign: &str) -> i64 {
    entries
        .as_array()
        .map(|entries| entries.iter().filter(|e| e["campaign"] == campaign).filter_map(|e| e["points"].as_i64()).sum())
        .unwrap_or(0)
}

#[test]
fn every_route_answers() {
    let dir = scratch("routes");
    let running = start(&dir, &seeds_dir());
    let mut c = client(&running, Some(TOKEN));

    let health = c.get("/healthz").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((health.status, health.body.trim()), (200, "ok"));
    let openapi = c.get("/v1/openapi.json").unwrap_or_else(|e| panic!("{e}")).json();
    assert_eq!(openapi["openapi"], "3.1.0");
    for path in ["/v1/events", "/v1/accounts/{id}/ledger", "/v1/accounts/{id}/state", "/v1/campaigns/reload"] {
        assert!(openapi["paths"][path].is_object(), "the OpenAPI document has {path}");
    }

    // One event.
    let one = c.post("/v1/events", &ama("p1", "u1", 3, 1200)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(one.status, 200, "{}", one.body);
    let body = one.json();
    assert_eq!((body["accepted"].as_i64(), points(&body["entries"], "ama-toku-4")), (Some(1), 120));
    // A pretty-printed event is one event too.
    let pretty =
        serde_json::to_string_pretty(&serde_json::from_str::<Value>(&ama("p2", "u1", 4, 500)).unwrap_or_default())
            .unwrap_or_default();
    assert_eq!(c.post("/v1/events", &pretty).unwrap_or_else(|e| panic!("{e}")).json()["accepted"], 1);
    // A batch, with a repeat and a bad line: 200, the bad line a reject entry.
    let batch = [ama("p3", "u2", 5, 2000), ama("p1", "u1", 3, 1200), "{oops".to_string(), ama("p4", "u2", 6, 3000)];
    let b = c.post("/v1/events", &batch.join("\n")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(b.status, 200);
    let b = b.json();
    assert_eq!((b["accepted"].as_i64(), b["duplicates"].as_i64(), b["rejected"].as_i64()), (Some(2), Some(1), Some(1)));
    assert_eq!(
        b["entries"].as_array().map(|e| e.iter().filter(|e| e["entry"] == "reject" && e["line"] == 3).count()),
        Some(1)
    );

    // Malformed single events: 400 with the reason.
    let bad = c.post("/v1/events", "{\"type\":\"payment\"}").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(bad.status, 400);
    assert!(bad.json()["error"].as_str().is_some_and(|e| e.contains("id")), "{}", bad.body);
    assert_eq!(c.post("/v1/events", "   \n").unwrap_or_else(|e| panic!("{e}")).status, 400);

    // Reads.
    let ledger = c.get("/v1/accounts/u2/ledger").unwrap_or_else(|e| panic!("{e}")).json();
    assert_eq!(points(&ledger["entries"], "ama-toku-4"), 500);
    let only = c.get("/v1/accounts/u2/ledger?campaign=paypay-step").unwrap_or_else(|e| panic!("{e}")).json();
    assert!(only["entries"].as_array().is_some_and(|e| e.iter().all(|e| e["campaign"] == "paypay-step")));
    let state = c.get("/v1/accounts/u1/state").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(state.status, 200);
    let state = state.json();
    assert_eq!(state["payments"].as_array().map(Vec::len), Some(2));
    let usage = state["state"]["usage"].as_array().cloned().unwrap_or_default();
    let months: Vec<&str> =
        usage.iter().filter(|u| u["campaign"] == "ama-toku-4").filter_map(|u| u["calendar_month"].as_str()).collect();
    assert_eq!(months, ["period", "2026-02"], "cap usage by period and month, readable");
    assert_eq!(state["payments"][0]["time"], "2026-02-03T01:00:00Z", "payment times readable (UTC)");
    assert_eq!(c.get("/v1/accounts/nobody/state").unwrap_or_else(|e| panic!("{e}")).status, 404);
    let campaigns = c.get("/v1/campaigns").unwrap_or_else(|e| panic!("{e}")).json();
    assert_eq!(campaigns["campaigns"].as_array().map(Vec::len), Some(5));
    assert_eq!(campaigns["version"], 1);
    running.shutdown().unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn writes_need_the_token_and_bodies_have_a_limit() {
    let dir = scratch("auth");
    let running = start(&dir, &seeds_dir());
    let event = ama("p1", "u1", 3, 1200);
    let none = client(&running, None).post("/v1/events", &event).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(none.status, 401);
    let wrong =
        client(&running, Some("not-the-token-at-all")).post("/v1/events", &event).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(wrong.status, 401);
    let reload = client(&running, None).post("/v1/campaigns/reload", "").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reload.status, 401);
    // Nothing was kept from the refused writes.
    let ledger = client(&running, None).get("/v1/accounts/u1/ledger").unwrap_or_else(|e| panic!("{e}")).json();
    assert_eq!(ledger["entries"], json!([]));
    // Reads need no token.
    assert_eq!(client(&running, None).get("/v1/campaigns").unwrap_or_else(|e| panic!("{e}")).status, 200);

    let big: Vec<String> = (0..2000).map(|i| ama(&format!("b{i}"), "u9", 3, 100)).collect();
    let too_big = client(&running, Some(TOKEN)).post("/v1/events", &big.join("\n")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(too_big.status, 413, "a body over the limit is refused");
    running.shutdown().unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_reload_keeps_state_and_a_broken_campaign_is_refused() {
    let dir = scratch("reload");
    let campaigns = campaigns_copy(&dir);
    let running = start(&dir, &campaigns);
    let mut c = client(&running, Some(TOKEN));
    for (i, day) in [3, 4].iter().enumerate() {
        c.post("/v1/events", &ama(&format!("p{i}"), "u", *day, 20_000)).unwrap_or_else(|e| panic!("{e}"));
    }
    // Break a campaign: refused with diagnostics, the live version stays.
    let ama_file = campaigns.join("ama-toku-4.camp");
    let good = std::fs::read_to_string(&ama_file).unwrap_or_default();
    std::fs::write(&ama_file, good.replace("award 10%", "awrd 10%")).unwrap_or_else(|e| panic!("{e}"));
    let refused = c.post("/v1/campaigns/reload", "").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(refused.status, 422);
    let refused = refused.json();
    assert_eq!(refused["live_version"], 1);
    assert!(refused["diagnostics"].as_array().is_some_and(|d| d.iter().any(|d| d["file"] == "ama-toku-4.camp")));
    let third = c.post("/v1/events", &ama("p2", "u", 5, 20_000)).unwrap_or_else(|e| panic!("{e}")).json();
    assert_eq!(points(&third["entries"], "ama-toku-4"), 1000, "the old version still awards");

    // Fixed (and the rate changed): the new version is live and the period cap remembers.
    std::fs::write(&ama_file, good.replace("award 10%", "award 20%")).unwrap_or_else(|e| panic!("{e}"));
    let reloaded = c.post("/v1/campaigns/reload", "").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reloaded.status, 200, "{}", reloaded.body);
    assert_eq!(reloaded.json()["version"], 2);
    let small = c.post("/v1/events", &ama("p3", "u2", 6, 1000)).unwrap_or_else(|e| panic!("{e}")).json();
    assert_eq!(points(&small["entries"], "ama-toku-4"), 200, "20% now");
    let fourth = c.post("/v1/events", &ama("p4", "u", 7, 20_000)).unwrap_or_else(|e| panic!("{e}")).json();
    assert_eq!(points(&fourth["entries"], "ama-toku-4"), 0, "3000 of the period cap were used before the reload");
    running.shutdown().unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn parallel_clients_on_one_account_never_exceed_a_cap_nor_apply_an_event_twice() {
    let dir = scratch("hammer");
    hammer(start(&dir, &seeds_dir()));
}

#[test]
fn parallel_clients_on_one_account_with_postgres() {
    let Some(url) = support::database("serve_hammer") else { return };
    hammer(start_on(&url, &seeds_dir()));
}

#[test]
fn two_services_sharing_postgres_serialize_one_account() {
    let Some(url) = support::database("serve_two") else { return };
    // Two services (each with its own writer and its own accounts in memory) on one database;
    // clients spread over both.
    let other = start_on(&url, &seeds_dir());
    let other_addr = other.addr;
    hammer_over(start_on(&url, &seeds_dir()), Some(other_addr));
    other.shutdown().unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn parallel_batches_on_few_accounts_are_each_kept_once_and_answered_as_kept() {
    let dir = scratch("serve_batches");
    let running = start(&dir, &seeds_dir());
    // 12 clients, 4 batches of 100 payments each, on 6 accounts: enough waiting at once that
    // the writer splits them into groups, one processed while the one before is written.
    // Every client also sends another client's batches again, as retries would.
    let accounts = ["a", "b", "c", "d", "e", "f"];
    let batches: Vec<String> = (0..48)
        .map(|b| {
            (0..100)
                .map(|i| {
                    let n = b * 100 + i;
                    ama(&format!("p{n}"), accounts[n % 6], 3 + (n % 20) as u32, 700 + (n % 9) as u32 * 100)
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    let answered: Vec<(i64, i64)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..12)
            .map(|w| {
                let (batches, addr) = (&batches, running.addr);
                scope.spawn(move || {
                    let mut c = Client::connect(addr, Some(TOKEN)).unwrap_or_else(|e| panic!("{e}"));
                    let (mut accepted, mut entries) = (0, 0);
                    for n in (0..4).map(|i| w * 4 + i).chain((0..4).map(|i| ((w + 5) % 12) * 4 + i)) {
                        let r = c.post("/v1/events", &batches[n]).unwrap_or_else(|e| panic!("{e}")).json();
                        accepted += r["accepted"].as_i64().unwrap_or(0);
                        entries += r["entries"].as_array().map_or(0, |e| e.len() as i64);
                    }
                    (accepted, entries)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or_else(|_| panic!("a client panicked"))).collect()
    });
    assert_eq!(answered.iter().map(|a| a.0).sum::<i64>(), 4800, "each event accepted exactly once");
    let mut c = client(&running, None);
    let mut kept = 0;
    for account in accounts {
        let ledger = c.get(&format!("/v1/accounts/{account}/ledger")).unwrap_or_else(|e| panic!("{e}")).json();
        let entries = ledger["entries"].as_array().cloned().unwrap_or_default();
        kept += entries.len() as i64;
        assert_eq!(points(&ledger["entries"], "ama-toku-4"), 3000, "account {account}: the period cap, never passed");
        awarded_once(&entries, account);
    }
    assert_eq!(kept, answered.iter().map(|a| a.1).sum::<i64>(), "what was answered is what was kept");
    running.shutdown().unwrap_or_else(|e| panic!("{e}"));
}

/// Checks that no campaign awarded one payment of `account` twice.
fn awarded_once(entries: &[Value], account: &str) {
    let mut paid: Vec<(&str, &str)> =
        entries.iter().filter_map(|e| Some((e["campaign"].as_str()?, e["payment"].as_str()?))).collect();
    let before = paid.len();
    paid.sort_unstable();
    paid.dedup();
    assert_eq!(paid.len(), before, "account {account}: no payment awarded twice by one campaign");
}

fn hammer(running: Running) {
    hammer_over(running, None);
}

fn hammer_over(running: Running, also: Option<std::net::SocketAddr>) {
    let first = running.addr;
    // 12 clients, 40 payments each, all on account "u"; every client also sends every other
    // client's events (the same ids, the same content), as retries would.
    let events: Vec<String> = (0..480).map(|i| ama(&format!("p{i}"), "u", 3 + (i % 20) as u32, 5000)).collect();
    let accepted: Vec<(i64, i64)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..12)
            .map(|w| {
                let events = &events;
                let addr = match also {
                    Some(other) if w % 2 == 1 => other,
                    _ => first,
                };
                scope.spawn(move || {
                    let mut c = Client::connect(addr, Some(TOKEN)).unwrap_or_else(|e| panic!("{e}"));
                    let (mut accepted, mut entries) = (0, 0);
                    for round in 0..2 {
                        for i in 0..40 {
                            let n = if round == 0 { w * 40 + i } else { ((w + 1) % 12) * 40 + i };
                            let r = c.post("/v1/events", &events[n]).unwrap_or_else(|e| panic!("{e}")).json();
                            accepted += r["accepted"].as_i64().unwrap_or(0);
                            entries += r["entries"].as_array().map_or(0, |e| e.len() as i64);
                        }
                    }
                    (accepted, entries)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or_else(|_| panic!("a client panicked"))).collect()
    });
    assert_eq!(accepted.iter().map(|a| a.0).sum::<i64>(), 480, "each event accepted exactly once");
    let ledger = client(&running, None).get("/v1/accounts/u/ledger").unwrap_or_else(|e| panic!("{e}")).json();
    let entries = ledger["entries"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len() as i64, accepted.iter().map(|a| a.1).sum::<i64>(), "what was answered is what was kept");
    assert_eq!(points(&ledger["entries"], "ama-toku-4"), 3000, "the period cap, reached and never passed");
    awarded_once(&entries, "u");
    running.shutdown().unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn shutdown_finishes_what_was_accepted() {
    let dir = scratch("shutdown");
    let running = start(&dir, &seeds_dir());
    let addr = running.addr;
    let answered: Vec<(Vec<Value>, bool)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|w| {
                scope.spawn(move || {
                    let mut c = Client::connect(addr, Some(TOKEN)).unwrap_or_else(|e| panic!("{e}"));
                    let mut kept = Vec::new();
                    // Until the service stops: later requests are refused.
                    for i in 0..1_000_000 {
                        match c.post("/v1/events", &ama(&format!("w{w}p{i}"), &format!("u{w}"), 3 + (i % 20), 700)) {
                            Ok(r) if r.status == 200 => {
                                kept.extend(r.json()["entries"].as_array().cloned().unwrap_or_default())
                            }
                            _ => return (kept, true),
                        }
                    }
                    (kept, false)
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(150));
        running.shutdown().unwrap_or_else(|e| panic!("{e}"));
        workers.into_iter().map(|w| w.join().unwrap_or_else(|_| panic!("a client panicked"))).collect()
    });
    // Everything answered 200 is in the store, and nothing else.
    let mut store = camp_store::open(&dir.join("ledger.db").display().to_string()).unwrap_or_else(|e| panic!("{e}"));
    let kept: Vec<Value> = store
        .ledger(&camp_store::LedgerFilter::default())
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(answered.iter().all(|(_, cut)| *cut), "every client was cut off by the shutdown, mid-stream");
    let answered: Vec<Value> = answered.into_iter().flat_map(|(kept, _)| kept).collect();
    assert!(!answered.is_empty(), "some requests were answered before the shutdown");
    let mut a: Vec<String> = answered.iter().map(Value::to_string).collect();
    let mut k: Vec<String> = kept.iter().map(Value::to_string).collect();
    a.sort();
    k.sort();
    assert_eq!(a, k);
}
