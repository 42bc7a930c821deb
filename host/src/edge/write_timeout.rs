//! A connection that gives up on a client that stops reading. A write that
//! makes no progress for the limit (the client's receive window and the
//! socket's send buffer are full) fails with `TimedOut`, so hyper closes the
//! connection and drops the response: what the request held (its instance,
//! its place in `http_requests_in_flight`, the body still queued) is freed,
//! instead of pinned for as long as the client likes. A client that reads,
//! however slowly, keeps its connection: the clock restarts at every write
//! that moves bytes.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// What a stalled write fails with; `edge::listener` counts it by this text.
pub const STALLED: &str = "the client stopped reading: no write progress within --client-write-timeout";

pub struct WriteTimeout<S> {
    inner: S,
    limit: Duration,
    /// Armed while a write is pending.
    stalled_since: Option<Pin<Box<Sleep>>>,
}

impl<S> WriteTimeout<S> {
    pub fn new(inner: S, limit: Duration) -> Self {
        WriteTimeout {
            inner,
            limit,
            stalled_since: None,
        }
    }

    /// Turns a pending write into a failure once it has waited the limit.
    fn pending<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let limit = self.limit;
        let timer = self
            .stalled_since
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, STALLED))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn progressed<T>(&mut self, result: Poll<io::Result<T>>, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        match result {
            Poll::Ready(done) => {
                self.stalled_since = None;
                Poll::Ready(done)
            }
            Poll::Pending => self.pending(cx),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteTimeout<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteTimeout<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.progressed(result, cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.progressed(result, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = Pin::new(&mut self.inner).poll_flush(cx);
        self.progressed(result, cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.progressed(result, cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn chunk_len() -> usize {
        16 * 1024
    }

    #[tokio::test]
    async fn a_reader_that_stops_fails_the_write_and_one_that_reads_does_not() {
        // A pipe with a 64 KiB buffer, written faster than it is read.
        let (ours, mut theirs) = tokio::io::duplex(64 * 1024);
        let mut conn = WriteTimeout::new(ours, Duration::from_millis(200));
        let chunk = vec![0u8; chunk_len()];

        // Read slowly but steadily, all that is written: every write
        // eventually moves, though the writer is often ahead.
        let reader = tokio::spawn(async move {
            let mut buf = vec![0u8; 8 * 1024];
            let mut left = 16 * chunk_len();
            while left > 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
                left -= theirs.read(&mut buf).await.unwrap();
            }
            theirs // now it stops reading, and keeps the pipe open
        });
        for _ in 0..16 {
            conn.write_all(&chunk).await.expect("a reading client is served");
        }
        let _theirs = reader.await.unwrap();
        let started = tokio::time::Instant::now();
        let mut failed = None;
        for _ in 0..64 {
            if let Err(e) = conn.write_all(&chunk).await {
                failed = Some(e);
                break;
            }
        }
        let error = failed.expect("a stalled write fails");
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert_eq!(error.to_string(), STALLED);
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
