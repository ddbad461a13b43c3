//! Reading an event file on a thread of its own: lines are read and decoded there (decoding
//! needs no state) while the main thread processes the lines before them, so `campc run`
//! keeps both cores busy. Order is kept: lines arrive in chunks, in the order of the file.

use std::io::BufRead;
use std::sync::mpsc;

/// Lines a chunk carries: enough that handing chunks over costs nothing next to decoding them.
const CHUNK: usize = 1024;

/// Chunks decoded ahead but not yet taken, at most: memory stays bounded however long the file.
const AHEAD: usize = 8;

/// Reads `input` line by line on a new thread, numbering lines from 1 and giving each to
/// `decode`. The receiver yields the decoded lines in order, in chunks, then ends; a read
/// error ends it with the error. Text that is not UTF-8 is given with replacement characters
/// (and is then not JSON).
pub fn spawn<R, T>(mut input: R, decode: fn(usize, &str) -> T) -> mpsc::Receiver<std::io::Result<Vec<T>>>
where
    R: BufRead + Send + 'static,
    T: Send + 'static,
{
    let (send, receive) = mpsc::sync_channel(AHEAD);
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut number = 0;
        let mut chunk = Vec::with_capacity(CHUNK);
        loop {
            bytes.clear();
            match input.read_until(b'\n', &mut bytes) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    // The lines before the error are processed first, then the error is told.
                    let _ = send.send(Ok(std::mem::take(&mut chunk)));
                    let _ = send.send(Err(e));
                    return;
                }
            }
            number += 1;
            let text = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
            // Valid UTF-8 is checked by the standard library's fast path first (the lossy
            // conversion walks the line in chunks, a twelfth of decoding); bad bytes are
            // replaced as before, so that the line is rejected by what it says.
            let line = match std::str::from_utf8(text) {
                Ok(line) => std::borrow::Cow::Borrowed(line),
                Err(_) => String::from_utf8_lossy(text),
            };
            chunk.push(decode(number, &line));
            if chunk.len() == CHUNK && send.send(Ok(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)))).is_err()
            {
                return; // the main thread stopped taking lines (it failed to write, say)
            }
        }
        if !chunk.is_empty() {
            let _ = send.send(Ok(chunk));
        }
    });
    receive
}

#[cfg(test)]
mod tests {
    use super::spawn;

    fn numbered(number: usize, text: &str) -> (usize, String) {
        (number, text.to_string())
    }

    #[test]
    fn lines_arrive_in_order_numbered_from_one_across_chunks() {
        let text: String = (0..2500).map(|i| format!("line {i}\n")).collect();
        let lines: Vec<(usize, String)> = spawn(std::io::Cursor::new(text.into_bytes()), numbered)
            .into_iter()
            .flat_map(|c| c.unwrap_or_default())
            .collect();
        assert_eq!(lines.len(), 2500);
        assert!(lines.iter().enumerate().all(|(i, (n, l))| *n == i + 1 && *l == format!("line {i}")));
    }

    #[test]
    fn a_last_line_without_newline_and_text_that_is_not_utf8_are_read() {
        let lines: Vec<(usize, String)> = spawn(std::io::Cursor::new(b"a\n\xff\nlast".to_vec()), numbered)
            .into_iter()
            .flat_map(|c| c.unwrap_or_default())
            .collect();
        assert_eq!(lines, vec![(1, "a".into()), (2, "\u{fffd}".into()), (3, "last".into())]);
    }
}
