//! `campc`, the Camp command line.
//!
//! **Owns:** reading files, printing, exit codes. It is the only crate that does any of
//! these. **Must not touch:** campaign semantics: everything it knows about campaigns comes
//! from `camp_lang` (checking, formatting, explanations) and `camp_runtime` (running).

mod reader;
mod writer;

/// mimalloc, not the system's: what a settled payment keeps (its contributions, its awards'
/// records) lives as long as its account, so glibc's malloc served nearly every such
/// allocation from its slow path (see docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;

use camp_lang::diag::{Lang, Severity, line_column, render};
use camp_lang::{Code, Diagnostic};
use clap::{Parser, Subcommand, ValueEnum};

/// Camp: payment reward campaigns as code that planners can read and machines can check.
#[derive(Debug, Parser)]
#[command(
    name = "campc",
    version,
    about = "Camp: payment reward campaigns as code that planners can read and machines can check",
    after_help = "Examples:\n  campc check examples/seeds/*.camp           check campaigns before launch\n  campc check --lang ja --format json a.camp  Japanese messages, one JSON object per line\n  campc fmt --check examples/seeds/*.camp     is every file in the canonical layout?\n  campc explain E0201                         what a diagnostic code means and how to fix it"
)]
struct Cli {
    /// Language of messages: `en` or `ja` (default: from the LANG environment variable).
    #[arg(long, global = true, value_enum)]
    lang: Option<LangArg>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check campaign files without running them: every error and warning, with where and why.
    ///
    /// Exits 0 when there are no errors and 1 when there are. Files are checked together, so
    /// campaigns that can award the same payment must say how they stack.
    Check {
        /// The `.camp` files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// `text` for people, `json` for CI and editors (one object per line).
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// `--deny warnings` makes warnings fail the check too.
        #[arg(long, value_enum)]
        deny: Option<Deny>,
    },
    /// Rewrite campaign files in the one canonical layout (comments are kept).
    Fmt {
        /// The `.camp` files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Change nothing; exit 1 and name the files that are not formatted.
        #[arg(long)]
        check: bool,
    },
    /// Run campaigns over an event stream: events in (JSON Lines), ledger out (JSON Lines).
    ///
    /// Exits 0 when every event was accepted, 1 when some were rejected (the ledger is still
    /// complete), 2 when the campaigns do not check.
    Run {
        /// The `.camp` files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The events, one JSON object a line (see EVENTS.md).
        #[arg(long)]
        events: PathBuf,
        /// Write the ledger here instead of to standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// The evaluator: `jit` (native code; campaigns it does not compile run interpreted) or
        /// `interp` (the reference interpreter). Both give the same ledger. Default: `jit`, or
        /// `interp` with a warning where native code cannot be generated on this machine.
        #[arg(long, value_enum)]
        engine: Option<Engine>,
        /// Explain, on standard error, why each campaign gave what it gave for this payment.
        #[arg(long, value_name = "PAYMENT_ID")]
        explain: Vec<String>,
        /// Keep accepted events, ledger and account state in a store, and resume from it: a SQLite
        /// file (created when missing) or a `postgres://user@host/db` URL. Events the store has
        /// already accepted are skipped, so running again over the same (or a longer) file
        /// processes only what is new; the output is this run's entries.
        #[arg(long, value_name = "PATH|URL")]
        store: Option<String>,
        /// With `--store`: events per transaction (larger batches are faster; a crash loses
        /// nothing either way, the batch being written is simply done again).
        #[arg(long, default_value_t = 1000, value_name = "N")]
        batch: usize,
        /// With `--store`: the most accounts kept in memory between batches; past it, those
        /// used longest ago leave memory and are read back from the store when next needed.
        #[arg(long, default_value_t = camp_store::DEFAULT_CACHE_LIMIT, value_name = "N")]
        cache_accounts: usize,
    },
    /// Print the ledger kept in a store, as JSON Lines (awards and adjustments, in the order
    /// they were written).
    Ledger {
        /// The store: a SQLite file or a `postgres://` URL.
        #[arg(long, value_name = "PATH|URL")]
        store: String,
        /// Only this account's entries.
        #[arg(long, value_name = "ID")]
        account: Option<String>,
        /// Only this campaign's entries.
        #[arg(long, value_name = "ID")]
        campaign: Option<String>,
    },
    /// Measure how fast each engine is on an event stream, without I/O, to size a deployment.
    ///
    /// The events are read and decoded first. Per engine, two figures (best of several runs):
    /// evaluation, every campaign's counters and award on every payment and nothing else,
    /// each payment prepared beforehand in the form its engine reads (payments/s); and end to end, every event through a fresh runtime with account state,
    /// caps, stacking and ledger entries (events/s). The engines must agree on every award:
    /// the command fails if they do not.
    Bench {
        /// The `.camp` files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The events, one JSON object a line.
        #[arg(long)]
        events: PathBuf,
        /// `text` or `json`: `{"events":..,"payments":..,"engines":{"jit":{"events_per_sec":..,
        /// "ns_per_event":..,"end_to_end":{"events_per_sec":..,"ns_per_event":..}},"interp":{..}}}`,
        /// where the top figures are evaluation (per payment).
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Serve the runtime over HTTP, on a store: events in, ledger entries out, state kept.
    ///
    /// Routes: POST /v1/events (one JSON event or JSON Lines; returns the entries caused),
    /// GET /v1/accounts/{id}/ledger, GET /v1/accounts/{id}/state, GET /v1/campaigns,
    /// POST /v1/campaigns/reload, GET /healthz, GET /v1/openapi.json. Writes need
    /// `Authorization: Bearer <token>`, the token from CAMP_TOKEN or --token-file. SIGINT or
    /// SIGTERM stops accepting, finishes what was accepted, and exits.
    Serve {
        /// The store: a SQLite file (created when missing) or a `postgres://` URL.
        #[arg(long, value_name = "PATH|URL")]
        store: String,
        /// The directory of `.camp` files; POST /v1/campaigns/reload reads it again.
        #[arg(long, value_name = "DIR")]
        campaigns: PathBuf,
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
        listen: std::net::SocketAddr,
        /// A file holding the bearer token (instead of the CAMP_TOKEN environment variable).
        #[arg(long, value_name = "PATH")]
        token_file: Option<PathBuf>,
        /// The largest request body, in bytes.
        #[arg(long, default_value_t = 8 * 1024 * 1024, value_name = "BYTES")]
        max_body: usize,
        /// The most events one transaction takes when concurrent requests are grouped.
        #[arg(long, default_value_t = 4000, value_name = "N")]
        batch: usize,
        /// The evaluator (default: jit).
        #[arg(long, value_enum)]
        engine: Option<Engine>,
        /// Threads reading and answering requests (default: one fewer than the cores, at
        /// least one; the writer and the store have threads of their own).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
        http_threads: Option<u16>,
        /// The most accounts kept in memory between batches; past it, those used longest ago
        /// leave memory and are read back from the store when next needed.
        #[arg(long, default_value_t = camp_store::DEFAULT_CACHE_LIMIT, value_name = "N")]
        cache_accounts: usize,
    },
    /// Run rule tests: events and the awards they must give, written next to campaigns.
    ///
    /// A test file (`*.camptest`) names its campaigns and holds tests; a `.camp` file given here
    /// runs the `.camptest` file beside it. Prints one line per failure, then `N passed, M failed`;
    /// exits 1 when any test fails.
    Test {
        /// `.camptest` files (or `.camp` files with a `.camptest` beside them).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Explain a diagnostic code: what it means, an example, the fix.
    ///
    /// `campc explain E0201`. Without a code, lists every code.
    Explain {
        /// A code such as `E0201`.
        code: Option<String>,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum Engine {
    Interp,
    Jit,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LangArg {
    En,
    Ja,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Deny {
    Warnings,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let lang = match cli.lang {
        Some(LangArg::En) => Lang::En,
        Some(LangArg::Ja) => Lang::Ja,
        None => lang_from_env(),
    };
    match cli.command {
        Command::Check { files, format, deny } => check(&files, format, deny.is_some(), lang),
        Command::Fmt { files, check } => fmt(&files, check, lang),
        Command::Explain { code } => explain(code.as_deref(), lang),
        Command::Test { files } => test(&files, lang),
        Command::Bench { files, events, format } => bench(&files, &events, format, lang),
        Command::Run { files, events, out, engine, explain, store, batch, cache_accounts } => {
            let options = RunOptions {
                out: out.as_deref(),
                engine,
                explain: &explain,
                store: store.as_deref(),
                batch,
                cache_accounts,
            };
            run(&files, &events, &options, lang)
        }
        Command::Ledger { store, account, campaign } => ledger(&store, account, campaign),
        Command::Serve {
            store,
            campaigns,
            listen,
            token_file,
            max_body,
            batch,
            engine,
            http_threads,
            cache_accounts,
        } => {
            // `--engine jit` serves as the default does: native code, or the interpreter where
            // native code cannot be generated.
            let engine = matches!(engine, Some(Engine::Interp)).then_some(camp_runtime::Engine::Interp);
            let Some(token) = token(token_file.as_deref()) else { return ExitCode::from(2) };
            let http_threads = http_threads.map(usize::from);
            serve(camp_server::Config {
                store,
                campaigns,
                listen,
                token,
                max_body,
                max_batch: batch,
                engine,
                http_threads,
                cache_accounts,
            })
        }
    }
}

fn lang_from_env() -> Lang {
    let lang = std::env::var("LC_ALL").ok().filter(|v| !v.is_empty()).or_else(|| std::env::var("LANG").ok());
    if lang.is_some_and(|v| v.starts_with("ja")) { Lang::Ja } else { Lang::En }
}

/// Reads every file, or prints why one cannot be read.
fn read_all(files: &[PathBuf]) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut ok = true;
    for path in files {
        match std::fs::read_to_string(path) {
            Ok(text) => out.push((path.display().to_string(), text)),
            Err(e) => {
                eprintln!("error: cannot read `{}`: {e}", path.display());
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

fn check(files: &[PathBuf], format: Format, deny_warnings: bool, lang: Lang) -> ExitCode {
    let Some(sources) = read_all(files) else { return ExitCode::from(2) };
    let texts: Vec<&str> = sources.iter().map(|(_, t)| t.as_str()).collect();
    let checked = camp_lang::check_sources(&texts);
    let color = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let width = 100;
    for d in &checked.diagnostics {
        let (name, text) = &sources[d.file];
        match format {
            Format::Text => eprint!("{}", render(d, lang, name, text, width, color)),
            Format::Json => println!("{}", json(d, lang, name, text)),
        }
    }
    let errors = checked.diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = checked.diagnostics.len() - errors;
    if matches!(format, Format::Text) && !checked.diagnostics.is_empty() {
        eprintln!("{}", summary(errors, warnings, lang));
    }
    if errors > 0 || (deny_warnings && warnings > 0) { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

fn summary(errors: usize, warnings: usize, lang: Lang) -> String {
    match lang {
        Lang::En => format!("{errors} error(s), {warnings} warning(s)"),
        Lang::Ja => format!("エラー {errors} 件、警告 {warnings} 件"),
    }
}

fn json(d: &Diagnostic, lang: Lang, file: &str, text: &str) -> serde_json::Value {
    let (line, column) = line_column(text, d.span.start);
    let (end_line, end_column) = line_column(text, d.span.end);
    serde_json::json!({
        "code": d.code().as_str(),
        "severity": match d.severity { Severity::Error => "error", Severity::Warning => "warning" },
        "message": d.message.title(lang),
        "label": d.message.label(lang),
        "help": d.message.help(lang),
        "file": file,
        "line": line,
        "column": column,
        "end_line": end_line,
        "end_column": end_column,
        "span": { "start": d.span.start, "end": d.span.end },
    })
}

/// What `campc run` was asked for besides files and events.
struct RunOptions<'a> {
    out: Option<&'a std::path::Path>,
    engine: Option<Engine>,
    explain: &'a [String],
    store: Option<&'a str>,
    batch: usize,
    cache_accounts: usize,
}

/// Loads campaigns with the engine asked for (the JIT by default, the interpreter with a
/// warning where native code cannot be generated); prints diagnostics when they do not check.
fn load_runtime(sources: &[(String, String)], engine: Option<Engine>, lang: Lang) -> Option<camp_runtime::Runtime> {
    let source_files: Vec<camp_runtime::SourceFile<'_>> =
        sources.iter().map(|(name, text)| camp_runtime::SourceFile { name, text }).collect();
    let engine = engine.map(|e| match e {
        Engine::Jit => camp_runtime::Engine::Jit,
        Engine::Interp => camp_runtime::Engine::Interp,
    });
    let loaded = camp_runtime::Runtime::load_engine(&source_files, engine).map(|(runtime, jit_error)| {
        if let Some(e) = jit_error {
            eprintln!("warning: {e}; running with the interpreter, which gives the same ledger");
        }
        runtime
    });
    match loaded {
        Ok(runtime) => Some(runtime),
        Err(camp_runtime::LoadError::Check(diagnostics)) => {
            for d in &diagnostics {
                let (name, text) = &sources[d.file];
                eprint!("{}", render(d, lang, name, text, 100, std::io::IsTerminal::is_terminal(&std::io::stderr())));
            }
            None
        }
        Err(e) => {
            eprintln!("error: {e}");
            None
        }
    }
}

/// Where events go: a runtime in memory, or one over a store.
enum Sink {
    Memory(Box<camp_runtime::Runtime>),
    Store(Box<camp_store::Durable>),
}

fn run(files: &[PathBuf], events: &std::path::Path, options: &RunOptions<'_>, lang: Lang) -> ExitCode {
    let Some(sources) = read_all(files) else { return ExitCode::from(2) };
    let Some(mut runtime) = load_runtime(&sources, options.engine, lang) else { return ExitCode::from(2) };
    for id in options.explain {
        runtime.explain_payment(id);
    }
    let input = match std::fs::File::open(events) {
        Ok(f) => std::io::BufReader::new(f),
        Err(e) => {
            eprintln!("error: cannot read `{}`: {e}", events.display());
            return ExitCode::from(2);
        }
    };
    let mut sink = match options.store {
        None => Sink::Memory(Box::new(runtime)),
        Some(spec) => match camp_store::open(spec) {
            Ok(store) => {
                Sink::Store(Box::new(camp_store::Durable::new(runtime, store).with_cache_limit(options.cache_accounts)))
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let output = match options.out {
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => writer::Output::File(f),
            Err(e) => {
                eprintln!("error: cannot write `{}`: {e}", path.display());
                return ExitCode::from(2);
            }
        },
        None => writer::Output::Stdout,
    };
    // The ledger is written on a thread of its own while this one processes, as lines are
    // read and decoded on another.
    let output = writer::Writer::spawn(output);
    let cannot_write = |output: writer::Writer| {
        let why = output.finish().err().map_or_else(|| "the output closed".to_string(), |e| e.to_string());
        eprintln!("error: cannot write the ledger: {why}");
        ExitCode::from(2)
    };
    let mut rejected = 0usize;
    let mut count_rejects = |entries: &[camp_runtime::Entry]| {
        rejected += entries.iter().filter(|e| matches!(e, camp_runtime::Entry::Reject { .. })).count()
    };
    let unreadable = |e: std::io::Error| {
        eprintln!("error: cannot read `{}`: {e}", events.display());
        ExitCode::from(2)
    };
    match &mut sink {
        Sink::Memory(runtime) => {
            let decode = |number, text: &str| (number, camp_runtime::event::parse_line(text));
            for chunk in reader::spawn(input, decode) {
                let chunk = match chunk {
                    Ok(chunk) => chunk,
                    Err(e) => return unreadable(e),
                };
                let written = runtime.process_decoded(chunk);
                count_rejects(&written);
                if !output.write(writer::Chunk::Entries(written)) {
                    return cannot_write(output);
                }
            }
        }
        Sink::Store(durable) => {
            let batch = options.batch.max(1);
            let mut pending: Vec<camp_store::Decoded> = Vec::new();
            let chunks = reader::spawn(input, camp_store::Decoded::line);
            // Each batch's outcome arrives once it is committed (the store writes one batch
            // while the next is processed), in the order given, with its first line's number.
            let (outcomes, finished) =
                std::sync::mpsc::channel::<((usize, usize), Result<camp_store::Applied, camp_store::StoreError>)>();
            let mut failed: Option<((usize, usize), camp_store::StoreError)> = None;
            let mut take_finished = |wait: bool, failed: &mut Option<_>| -> bool {
                let next = || if wait { finished.recv().ok() } else { finished.try_recv().ok() };
                while let Some((span, outcome)) = next() {
                    match outcome {
                        Ok(applied) => {
                            count_rejects(&applied.entries);
                            if !output.write(writer::Chunk::Json(applied.json)) {
                                return false;
                            }
                        }
                        Err(e) => {
                            failed.get_or_insert((span, e));
                        }
                    }
                }
                true
            };
            'read: loop {
                let more = match chunks.recv() {
                    Ok(Ok(chunk)) => {
                        pending.extend(chunk);
                        true
                    }
                    Ok(Err(e)) => return unreadable(e),
                    Err(_) => false, // the file has been read
                };
                while pending.len() >= batch || (!more && !pending.is_empty()) {
                    let rest = pending.split_off(pending.len().min(batch));
                    let lines = std::mem::replace(&mut pending, rest);
                    let span = (lines.first().map_or(0, |p| p.number), lines.last().map_or(0, |p| p.number));
                    let outcomes = outcomes.clone();
                    durable.submit(lines, Box::new(move |outcome| drop(outcomes.send((span, outcome)))));
                    if !take_finished(false, &mut failed) {
                        return cannot_write(output);
                    }
                    if failed.is_some() {
                        break 'read;
                    }
                }
                if !more {
                    break;
                }
            }
            durable.flush();
            drop(outcomes);
            if !take_finished(true, &mut failed) {
                return cannot_write(output);
            }
            if let Some(((first, last), e)) = failed {
                // Batches after it may have been kept (each is written on its own): what was
                // written out above was.
                eprintln!(
                    "error: {e}\nnothing of lines {first} to {last} was kept, and the events after them that are not \
                     in the output above were not either; running again with the same store does what was not kept"
                );
                // What was kept is written out before stopping.
                let _ = output.finish();
                return ExitCode::from(2);
            }
        }
    }
    if let Err(e) = output.finish() {
        eprintln!("error: cannot write the ledger: {e}");
        return ExitCode::from(2);
    }
    let runtime = match &sink {
        Sink::Memory(runtime) => runtime.as_ref(),
        Sink::Store(durable) => durable.runtime(),
    };
    for id in options.explain {
        match runtime.explanation(id) {
            Some(text) => eprintln!("{text}"),
            None => eprintln!("payment {id} was not in the events (or was rejected, or is still provisional)"),
        }
    }
    // The process ends here: freeing every account one by one took a tenth of a run over a
    // large file, and the system takes the memory back at once. A store is closed properly
    // (SQLite checkpoints and removes its log on close); only the runtime's memory is left.
    match sink {
        Sink::Memory(runtime) => std::mem::forget(runtime),
        Sink::Store(durable) => std::mem::forget(durable.close()),
    }
    if rejected > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

/// The bearer token for `campc serve`: from a file, or from CAMP_TOKEN.
fn token(file: Option<&std::path::Path>) -> Option<String> {
    let token = match file {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => text.trim().to_string(),
            Err(e) => {
                eprintln!("error: cannot read the token file `{}`: {e}", path.display());
                return None;
            }
        },
        None => std::env::var("CAMP_TOKEN").unwrap_or_default().trim().to_string(),
    };
    if token.len() < 16 {
        eprintln!(
            "error: campc serve needs a bearer token of at least 16 characters for writes: set CAMP_TOKEN or pass \
             --token-file (for example: export CAMP_TOKEN=$(head -c 24 /dev/urandom | base64))"
        );
        return None;
    }
    Some(token)
}

fn serve(config: camp_server::Config) -> ExitCode {
    let store = config.store.clone();
    match camp_server::start(config) {
        Ok(running) => {
            eprintln!("campc serve: listening on http://{} (store {store}); SIGINT or SIGTERM stops", running.addr);
            match running.wait() {
                Ok(()) => {
                    eprintln!("campc serve: stopped; every accepted event is kept");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn ledger(store: &str, account: Option<String>, campaign: Option<String>) -> ExitCode {
    use std::io::Write;
    let mut store = match camp_store::open_existing(store) {
        Ok(store) => store,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let entries = match store.ledger(&camp_store::LedgerFilter { account, campaign }) {
        Ok(entries) => entries,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in entries {
        if writeln!(out, "{line}").is_err() {
            return ExitCode::from(2);
        }
    }
    if out.flush().is_err() { ExitCode::from(2) } else { ExitCode::SUCCESS }
}

fn bench(files: &[PathBuf], events: &std::path::Path, format: Format, lang: Lang) -> ExitCode {
    let Some(sources) = read_all(files) else { return ExitCode::from(2) };
    let source_files: Vec<camp_runtime::SourceFile<'_>> =
        sources.iter().map(|(name, text)| camp_runtime::SourceFile { name, text }).collect();
    let text = match std::fs::read_to_string(events) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: cannot read `{}`: {e}", events.display());
            return ExitCode::from(2);
        }
    };
    let decoded: Vec<(camp_runtime::Event, u64)> =
        text.lines().filter_map(|line| camp_runtime::event::parse_line(line).ok().flatten()).collect();
    if decoded.is_empty() {
        eprintln!("error: `{}` holds no readable events", events.display());
        return ExitCode::from(2);
    }
    // One pass first, untimed: the first pass through a fresh process pays for the memory the
    // allocator takes from the system, which would count against whichever engine ran first.
    if let Ok(mut warm_up) = camp_runtime::Runtime::load_with(&source_files, camp_runtime::Engine::Interp) {
        for (event, hash) in &decoded {
            let _ = warm_up.process_hashed(event, *hash);
        }
    }
    let mut results = Vec::new();
    for (name, engine) in [("jit", camp_runtime::Engine::Jit), ("interp", camp_runtime::Engine::Interp)] {
        let load = || match camp_runtime::Runtime::load_with(&source_files, engine) {
            Ok(runtime) => Ok(runtime),
            Err(camp_runtime::LoadError::Check(diagnostics)) => {
                for d in &diagnostics {
                    let (file_name, text) = &sources[d.file];
                    eprint!("{}", render(d, lang, file_name, text, 100, false));
                }
                Err(ExitCode::from(2))
            }
            Err(e) => {
                eprintln!("error: {e}");
                Err(ExitCode::from(2))
            }
        };
        // End to end: every event through a fresh runtime (state, stacking, ledger entries).
        let mut end_to_end = std::time::Duration::MAX;
        let mut runtime = None;
        let started = std::time::Instant::now();
        for run in 0.. {
            if run >= 2 && started.elapsed() > std::time::Duration::from_secs(2) {
                break;
            }
            let mut fresh = match load() {
                Ok(runtime) => runtime,
                Err(code) => return code,
            };
            let start = std::time::Instant::now();
            // As `campc run` processes a stream.
            for window in decoded.chunks(camp_runtime::READ_AHEAD) {
                fresh.read_ahead(window.iter().map(|(event, _)| event));
                for (event, hash) in window {
                    let _ = fresh.process_hashed(event, *hash);
                }
            }
            end_to_end = end_to_end.min(start.elapsed());
            runtime = Some(fresh);
        }
        let Some(runtime) = runtime else { return ExitCode::from(2) };
        // Evaluation: every campaign's counters and award on every payment, against the
        // accounts as the stream left them; nothing else (the sum the engines are compared
        // on is taken in a pass of its own, untimed).
        let prepared: Vec<_> = decoded.iter().filter_map(|(event, _)| runtime.prepare(event)).collect();
        let mut outcome = camp_runtime::PaymentOutcome::default();
        let mut evaluation = std::time::Duration::MAX;
        let started = std::time::Instant::now();
        for run in 0.. {
            if run >= 3 && started.elapsed() > std::time::Duration::from_secs(2) {
                break;
            }
            let start = std::time::Instant::now();
            // The accounts' counters read ahead, as processing reads accounts ahead.
            for window in prepared.chunks(camp_runtime::READ_AHEAD) {
                runtime.read_ahead_prepared(window);
                for payment in window {
                    let _ = runtime.evaluate_prepared(payment, &mut outcome);
                    std::hint::black_box(&outcome);
                }
            }
            evaluation = evaluation.min(start.elapsed());
        }
        let mut checksum = rust_decimal::Decimal::ZERO;
        for payment in &prepared {
            if runtime.evaluate_prepared(payment, &mut outcome).is_ok() {
                checksum += outcome.total();
            }
        }
        results.push(EngineFigures {
            name,
            evaluation: Rate::of(prepared.len(), evaluation),
            end_to_end: Rate::of(decoded.len(), end_to_end),
            checksum,
            payments: prepared.len(),
        });
    }
    if results.windows(2).any(|w| w[0].checksum != w[1].checksum) {
        eprintln!("error: the engines disagree on these events (a bug: please report it with the files)");
        return ExitCode::from(1);
    }
    let payments = results.first().map_or(0, |r| r.payments);
    match format {
        Format::Json => {
            let engines: serde_json::Map<String, serde_json::Value> = results
                .iter()
                .map(|r| {
                    let mut figures = r.evaluation.json();
                    figures["end_to_end"] = r.end_to_end.json();
                    (r.name.to_string(), figures)
                })
                .collect();
            println!("{}", serde_json::json!({"events": decoded.len(), "payments": payments, "engines": engines}));
        }
        Format::Text => {
            println!(
                "{} events, {payments} of them payments; decoded before timing; best of several runs",
                decoded.len()
            );
            println!();
            println!("evaluation: every campaign's counters and award on every payment (payments/s)");
            println!("end to end: every event with account state, caps, stacking and ledger entries (events/s)");
            println!();
            println!(
                "{:<8} {:>14} {:>12}   {:>14} {:>12}",
                "engine", "evaluation/s", "ns/payment", "end to end/s", "ns/event"
            );
            for r in &results {
                println!(
                    "{:<8} {:>14.0} {:>12.1}   {:>14.0} {:>12.1}",
                    r.name, r.evaluation.per_sec, r.evaluation.ns, r.end_to_end.per_sec, r.end_to_end.ns
                );
            }
            if let [jit, interp] = results.as_slice() {
                println!();
                println!(
                    "jit / interp: {:.1}x evaluation, {:.1}x end to end",
                    jit.evaluation.per_sec / interp.evaluation.per_sec.max(1e-9),
                    jit.end_to_end.per_sec / interp.end_to_end.per_sec.max(1e-9)
                );
            }
        }
    }
    ExitCode::SUCCESS
}

/// One engine's figures in `campc bench`.
struct EngineFigures {
    name: &'static str,
    evaluation: Rate,
    end_to_end: Rate,
    /// The sum of every award and contribution evaluated: equal across engines.
    checksum: rust_decimal::Decimal,
    payments: usize,
}

/// A throughput: items per second and nanoseconds per item.
struct Rate {
    per_sec: f64,
    ns: f64,
}

impl Rate {
    fn of(items: usize, time: std::time::Duration) -> Rate {
        let seconds = time.as_secs_f64().max(1e-9);
        let items = items.max(1) as f64;
        Rate { per_sec: items / seconds, ns: seconds * 1e9 / items }
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({"events_per_sec": self.per_sec.round(), "ns_per_event": (self.ns * 10.0).round() / 10.0})
    }
}

fn test(files: &[PathBuf], lang: Lang) -> ExitCode {
    let (mut passed, mut failed) = (0usize, 0usize);
    let mut broken = false;
    for given in files {
        let path = if given.extension().is_some_and(|e| e == "camp") {
            given.with_extension("camptest")
        } else {
            given.clone()
        };
        let name = path.display().to_string();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("error: cannot read `{name}`: {e}");
                broken = true;
                continue;
            }
        };
        let file = match camp_runtime::rule_test::parse(&text) {
            Ok(file) => file,
            Err(e) => {
                eprintln!("error: {name}:{}: {}", e.line, e.message);
                broken = true;
                continue;
            }
        };
        let dir = path.parent().unwrap_or(std::path::Path::new("."));
        let campaign_paths: Vec<PathBuf> = file.campaigns.iter().map(|c| dir.join(c)).collect();
        let Some(sources) = read_all(&campaign_paths) else {
            broken = true;
            continue;
        };
        let source_files: Vec<camp_runtime::SourceFile<'_>> =
            sources.iter().map(|(name, text)| camp_runtime::SourceFile { name, text }).collect();
        match camp_runtime::rule_test::run(&file, &source_files) {
            Ok(outcomes) => {
                for outcome in outcomes {
                    if outcome.failures.is_empty() {
                        passed += 1;
                        continue;
                    }
                    failed += 1;
                    for (line, message) in outcome.failures {
                        println!("FAIL {name}:{line} \"{}\": {message}", outcome.name);
                    }
                }
            }
            Err(camp_runtime::LoadError::Check(diagnostics)) => {
                for d in &diagnostics {
                    let (file_name, text) = &sources[d.file];
                    eprint!("{}", render(d, lang, file_name, text, 100, false));
                }
                broken = true;
            }
            Err(e) => {
                eprintln!("error: {name}: {e}");
                broken = true;
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if broken {
        ExitCode::from(2)
    } else if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn fmt(files: &[PathBuf], check_only: bool, lang: Lang) -> ExitCode {
    let Some(sources) = read_all(files) else { return ExitCode::from(2) };
    let mut failed = false;
    for ((name, text), path) in sources.iter().zip(files) {
        match camp_lang::fmt::format_source(text) {
            Ok(formatted) if formatted == *text => {}
            Ok(formatted) if check_only => {
                eprintln!(
                    "{}",
                    match lang {
                        Lang::En => format!("{name}: not formatted (run `campc fmt {name}`)"),
                        Lang::Ja => format!("{name}: 整形されていません (`campc fmt {name}` を実行してください)"),
                    }
                );
                let _ = formatted;
                failed = true;
            }
            Ok(formatted) => {
                if let Err(e) = std::fs::write(path, formatted) {
                    eprintln!("error: cannot write `{name}`: {e}");
                    failed = true;
                }
            }
            Err(diagnostics) => {
                for d in &diagnostics {
                    eprint!("{}", render(d, lang, name, text, 100, false));
                }
                failed = true;
            }
        }
    }
    if failed { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

fn explain(code: Option<&str>, lang: Lang) -> ExitCode {
    match code {
        None => {
            for code in Code::ALL {
                println!("{code}  {}", camp_lang::explain::summary(*code, lang));
            }
            ExitCode::SUCCESS
        }
        Some(text) => match Code::parse(text) {
            Some(code) => {
                println!("{}", camp_lang::explain::page(code, lang));
                ExitCode::SUCCESS
            }
            None => {
                eprintln!(
                    "{}",
                    match lang {
                        Lang::En =>
                            format!("error: `{text}` is not a Camp diagnostic code; `campc explain` lists them"),
                        Lang::Ja => format!(
                            "error: `{text}` は Camp の診断コードではありません。`campc explain` で一覧を表示します"
                        ),
                    }
                );
                ExitCode::from(2)
            }
        },
    }
}
