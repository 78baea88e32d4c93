//! Cutting off clients that stop reading.
//!
//! A response is only written as fast as the client reads it: once the socket's buffers are
//! full, writes wait. [`StallGuard`] wraps every accepted connection and fails a write that
//! has waited longer than `server.write_stall_timeout_secs`; the connection is then closed, so
//! the server keeps nothing for that client. A streamed answer it was the only listener of is
//! then treated like any other left answer: after `chat.reattach_grace_ms` it is cancelled in
//! Ollama and stored `interrupted`.

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    time::{Instant, Sleep},
};

/// Accepts connections like [`TcpListener`], each wrapped in a [`StallGuard`].
pub struct StallGuardListener {
    inner: TcpListener,
    limit: Duration,
}

impl StallGuardListener {
    pub fn new(inner: TcpListener, limit: Duration) -> StallGuardListener {
        StallGuardListener { inner, limit }
    }
}

impl axum::serve::Listener for StallGuardListener {
    type Io = StallGuard<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = axum::serve::Listener::accept(&mut self.inner).await;
        (StallGuard::new(io, self.limit), addr)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// A connection whose writes may not wait longer than `limit`.
pub struct StallGuard<T> {
    inner: T,
    limit: Duration,
    /// Armed while a write waits; created on the first wait, reused after.
    deadline: Option<Pin<Box<Sleep>>>,
    waiting: bool,
}

impl<T> StallGuard<T> {
    pub fn new(inner: T, limit: Duration) -> StallGuard<T> {
        StallGuard {
            inner,
            limit,
            deadline: None,
            waiting: false,
        }
    }

    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// Passes a write's outcome on; a write still waiting after `limit` becomes an error.
    fn watch<R>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        if poll.is_ready() {
            self.waiting = false;
            return poll;
        }
        let limit = self.limit;
        let deadline = self
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        if !self.waiting {
            self.waiting = true;
            deadline.as_mut().reset(Instant::now() + limit);
        }
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for StallGuard<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for StallGuard<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.watch(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.watch(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn a_write_that_waits_too_long_fails_and_one_that_proceeds_does_not() {
        let (client, server) = tokio::io::duplex(64);
        let mut guarded = StallGuard::new(server, Duration::from_secs(5));
        let mut client = client;
        // The reader keeps up: writes of far more than the buffer go through.
        let reader = tokio::spawn(async move {
            let mut buf = vec![0u8; 1000];
            client.read_exact(&mut buf).await.unwrap();
            client // then stops reading, and keeps the connection open
        });
        guarded.write_all(&[1u8; 1000]).await.unwrap();
        let _client = reader.await.unwrap();
        let err = guarded.write_all(&[2u8; 1000]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }
}
