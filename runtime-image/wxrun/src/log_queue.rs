//! The log writer of `wxrun serve`: lines are appended to a buffer in memory and a worker
//! thread writes what has gathered in one write, at most every [`BATCH`]. The access log is
//! a line per request: written under the stderr lock, tokio workers queued on it (half a
//! futex call per request); handed to a channel (tracing-appender), the writer thread woke
//! for every few lines (2,500 context switches a second under load, the largest cost left in
//! the log). Here a line wakes the worker only when it finds the buffer empty.
//!
//! A line that would take the buffer past [`CAPACITY`] is dropped rather than stalling
//! requests behind a slow log reader; the worker then writes how many were dropped.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{JoinHandle, Thread};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How long the worker lets lines gather after the first one of a batch: the most a line
/// waits before it is written.
pub const BATCH: Duration = Duration::from_millis(20);
/// Bytes waiting to be written, at most (some 60,000 access log lines).
pub const CAPACITY: usize = 16 << 20;

struct Shared {
    lines: Mutex<Vec<u8>>,
    dropped: AtomicU64,
    closing: AtomicBool,
    worker: Thread,
}

impl Shared {
    fn lines(&self) -> MutexGuard<'_, Vec<u8>> {
        // A panic while holding the lock leaves whole lines behind (one extend per line).
        self.lines.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The `MakeWriter` for tracing's fmt layer; cheap to clone.
#[derive(Clone)]
pub struct LogQueue(Arc<Shared>);

/// Writes what is still queued and stops the worker when dropped.
pub struct LogGuard {
    shared: Arc<Shared>,
    worker: Option<JoinHandle<()>>,
}

/// Starts the worker thread writing to `out`.
pub fn start<W: Write + Send + 'static>(out: W) -> io::Result<(LogQueue, LogGuard)> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Arc<Shared>>(1);
    let worker = std::thread::Builder::new()
        .name("wxrun-log".into())
        .spawn(move || {
            if let Ok(shared) = rx.recv() {
                run(&shared, out);
            }
        })?;
    let shared = Arc::new(Shared {
        lines: Mutex::new(Vec::new()),
        dropped: AtomicU64::new(0),
        closing: AtomicBool::new(false),
        worker: worker.thread().clone(),
    });
    tx.send(shared.clone())
        .map_err(|_| io::Error::other("the log thread ended at start"))?;
    Ok((
        LogQueue(shared.clone()),
        LogGuard {
            shared,
            worker: Some(worker),
        },
    ))
}

fn run<W: Write>(shared: &Shared, mut out: W) {
    let mut batch = Vec::new();
    loop {
        // Woken by the first line into an empty buffer, or by the guard. A wake-up is not a
        // count: two can merge into one, and one can be spent elsewhere on this thread (the
        // channel that handed over `shared` parks it too), so the worker looks for lines
        // before it waits. A line that lands after the look still finds the buffer empty and
        // wakes it.
        while shared.lines().is_empty() && !shared.closing.load(Ordering::Acquire) {
            std::thread::park();
        }
        let closing = shared.closing.load(Ordering::Acquire);
        if !closing {
            std::thread::sleep(BATCH);
        }
        std::mem::swap(&mut *shared.lines(), &mut batch);
        // A failed write (stderr closed) loses the batch; there is nowhere to report it.
        let _ = out.write_all(&batch);
        batch.clear();
        let dropped = shared.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            let _ = writeln!(
                out,
                "wxrun: {dropped} log lines dropped: the log queue was full"
            );
        }
        let _ = out.flush();
        if closing {
            return;
        }
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.shared.closing.store(true, Ordering::Release);
        self.shared.worker.unpark();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

/// One event's writer: tracing's fmt layer formats a whole line and writes it at once.
pub struct Line<'a>(&'a Shared);

impl Write for Line<'_> {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        let mut lines = self.0.lines();
        if lines.len() + line.len() > CAPACITY {
            self.0.dropped.fetch_add(1, Ordering::Relaxed);
        } else {
            let was_empty = lines.is_empty();
            lines.extend_from_slice(line);
            drop(lines);
            if was_empty {
                self.0.worker.unpark();
            }
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogQueue {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        Line(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer the test reads back, counting the writes it is given.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<(Vec<u8>, usize)>>);

    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            let mut s = self.0.lock().unwrap();
            s.0.extend_from_slice(b);
            s.1 += 1;
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_from_many_threads_arrive_whole_in_few_writes_and_all_by_the_guard() {
        let sink = Sink::default();
        let (queue, guard) = start(sink.clone()).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let q = queue.clone();
                std::thread::spawn(move || {
                    for i in 0..1000 {
                        q.make_writer()
                            .write_all(format!("thread {t} line {i}\n").as_bytes())
                            .unwrap();
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        drop(guard);
        let (bytes, writes) = sink.0.lock().unwrap().clone();
        let text = String::from_utf8(bytes).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4000);
        for t in 0..4 {
            let mine: Vec<&str> = lines
                .iter()
                .copied()
                .filter(|l| l.starts_with(&format!("thread {t} ")))
                .collect();
            let want: Vec<String> = (0..1000).map(|i| format!("thread {t} line {i}")).collect();
            assert_eq!(mine, want, "thread {t}'s lines, whole and in order");
        }
        // Batched: far fewer writes than lines (one per batch, not one per line).
        assert!(writes < 400, "{writes} writes for 4000 lines");
    }

    /// What the sink holds once the worker has written something (at most 10 s away).
    fn written(sink: &Sink) -> Vec<u8> {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while sink.0.lock().unwrap().0.is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "the line was never written"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        sink.0.lock().unwrap().0.clone()
    }

    #[test]
    fn a_line_is_written_within_a_batch_without_the_guard() {
        let sink = Sink::default();
        let (queue, _guard) = start(sink.clone()).unwrap();
        queue.make_writer().write_all(b"listening\n").unwrap();
        assert_eq!(written(&sink), b"listening\n");
    }

    #[test]
    fn lines_queued_before_the_worker_waits_are_written_without_a_wake_up() {
        // The race this covers: the channel's wake-up and the first line's merge into one,
        // which the channel spends, and the worker parks with a line waiting. Here no line
        // wakes it at all: its wake-ups go to this thread.
        let sink = Sink::default();
        let shared = Arc::new(Shared {
            lines: Mutex::new(b"listening\n".to_vec()),
            dropped: AtomicU64::new(0),
            closing: AtomicBool::new(false),
            worker: std::thread::current(),
        });
        let worker = {
            let (shared, sink) = (shared.clone(), sink.clone());
            std::thread::spawn(move || run(&shared, sink))
        };
        assert_eq!(written(&sink), b"listening\n");
        shared.closing.store(true, Ordering::Release);
        worker.thread().unpark();
        worker.join().unwrap();
    }

    #[test]
    fn lines_past_the_capacity_are_dropped_and_counted() {
        let sink = Sink::default();
        let (queue, guard) = start(sink.clone()).unwrap();
        // Holding the buffer's lock keeps the worker from taking the lines while they pile
        // up; a line is written under the same lock, so fill it directly.
        {
            let mut lines = queue.0.lines();
            lines.resize(CAPACITY - 3, b'x');
        }
        let mut w = queue.make_writer();
        w.write_all(b"ok\n").unwrap();
        w.write_all(b"lost\n").unwrap();
        w.write_all(b"lost too\n").unwrap();
        drop(guard);
        let text = String::from_utf8(sink.0.lock().unwrap().0.clone()).unwrap();
        assert!(text.ends_with("ok\nwxrun: 2 log lines dropped: the log queue was full\n"));
        assert!(!text.contains("lost"));
    }
}
