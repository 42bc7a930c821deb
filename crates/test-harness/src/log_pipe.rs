//! A host's log, read from its stderr pipe by a thread of its own, with a
//! barrier instead of a guess: [`LogPipe::lines`] returns once every byte
//! the host has written so far has been read and split into lines. The host
//! writes a request's log lines before its response, so a test that has its
//! response and then asks for the lines sees them all, without the fixed
//! sleep that stood here before (200 ms a call).
//!
//! The barrier: the pipe holds no unread bytes (`FIONREAD`), and the reader
//! thread is blocked in `read` and stays so, with no read finished between
//! two looks. A reader blocked on an empty pipe has pushed every line it read.

use std::io::{BufRead, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::process::ChildStderr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where the reader thread is, for the barrier.
#[derive(Default)]
struct ReaderState {
    /// Inside `read` (blocked there when the pipe is empty).
    in_read: AtomicBool,
    /// Reads that have returned.
    reads: AtomicU64,
    /// The pipe reached its end: the host has exited, everything is read.
    ended: AtomicBool,
}

/// `R`, telling `state` when a read starts and ends.
struct Tracked<R> {
    inner: R,
    state: Arc<ReaderState>,
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.state.in_read.store(true, Ordering::SeqCst);
        let read = self.inner.read(buf);
        self.state.in_read.store(false, Ordering::SeqCst);
        self.state.reads.fetch_add(1, Ordering::SeqCst);
        read
    }
}

pub struct LogPipe {
    lines: Arc<Mutex<Vec<String>>>,
    state: Arc<ReaderState>,
    fd: RawFd,
}

/// The longest [`LogPipe::lines`] waits for the reader to catch up.
const CATCH_UP_LIMIT: Duration = Duration::from_secs(5);
/// How long the reader must stay blocked on an empty pipe to count as idle:
/// far longer than it takes to push the lines of a read that just returned.
const SETTLE: Duration = Duration::from_millis(5);

impl LogPipe {
    /// Reads `stderr` until it ends; lines containing `signal` are also sent
    /// to `signals` (the host's `"listening"` line, which start-up waits for).
    pub fn read(stderr: ChildStderr, signal: &'static str, signals: Sender<String>) -> LogPipe {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let state = Arc::new(ReaderState::default());
        let fd = stderr.as_raw_fd();
        let (sink, reader_state) = (lines.clone(), state.clone());
        std::thread::spawn(move || {
            let tracked = Tracked {
                inner: stderr,
                state: reader_state.clone(),
            };
            for line in std::io::BufReader::new(tracked).lines().map_while(Result::ok) {
                if line.contains(signal) {
                    let _ = signals.send(line.clone());
                }
                sink.lock().unwrap().push(line);
            }
            reader_state.ended.store(true, Ordering::SeqCst);
        });
        LogPipe { lines, state, fd }
    }

    /// Every line so far, once the reader has caught up with the pipe.
    pub fn lines(&self) -> Vec<String> {
        self.catch_up();
        self.lines.lock().unwrap().clone()
    }

    /// Every line so far, without waiting (for a start-up failure's message).
    pub fn lines_now(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    fn catch_up(&self) {
        let give_up = Instant::now() + CATCH_UP_LIMIT;
        while Instant::now() < give_up {
            if self.state.ended.load(Ordering::SeqCst) {
                return;
            }
            let reads = self.state.reads.load(Ordering::SeqCst);
            if self.state.in_read.load(Ordering::SeqCst) && self.unread_bytes() == Some(0) {
                std::thread::sleep(SETTLE);
                if self.state.in_read.load(Ordering::SeqCst) && self.state.reads.load(Ordering::SeqCst) == reads {
                    return;
                }
            } else {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }

    /// Bytes in the pipe not yet read, or `None` once it is closed.
    fn unread_bytes(&self) -> Option<usize> {
        if self.state.ended.load(Ordering::SeqCst) {
            return None;
        }
        let mut unread: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int through the pointer; the fd is the
        // pipe's read end, open until the reader thread ends (checked above;
        // a race with the end at worst reads another fd's count, and the
        // reader's own state then ends the wait).
        let status = unsafe { libc::ioctl(self.fd, libc::FIONREAD, &mut unread) };
        (status == 0).then_some(unread.max(0) as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::LogPipe;
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    /// A writer that says on stdout when it has written its log, as the host
    /// answers a request after logging it: the lines are all there then.
    #[test]
    fn lines_holds_everything_written_before_the_answer() {
        // In bursts as large as the pipe holds: the last one is still in the
        // pipe when the answer comes.
        const LINES: usize = 200_000;
        let mut child = Command::new("sh")
            .args(["-c", &format!("seq 1 {LINES} >&2; echo written; sleep 30")])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sh runs");
        let (tx, _rx) = std::sync::mpsc::channel();
        let log = LogPipe::read(child.stderr.take().unwrap(), "never", tx);
        let mut answer = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut answer)
            .unwrap();
        assert_eq!(answer.trim(), "written");
        let lines = log.lines();
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(lines.len(), LINES, "every line written before the answer");
        assert_eq!(lines.last().map(String::as_str), Some(&*LINES.to_string()));
    }
}
