//! `campc serve`: the runtime over HTTP, on a durable store.
//!
//! **Owns:** the HTTP interface (routes, bearer tokens, body limits, status codes, the OpenAPI
//! document), the writer thread that owns the [`camp_store::Durable`] runtime, group commit of
//! concurrent requests, campaign reloads and graceful shutdown. **Must not touch:** what an
//! event earns (the runtime), how state is kept (the store), printing beyond its startup line.
//!
//! One writer thread holds the runtime (the store's own thread writes what it processed).
//! Requests reach it over a channel; it takes every write request waiting (up to a batch
//! size) and applies them as one transaction (group commit), then answers each with its own
//! entries once committed. When many events wait, they make two groups, the second processed
//! while the first is written. Requests are therefore
//! serialized: two requests for one account never interleave, in this process; between
//! processes sharing a PostgreSQL store, the store's account locks do the same.

pub mod client;
mod openapi;

use std::borrow::Cow;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use camp_runtime::{Engine, Entry, SourceFile};
use camp_store::{Decoded, Durable, LedgerFilter, Outcome};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// How to serve.
#[derive(Clone, Debug)]
pub struct Config {
    /// The store: a SQLite path or a `postgres://` URL.
    pub store: String,
    /// The directory of `.camp` files (read at start and on every reload).
    pub campaigns: PathBuf,
    /// Where to listen.
    pub listen: SocketAddr,
    /// The bearer token writes must carry.
    pub token: String,
    /// The largest request body, in bytes.
    pub max_body: usize,
    /// The most events one transaction takes when requests are grouped.
    pub max_batch: usize,
    /// The evaluator; `None` for the default (the JIT, or the interpreter where native code
    /// cannot be generated on this machine).
    pub engine: Option<Engine>,
    /// Threads for HTTP (reading requests, decoding events, writing answers); `None` for
    /// [`default_http_threads`].
    pub http_threads: Option<usize>,
    /// The most accounts kept in memory between batches ([`camp_store::DEFAULT_CACHE_LIMIT`]
    /// is the command's default): past it, those used longest ago leave memory, to be read
    /// back from the store when next needed.
    pub cache_accounts: usize,
}

/// HTTP threads by default: one fewer than the machine's cores (at least one), since the
/// writer and the store thread keep about a core busy between them under load. On two cores,
/// one HTTP thread served single-event requests with less CPU than two (fewer wake-ups and
/// hand-overs between threads) and batches as fast (docs/PERFORMANCE.md).
pub fn default_http_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
}

/// Why the service could not start.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

/// The campaign sources of a directory: every `.camp` file, by name.
pub fn read_campaigns(dir: &Path) -> Result<Vec<(String, String)>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read the campaigns in {}: {e}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "camp"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(format!("there are no .camp files in {}", dir.display()));
    }
    paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            let name = p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned());
            Ok((name, text))
        })
        .collect()
}

/// Work for the writer thread.
enum Job {
    Apply { lines: Vec<Decoded>, reply: oneshot::Sender<Result<Applied, String>> },
    Ledger { filter: LedgerFilter, reply: oneshot::Sender<Result<Vec<String>, String>> },
    State { account: String, reply: oneshot::Sender<Result<Option<Value>, String>> },
    Campaigns { reply: oneshot::Sender<Value> },
    Reload { sources: Vec<(String, String)>, reply: oneshot::Sender<Result<Value, Value>> },
}

/// One request's share of a group commit.
#[derive(Debug, Default)]
struct Applied {
    entries: Vec<Entry>,
    /// The entries' JSON lines, as the store made them.
    json: Vec<String>,
    accepted: usize,
    duplicates: usize,
    rejected: usize,
}

/// The campaigns live: a version that counts loads, and a digest of their sources.
struct Live {
    version: u64,
    digest: String,
    files: Vec<String>,
}

fn digest(sources: &[(String, String)]) -> String {
    use std::hash::Hasher;
    let mut hasher = camp_runtime::Fnv1a::default();
    for (name, text) in sources {
        for part in [name.as_bytes(), &[0], text.as_bytes(), &[0]] {
            hasher.write(part);
        }
    }
    format!("{:016x}", hasher.finish())
}

/// Loads the campaigns and opens the store in the writer thread (the runtime stays on the
/// thread that made it), and reports back whether that worked.
fn start_writer(config: &Config) -> Result<(mpsc::Sender<Job>, std::thread::JoinHandle<()>), StartError> {
    let (jobs, inbox) = mpsc::channel::<Job>();
    let (ready, started) = mpsc::channel::<Result<(), String>>();
    let config = config.clone();
    let handle = std::thread::Builder::new()
        .name("camp-writer".into())
        .spawn(move || {
            let opened = open(&config);
            let (durable, live) = match opened {
                Ok(ok) => {
                    let _ = ready.send(Ok(()));
                    ok
                }
                Err(e) => {
                    let _ = ready.send(Err(e));
                    return;
                }
            };
            writer(durable, live, &inbox, config.max_batch, config.engine);
        })
        .map_err(|e| StartError(format!("cannot start the writer thread: {e}")))?;
    match started.recv() {
        Ok(Ok(())) => Ok((jobs, handle)),
        Ok(Err(e)) => Err(StartError(e)),
        Err(_) => Err(StartError("the writer thread stopped while starting".into())),
    }
}

fn open(config: &Config) -> Result<(Durable, Live), String> {
    let sources = read_campaigns(&config.campaigns)?;
    let files: Vec<SourceFile<'_>> = sources.iter().map(|(name, text)| SourceFile { name, text }).collect();
    let (runtime, _) = camp_runtime::Runtime::load_engine(&files, config.engine).map_err(|e| match e {
        camp_runtime::LoadError::Check(diagnostics) => format!(
            "the campaigns in {} do not check:\n{}",
            config.campaigns.display(),
            rendered(&diagnostics, &sources)
        ),
        other => other.to_string(),
    })?;
    let store = camp_store::open(&config.store).map_err(|e| e.to_string())?;
    let live = Live { version: 1, digest: digest(&sources), files: sources.into_iter().map(|(n, _)| n).collect() };
    Ok((Durable::new(runtime, store).with_cache_limit(config.cache_accounts), live))
}

fn rendered(diagnostics: &[camp_lang::Diagnostic], sources: &[(String, String)]) -> String {
    diagnostics
        .iter()
        .map(|d| {
            let (name, text) = &sources[d.file];
            camp_lang::diag::render(d, camp_lang::diag::Lang::En, name, text, 100, false)
        })
        .collect()
}

fn writer(mut durable: Durable, mut live: Live, inbox: &mpsc::Receiver<Job>, max_batch: usize, engine: Option<Engine>) {
    // Jobs received and not yet done, in arrival order.
    let mut queue: VecDeque<Job> = VecDeque::new();
    loop {
        if queue.is_empty() {
            if durable.has_pending() {
                // Nothing else to do: the batch processed last is written now, not with the
                // next one.
                durable.flush();
            }
            match inbox.recv() {
                Ok(job) => queue.push_back(job),
                Err(_) => return, // every sender is gone: the server has shut down
            }
        }
        queue.extend(inbox.try_iter());
        let Some(job) = queue.pop_front() else { continue };
        match job {
            Job::Apply { lines, reply } => {
                // Group commit: write requests waiting join this transaction. When many events
                // wait, half of them make this group and the rest the next, so that the next
                // is processed while this one is written; a few are one group (a transaction
                // costs a sync to disk however small).
                let waiting: usize = lines.len()
                    + queue
                        .iter()
                        .map_while(|job| match job {
                            Job::Apply { lines, .. } => Some(lines.len()),
                            _ => None,
                        })
                        .sum::<usize>();
                let share =
                    if durable.pipelines() && waiting >= 2 * PIPELINED_GROUP { waiting.div_ceil(2) } else { waiting };
                let mut size = lines.len();
                let mut group = vec![(lines, reply)];
                while size < share.min(max_batch) {
                    let Some(Job::Apply { .. }) = queue.front() else { break };
                    let Some(Job::Apply { lines, reply }) = queue.pop_front() else { break };
                    size += lines.len();
                    group.push((lines, reply));
                }
                let more = matches!(queue.front(), Some(Job::Apply { .. }));
                apply_group(&mut durable, group, more);
            }
            Job::Ledger { filter, reply } => {
                let _ = reply.send(durable.store().ledger(&filter).map_err(|e| e.to_string()));
            }
            Job::State { account, reply } => {
                let _ = reply.send(account_state(&mut durable, &account));
            }
            Job::Campaigns { reply } => {
                let _ = reply.send(campaigns(&durable, &live));
            }
            Job::Reload { sources, reply } => {
                let files: Vec<SourceFile<'_>> = sources.iter().map(|(name, text)| SourceFile { name, text }).collect();
                let answer = match durable.reload(&files, engine) {
                    Ok(()) => {
                        live = Live {
                            version: live.version + 1,
                            digest: digest(&sources),
                            files: sources.iter().map(|(n, _)| n.clone()).collect(),
                        };
                        Ok(campaigns(&durable, &live))
                    }
                    Err(camp_runtime::LoadError::Check(diagnostics)) => Err(json!({
                        "error": "the campaigns do not check; the version live stays live",
                        "live_version": live.version,
                        "diagnostics": diagnostics.iter().map(|d| {
                            let (name, text) = &sources[d.file];
                            let (line, column) = camp_lang::diag::line_column(text, d.span.start);
                            json!({"code": d.code().as_str(), "error": d.is_error(), "file": name, "line": line,
                                   "column": column, "message": d.message.title(camp_lang::diag::Lang::En)})
                        }).collect::<Vec<_>>(),
                        "text": rendered(&diagnostics, &sources),
                    })),
                    Err(other) => Err(json!({"error": other.to_string(), "live_version": live.version})),
                };
                let _ = reply.send(answer);
            }
        }
    }
}

type Reply = oneshot::Sender<Result<Applied, String>>;
type Waiting = (Vec<Decoded>, Reply);

/// Events waiting, at least, before they are split into two groups, one processed while the
/// other is written.
const PIPELINED_GROUP: usize = 256;

/// Applies a group of requests; `more` when other write requests wait behind it.
fn apply_group(durable: &mut Durable, group: Vec<Waiting>, more: bool) {
    // The requests' lines are moved into one batch, not copied: each request's count says
    // which outcomes are its own.
    let (batches, replies): (Vec<Vec<Decoded>>, Vec<_>) = group.into_iter().unzip();
    let group: Vec<(usize, _)> = batches.iter().map(Vec::len).zip(replies).collect();
    let lines: Vec<Decoded> = batches.into_iter().flatten().collect();
    // Each request is answered once the batch is committed. With nothing behind it and
    // nothing in flight, the batch is read, processed and written in one transaction.
    if more || durable.has_pending() {
        durable.submit(lines, Box::new(move |outcome| answer(outcome, group)));
    } else {
        answer(durable.apply_decoded(&lines), group);
    }
}

/// Answers each request of a group from the group's outcome.
fn answer(outcome: Result<camp_store::Applied, camp_store::StoreError>, group: Vec<(usize, Reply)>) {
    match outcome {
        Ok(applied) => {
            let mut outcomes = applied.lines.iter();
            let mut entries = applied.entries.into_iter();
            let mut json = applied.json.into_iter();
            let mut taken = 0;
            for (count, reply) in group {
                let mut mine = Applied::default();
                for _ in 0..count {
                    let Some((outcome, end)) = outcomes.next() else { break };
                    mine.entries.extend(entries.by_ref().take(end - taken));
                    mine.json.extend(json.by_ref().take(end - taken));
                    taken = *end;
                    match outcome {
                        Outcome::Accepted => mine.accepted += 1,
                        Outcome::Duplicate => mine.duplicates += 1,
                        Outcome::Rejected => mine.rejected += 1,
                        Outcome::Blank => {}
                    }
                }
                let _ = reply.send(Ok(mine));
            }
        }
        Err(e) => {
            for (_, reply) in group {
                let _ = reply.send(Err(format!("the store failed, nothing of this request was kept: {e}")));
            }
        }
    }
}

fn account_state(durable: &mut Durable, account: &str) -> Result<Option<Value>, String> {
    let Some(kept) = durable.stored_account(account).map_err(|e| e.to_string())? else { return Ok(None) };
    let parse =
        |text: &str| serde_json::from_str::<Value>(text).map_err(|e| format!("the stored state is unreadable: {e}"));
    let payments = kept.payments.iter().map(|p| parse(p)).collect::<Result<Vec<_>, _>>()?;
    let mut state =
        json!({"account": account, "version": kept.version, "state": parse(&kept.state)?, "payments": payments});
    readable(&mut state);
    Ok(Some(state))
}

/// Adds readable forms beside the integers the store keeps: `time` (RFC 3339, UTC) beside
/// `at` (nanoseconds), `calendar_month` (`2026-02`, or `period`) beside month keys (`key`,
/// `month`).
fn readable(value: &mut Value) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(readable),
        Value::Object(map) => {
            map.values_mut().for_each(readable);
            if let Some(at) = map.get("at").and_then(Value::as_i64) {
                let time =
                    chrono::DateTime::from_timestamp_nanos(at).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
                map.insert("time".into(), Value::from(time));
            }
            if let Some(key) = map.get("key").or_else(|| map.get("month")).and_then(Value::as_i64) {
                // Keys are `year * 12 + month - 1`; 0 and below mark a whole-period total.
                let month = if key <= 0 {
                    "period".to_string()
                } else {
                    format!("{}-{:02}", key.div_euclid(12), key.rem_euclid(12) + 1)
                };
                map.insert("calendar_month".into(), Value::from(month));
            }
        }
        _ => {}
    }
}

fn campaigns(durable: &Durable, live: &Live) -> Value {
    let program = durable.runtime().program();
    json!({
        "version": live.version,
        "digest": live.digest,
        "files": live.files,
        "campaigns": program.campaigns.iter().map(|c| json!({
            "id": c.id, "title": c.title, "unit": c.unit, "source": c.source.to_string(),
        })).collect::<Vec<_>>(),
    })
}

/// What handlers share.
struct Shared {
    jobs: std::sync::Mutex<Option<mpsc::Sender<Job>>>,
    token: String,
    campaigns: PathBuf,
}

impl Shared {
    async fn ask<T>(&self, job: impl FnOnce(oneshot::Sender<T>) -> Job) -> Result<T, Box<Response>> {
        let (reply, answer) = oneshot::channel();
        let sent = match self.jobs.lock() {
            Ok(jobs) => jobs.as_ref().is_some_and(|jobs| jobs.send(job(reply)).is_ok()),
            Err(_) => false,
        };
        if !sent {
            return Err(Box::new(error(StatusCode::SERVICE_UNAVAILABLE, "the service is shutting down")));
        }
        answer.await.map_err(|_| Box::new(error(StatusCode::INTERNAL_SERVER_ERROR, "the writer stopped")))
    }

    /// `None` when the request carries the service's token; the refusal otherwise.
    fn refuse(&self, headers: &HeaderMap) -> Option<Response> {
        let given =
            headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        match given {
            Some(token) if same(token.trim().as_bytes(), self.token.as_bytes()) => None,
            Some(_) => Some(unauthorized("the bearer token is not the service's")),
            None => Some(unauthorized("writes need `Authorization: Bearer <token>`")),
        }
    }
}

/// Compares without stopping at the first difference, so the time taken does not tell how
/// much of a guessed token was right.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "error": message }))).into_response()
}

fn unauthorized(message: &str) -> Response {
    let mut response = error(StatusCode::UNAUTHORIZED, message);
    response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
    response
}

/// The lines of a request body: one JSON event (pretty-printed or not), or JSON Lines
/// (borrowed from the body).
fn event_lines(body: &str) -> Vec<Cow<'_, str>> {
    let trimmed = body.trim();
    if trimmed.starts_with('{')
        && trimmed.contains('\n')
        && let Ok(value @ Value::Object(_)) = serde_json::from_str::<Value>(trimmed)
    {
        return vec![Cow::Owned(value.to_string())];
    }
    body.lines().map(Cow::Borrowed).collect()
}

async fn post_events(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if let Some(denied) = shared.refuse(&headers) {
        return denied;
    }
    let Ok(body) = std::str::from_utf8(&body) else {
        return error(StatusCode::BAD_REQUEST, "the body is not UTF-8 text");
    };
    let lines = event_lines(body);
    let events = lines.iter().filter(|l| !l.trim().is_empty()).count();
    if events == 0 {
        return error(StatusCode::BAD_REQUEST, "the body holds no events: send one JSON event, or JSON Lines");
    }
    // Decoding needs no state: done here, on the HTTP threads, not in the writer.
    let lines: Vec<Decoded> = lines.iter().enumerate().map(|(i, text)| Decoded::line(i + 1, text)).collect();
    let applied = match shared.ask(|reply| Job::Apply { lines, reply }).await {
        Ok(Ok(applied)) => applied,
        Ok(Err(e)) => return error(StatusCode::SERVICE_UNAVAILABLE, &e),
        Err(response) => return *response,
    };
    // One event that was not accepted is a bad request; in a batch, bad lines are reject
    // entries and the rest goes on (as `campc run` does).
    let refused = events == 1 && applied.rejected == 1;
    // The body is written directly: entries are already JSON lines, and this is the hot path.
    let mut body = format!(
        r#"{{"accepted":{},"duplicates":{},"rejected":{},"entries":[{}]"#,
        applied.accepted,
        applied.duplicates,
        applied.rejected,
        applied.json.join(",")
    );
    if refused {
        let reason = applied.entries.iter().find_map(|e| match e {
            Entry::Reject { error, .. } => Some(error.as_str()),
            _ => None,
        });
        body.push_str(&format!(r#","error":{}"#, Value::from(reason.unwrap_or_default())));
    }
    body.push('}');
    let status = if refused { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

#[derive(Debug, serde::Deserialize)]
struct LedgerQuery {
    campaign: Option<String>,
}

async fn get_ledger(
    State(shared): State<Arc<Shared>>,
    UrlPath(account): UrlPath<String>,
    Query(query): Query<LedgerQuery>,
) -> Response {
    let filter = LedgerFilter { account: Some(account.clone()), campaign: query.campaign };
    match shared.ask(|reply| Job::Ledger { filter, reply }).await {
        Ok(Ok(lines)) => {
            let entries: Vec<Value> = lines.iter().filter_map(|l| serde_json::from_str(l).ok()).collect();
            axum::Json(json!({ "account": account, "entries": entries })).into_response()
        }
        Ok(Err(e)) => error(StatusCode::SERVICE_UNAVAILABLE, &e),
        Err(response) => *response,
    }
}

async fn get_state(State(shared): State<Arc<Shared>>, UrlPath(account): UrlPath<String>) -> Response {
    match shared.ask(|reply| Job::State { account: account.clone(), reply }).await {
        Ok(Ok(Some(state))) => axum::Json(state).into_response(),
        Ok(Ok(None)) => error(StatusCode::NOT_FOUND, &format!("no event has named account {account}")),
        Ok(Err(e)) => error(StatusCode::SERVICE_UNAVAILABLE, &e),
        Err(response) => *response,
    }
}

async fn get_campaigns(State(shared): State<Arc<Shared>>) -> Response {
    match shared.ask(|reply| Job::Campaigns { reply }).await {
        Ok(list) => axum::Json(list).into_response(),
        Err(response) => *response,
    }
}

async fn post_reload(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Some(denied) = shared.refuse(&headers) {
        return denied;
    }
    let sources = match read_campaigns(&shared.campaigns) {
        Ok(sources) => sources,
        Err(e) => return error(StatusCode::UNPROCESSABLE_ENTITY, &format!("{e}; the version live stays live")),
    };
    match shared.ask(|reply| Job::Reload { sources, reply }).await {
        Ok(Ok(live)) => axum::Json(live).into_response(),
        Ok(Err(refused)) => (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(refused)).into_response(),
        Err(response) => *response,
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn openapi() -> Response {
    axum::Json(openapi::document()).into_response()
}

/// The routes, over a running writer.
fn router(shared: Arc<Shared>, max_body: usize) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/events", post(post_events))
        .route("/v1/accounts/{id}/ledger", get(get_ledger))
        .route("/v1/accounts/{id}/state", get(get_state))
        .route("/v1/campaigns", get(get_campaigns))
        .route("/v1/campaigns/reload", post(post_reload))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(shared)
}

/// A running service.
#[derive(Debug)]
pub struct Running {
    /// Where it listens (the port chosen when 0 was asked for).
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    done: Option<std::thread::JoinHandle<Result<(), String>>>,
}

impl Running {
    /// Stops accepting, finishes every request accepted, and waits until the store has kept
    /// them.
    pub fn shutdown(mut self) -> Result<(), String> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.wait()
    }

    /// Waits until the service stops (on SIGINT or SIGTERM, or [`Running::shutdown`]).
    pub fn wait(mut self) -> Result<(), String> {
        match self.done.take() {
            Some(done) => done.join().map_err(|_| "the service panicked".to_string())?,
            None => Ok(()),
        }
    }
}

/// Starts the service on its own threads: returns once it listens.
pub fn start(config: Config) -> Result<Running, StartError> {
    let (jobs, writer) = start_writer(&config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.http_threads.unwrap_or_else(default_http_threads).max(1))
        .enable_all()
        .build()
        .map_err(|e| StartError(format!("cannot start the HTTP runtime: {e}")))?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(config.listen))
        .map_err(|e| StartError(format!("cannot listen on {}: {e}", config.listen)))?;
    let addr = listener.local_addr().map_err(|e| StartError(e.to_string()))?;
    let shared = Arc::new(Shared {
        jobs: std::sync::Mutex::new(Some(jobs)),
        token: config.token.clone(),
        campaigns: config.campaigns,
    });
    let app = router(Arc::clone(&shared), config.max_body);
    let (stop, stopped) = oneshot::channel::<()>();
    let done = std::thread::Builder::new()
        .name("camp-http".into())
        .spawn(move || {
            let served = runtime.block_on(async move {
                let signal = async move {
                    let ctrl_c = tokio::signal::ctrl_c();
                    #[cfg(unix)]
                    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
                    #[cfg(unix)]
                    let terminate = async move {
                        match term.as_mut() {
                            Some(term) => {
                                term.recv().await;
                            }
                            None => std::future::pending::<()>().await,
                        }
                    };
                    #[cfg(not(unix))]
                    let terminate = std::future::pending::<()>();
                    tokio::select! {
                        _ = ctrl_c => {}
                        _ = terminate => {}
                        _ = stopped => {}
                    }
                };
                axum::serve(listener, app).with_graceful_shutdown(signal).await
            });
            // Every request accepted has been answered; close the writer's inbox so it
            // finishes what is queued and stops.
            if let Ok(mut jobs) = shared.jobs.lock() {
                jobs.take();
            }
            drop(shared);
            let joined = writer.join().map_err(|_| "the writer panicked".to_string());
            served.map_err(|e| format!("the HTTP server failed: {e}"))?;
            joined
        })
        .map_err(|e| StartError(format!("cannot start the HTTP thread: {e}")))?;
    Ok(Running { addr, stop: Some(stop), done: Some(done) })
}
