//! A bounded load generator for `campc serve`, on loopback: starts the service on the seed
//! campaigns and a store, sends a synthetic stream from several clients, and reports events/s
//! and request latency (p50, p99). It stops by itself when the stream is sent.
//!
//! ```sh
//! cargo run --release -p camp-server --bin camp-load -- --mode batch --events 400000
//! cargo run --release -p camp-server --bin camp-load -- --mode single --events 100000 --store postgres://...
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use camp_server::client::Client;

/// The allocator `campc serve` runs with, so that the figures are the service's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TOKEN: &str = "camp-load-token-0123456789";

struct Args {
    mode: String,
    events: usize,
    accounts: u64,
    clients: usize,
    batch: usize,
    store: Option<String>,
    campaigns: PathBuf,
    http_threads: Option<usize>,
    cache_accounts: usize,
    json: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: camp-load [--mode single|batch] [--events N] [--accounts N] [--clients N] [--batch N] \
         [--store PATH|URL] [--campaigns DIR] [--http-threads N] [--cache-accounts N] [--json]"
    );
    std::process::exit(2)
}

fn args() -> Args {
    let mut args = Args {
        mode: "batch".into(),
        events: 200_000,
        accounts: 20_000,
        clients: 8,
        batch: 500,
        store: None,
        campaigns: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/seeds")),
        http_threads: None,
        cache_accounts: camp_store::DEFAULT_CACHE_LIMIT,
        json: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--json" {
            args.json = true;
            continue;
        }
        let Some(value) = it.next() else { usage() };
        let number = || value.parse::<usize>().unwrap_or_else(|_| usage());
        match flag.as_str() {
            "--mode" if value == "single" || value == "batch" => args.mode = value.clone(),
            "--events" => args.events = number(),
            "--accounts" => args.accounts = number() as u64,
            "--clients" => args.clients = number().max(1),
            "--batch" => args.batch = number().max(1),
            "--store" => args.store = Some(value.clone()),
            "--campaigns" => args.campaigns = PathBuf::from(&value),
            "--http-threads" => args.http_threads = Some(number().max(1)),
            "--cache-accounts" => args.cache_accounts = number(),
            _ => usage(),
        }
    }
    args
}

/// `accepted` of a response, read without parsing the whole body (the client shares the
/// cores with the service, so its own work is kept small).
fn accepted_count(body: &str) -> usize {
    body.split_once("\"accepted\":")
        .and_then(|(_, rest)| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The value at a quantile of sorted durations.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn main() {
    let args = args();
    let scratch = std::env::temp_dir().join(format!("camp-load-{}", std::process::id()));
    let store = args.store.clone().unwrap_or_else(|| {
        let _ = std::fs::create_dir_all(&scratch);
        scratch.join("ledger.db").display().to_string()
    });
    let running = camp_server::start(camp_server::Config {
        store: store.clone(),
        campaigns: args.campaigns.clone(),
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        token: TOKEN.into(),
        max_body: 64 * 1024 * 1024,
        max_batch: 8000,
        engine: None,
        http_threads: args.http_threads,
        cache_accounts: args.cache_accounts,
    })
    .unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(2)
    });
    let addr = running.addr;

    // Each client takes the accounts whose number falls to it, so every account's events
    // arrive in order.
    let mut shares: Vec<Vec<String>> = vec![Vec::new(); args.clients];
    for line in camp_runtime::synthetic::stream(args.events, args.accounts, 0x5EED) {
        let account = line
            .split("\"account\":\"u")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(0);
        shares[account % args.clients].push(line);
    }
    let per_request = if args.mode == "single" { 1 } else { args.batch };
    let started = Instant::now();
    let results: Vec<(Vec<Duration>, usize, usize)> = std::thread::scope(|scope| {
        let workers: Vec<_> = shares
            .iter()
            .map(|share| {
                scope.spawn(move || {
                    let mut client = Client::connect(addr, Some(TOKEN)).unwrap_or_else(|e| {
                        eprintln!("error: cannot connect: {e}");
                        std::process::exit(1)
                    });
                    let (mut latencies, mut accepted, mut failed) = (Vec::new(), 0, 0);
                    for chunk in share.chunks(per_request) {
                        let body = chunk.join("\n");
                        let sent = Instant::now();
                        match client.post("/v1/events", &body) {
                            Ok(r) if r.status == 200 || r.status == 400 => {
                                latencies.push(sent.elapsed());
                                accepted += accepted_count(&r.body);
                            }
                            _ => failed += 1,
                        }
                    }
                    (latencies, accepted, failed)
                })
            })
            .collect();
        workers.into_iter().filter_map(|w| w.join().ok()).collect()
    });
    let elapsed = started.elapsed();
    let _ = running.shutdown();
    let _ = std::fs::remove_dir_all(&scratch);

    let mut latencies: Vec<Duration> = results.iter().flat_map(|r| r.0.iter().copied()).collect();
    latencies.sort_unstable();
    let accepted: usize = results.iter().map(|r| r.1).sum();
    let failed: usize = results.iter().map(|r| r.2).sum();
    let events_per_sec = args.events as f64 / elapsed.as_secs_f64();
    let requests_per_sec = latencies.len() as f64 / elapsed.as_secs_f64();
    let (p50, p99) = (quantile(&latencies, 0.50), quantile(&latencies, 0.99));
    let backend = if store.starts_with("postgres") { "postgres" } else { "sqlite" };
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "mode": args.mode, "store": backend, "events": args.events, "accepted": accepted, "failed": failed,
                "clients": args.clients, "events_per_request": per_request, "seconds": elapsed.as_secs_f64(),
                "events_per_sec": events_per_sec, "requests_per_sec": requests_per_sec,
                "p50_ms": p50.as_secs_f64() * 1e3, "p99_ms": p99.as_secs_f64() * 1e3,
            })
        );
    } else {
        println!(
            "{} mode, {backend}: {} events ({accepted} accepted, {failed} requests failed) from {} clients, {per_request} \
             a request, in {:.2} s\n  {events_per_sec:.0} events/s, {requests_per_sec:.0} requests/s, latency p50 {:.2} ms, \
             p99 {:.2} ms",
            args.mode,
            args.events,
            args.clients,
            elapsed.as_secs_f64(),
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        );
    }
    if failed > 0 {
        std::process::exit(1);
    }
}
