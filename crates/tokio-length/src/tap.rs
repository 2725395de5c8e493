//! A watched async stream: the async twin of `common::Tap`, for the demo and
//! the story matrix. The lesson code never knows it is there: it is handed a
//! stream that behaves as the socket does, and the tap reports what passed.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

type OnBytes = Box<dyn FnMut(usize) + Send>;

/// A stream that calls back with the size of every read and every write,
/// and, after every flush that follows new writes, with the total written.
pub struct Tap<S> {
    inner: S,
    on_read: Option<OnBytes>,
    on_write: Option<OnBytes>,
    on_flush: Option<OnBytes>,
    written: usize,
    flushed: usize,
}

impl<S> Tap<S> {
    /// A tap that reports nothing yet.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            on_read: None,
            on_write: None,
            on_flush: None,
            written: 0,
            flushed: 0,
        }
    }

    /// Calls `f` with the byte count of every read (0 at the end of the stream).
    pub fn on_read(mut self, f: impl FnMut(usize) + Send + 'static) -> Self {
        self.on_read = Some(Box::new(f));
        self
    }

    /// Calls `f` with the byte count of every write.
    pub fn on_write(mut self, f: impl FnMut(usize) + Send + 'static) -> Self {
        self.on_write = Some(Box::new(f));
        self
    }

    /// Calls `f` with the total written so far after every flush that
    /// follows new writes: the moment a whole reply has left.
    pub fn on_flush(mut self, f: impl FnMut(usize) + Send + 'static) -> Self {
        self.on_flush = Some(Box::new(f));
        self
    }

    /// The stream underneath.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tap<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        if let (Poll::Ready(Ok(())), Some(f)) = (&poll, &mut this.on_read) {
            f(n);
        }
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tap<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &poll {
            this.written += n;
            if let Some(f) = &mut this.on_write {
                f(*n);
            }
        }
        poll
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_flush(cx);
        if let Poll::Ready(Ok(())) = &poll {
            if this.written != this.flushed {
                this.flushed = this.written;
                if let Some(f) = &mut this.on_flush {
                    f(this.written);
                }
            }
        }
        poll
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
