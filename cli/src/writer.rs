//! Writing the ledger on a thread of its own: the main thread hands each chunk's entries over
//! and goes on processing while this thread turns them into JSON lines and writes them, in
//! the order they were handed over. Processing waits on memory (the accounts), writing on
//! instructions and the output, so the two overlap on two cores.

use std::io::Write;
use std::sync::mpsc;

use camp_runtime::Entry;

/// Chunks handed over but not yet written, at most: memory stays bounded when the output is
/// slower than processing.
const AHEAD: usize = 8;

/// Where the ledger goes.
pub enum Output {
    /// Standard output (locked by the writing thread).
    Stdout,
    /// A file, created by the caller (so that it can say at once when it cannot be).
    File(std::fs::File),
}

/// What the writing thread is given, in order.
pub enum Chunk {
    /// Entries to write as JSON lines.
    Entries(Vec<Entry>),
    /// Entries already made JSON lines (a store's batch makes them to keep them).
    Json(Vec<String>),
}

/// The writing thread, and the way to it.
pub struct Writer {
    send: mpsc::SyncSender<Chunk>,
    done: std::thread::JoinHandle<std::io::Result<()>>,
}

impl Writer {
    /// Starts the thread writing to `output`.
    pub fn spawn(output: Output) -> Writer {
        let (send, receive) = mpsc::sync_channel::<Chunk>(AHEAD);
        let done = std::thread::spawn(move || match output {
            Output::Stdout => write_all(&receive, std::io::BufWriter::new(std::io::stdout().lock())),
            Output::File(file) => write_all(&receive, std::io::BufWriter::new(file)),
        });
        Writer { send, done }
    }

    /// Hands a chunk over. `false` when the thread has stopped because a write failed:
    /// [`Writer::finish`] says why.
    pub fn write(&self, chunk: Chunk) -> bool {
        self.send.send(chunk).is_ok()
    }

    /// Waits until everything handed over is written and flushed.
    pub fn finish(self) -> std::io::Result<()> {
        drop(self.send);
        self.done.join().unwrap_or_else(|_| Err(std::io::Error::other("the thread writing the ledger failed")))
    }
}

/// Writes every chunk received to `out` until the sender is dropped, then flushes; stops at
/// the first error.
fn write_all(receive: &mpsc::Receiver<Chunk>, mut out: impl Write) -> std::io::Result<()> {
    // Each entry's JSON is written into this one buffer, then out.
    let mut line = String::with_capacity(512);
    for chunk in receive {
        match chunk {
            Chunk::Entries(entries) => {
                for entry in &entries {
                    line.clear();
                    entry.write_json(&mut line);
                    line.push('\n');
                    out.write_all(line.as_bytes())?;
                }
            }
            Chunk::Json(lines) => {
                for json in &lines {
                    out.write_all(json.as_bytes())?;
                    out.write_all(b"\n")?;
                }
            }
        }
    }
    out.flush()
}
