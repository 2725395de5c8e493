//! [`Guarded`], the stream a stage's lesson code reads and writes under the
//! accept loop's limits, and [`Marks`], the handle that ends a message the
//! server does not answer. Kept apart from the loop itself: this is the
//! part that runs on every `read()` and `write()`, where the message clocks
//! and the rate bucket live.

use super::*;

/// The handle a stage's glue uses to say "this message is complete" where
/// the server writes no answer to it.
#[derive(Clone)]
pub struct Marks {
    state: Arc<ConnState>,
    registry: Arc<Registry>,
}

impl Marks {
    /// The message the server was reading is complete: its clock stops, and
    /// the next one starts at its first byte.
    pub fn message_done(&self) {
        self.state
            .fresh_ns
            .store(self.registry.now_ns(), Ordering::SeqCst);
        self.state.generation.fetch_add(1, Ordering::SeqCst);
    }
}

impl fmt::Debug for Marks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Marks")
            .field("peer", &self.state.peer)
            .finish()
    }
}

/// A connection's stream under the limits: reads and writes pass through to
/// the socket, with its timeouts set from the current message's clock.
///
/// A limit that runs out ends the read or write with an
/// [`io::ErrorKind::TimedOut`] error whose text names the client's fault and
/// the flag; the stage's own error path then logs it and closes.
pub struct Guarded {
    stream: TcpStream,
    limits: Limits,
    registry: Arc<Registry>,
    pub(super) state: Arc<ConnState>,
    seen_generation: u64,
    /// Time spent waiting for the first byte of the next message.
    idle_waited: Duration,
    /// Bytes of the current message, time spent waiting for them, and the
    /// waiting still banked (the bucket: filled by bytes, drained by waiting).
    msg_bytes: u64,
    msg_waited: Duration,
    credit: Duration,
    /// The same for the reply being written since the last read.
    out_bytes: u64,
    out_waited: Duration,
    out_credit: Duration,
}

impl Guarded {
    /// A newly accepted connection's stream, its clocks at zero and its
    /// banks full.
    pub(super) fn new(
        stream: TcpStream,
        limits: Limits,
        registry: Arc<Registry>,
        state: Arc<ConnState>,
    ) -> Self {
        Self {
            stream,
            limits,
            registry,
            state,
            seen_generation: 0,
            idle_waited: Duration::ZERO,
            msg_bytes: 0,
            msg_waited: Duration::ZERO,
            credit: limits.message_timeout,
            out_bytes: 0,
            out_waited: Duration::ZERO,
            out_credit: limits.message_timeout,
        }
    }
}

impl fmt::Debug for Guarded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guarded")
            .field("peer", &self.state.peer)
            .field("msg_bytes", &self.msg_bytes)
            .finish()
    }
}

impl Guarded {
    /// The client's address.
    pub fn peer(&self) -> SocketAddr {
        self.state.peer
    }

    /// The handle that marks message boundaries the server does not answer.
    pub fn marks(&self) -> Marks {
        Marks {
            state: Arc::clone(&self.state),
            registry: Arc::clone(&self.registry),
        }
    }

    /// The socket underneath (to set `TCP_NODELAY`, say). Its timeouts are
    /// the wrapper's to set.
    pub fn get_ref(&self) -> &TcpStream {
        &self.stream
    }

    fn sync(&mut self) {
        let generation = self.state.generation.load(Ordering::SeqCst);
        if generation != self.seen_generation {
            self.seen_generation = generation;
            self.idle_waited = Duration::ZERO;
            self.msg_bytes = 0;
            self.msg_waited = Duration::ZERO;
            self.credit = self.limits.message_timeout;
        }
    }

    fn boundary(&mut self) {
        self.marks().message_done();
        self.sync();
    }

    fn evicted(&self) -> Option<io::Error> {
        self.state
            .dropped()
            .map(|reason| io::Error::new(io::ErrorKind::ConnectionAborted, reason))
    }

    fn limit_error(&self, text: String) -> io::Error {
        *self
            .state
            .dropped
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(text.clone());
        io::Error::new(io::ErrorKind::TimedOut, text)
    }

    fn idle_error(&self) -> io::Error {
        self.limit_error(format!(
            "dropped: no message started for {} (--idle-timeout-secs {})",
            seconds(self.limits.idle_timeout),
            self.limits.idle_timeout.as_secs_f64()
        ))
    }

    fn message_error(&self) -> io::Error {
        self.limit_error(format!(
            "dropped: {} byte(s) of a message arrived in {} of waiting, too slowly (a \
             message may keep the server waiting --message-timeout-ms {}, and each \
             --min-rate {} bytes buy 1 s more)",
            self.msg_bytes,
            seconds(self.msg_waited),
            self.limits.message_timeout.as_millis(),
            self.limits.min_rate
        ))
    }

    fn write_error(&self) -> io::Error {
        self.limit_error(format!(
            "dropped: the client took only {} byte(s) of the reply in {} of waiting (a \
             reply may wait --message-timeout-ms {} for the client, and each --min-rate {} \
             bytes it takes buy 1 s more)",
            self.out_bytes,
            seconds(self.out_waited),
            self.limits.message_timeout.as_millis(),
            self.limits.min_rate
        ))
    }
}

impl Read for Guarded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.sync();
        // A new read means the reply before it is out: its clock restarts.
        self.out_bytes = 0;
        self.out_waited = Duration::ZERO;
        self.out_credit = self.limits.message_timeout;
        loop {
            if let Some(e) = self.evicted() {
                return Err(e);
            }
            let in_message = self.msg_bytes > 0;
            let left = if in_message {
                self.credit
            } else {
                self.limits.idle_timeout.saturating_sub(self.idle_waited)
            };
            if left.is_zero() {
                return Err(if in_message {
                    self.message_error()
                } else {
                    self.idle_error()
                });
            }
            // Zero means "no timeout" to the socket API; never ask for that.
            self.stream
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
            self.state.activity.store(WAITING, Ordering::SeqCst);
            let started = Instant::now();
            let result = self.stream.read(buf);
            let spent = started.elapsed();
            self.state.activity.store(WORKING, Ordering::SeqCst);
            if in_message {
                self.msg_waited += spent;
                self.credit = self.credit.saturating_sub(spent);
            } else {
                self.idle_waited += spent;
            }
            match result {
                Ok(0) => return self.evicted().map_or(Ok(0), Err),
                Ok(n) => {
                    self.msg_bytes += n as u64;
                    self.credit = (self.credit + self.limits.earned(n as u64))
                        .min(self.limits.message_timeout);
                    // Publish how stale this connection is for the accept
                    // loop: as if it had been waiting since its bank was full.
                    let behind = self.limits.message_timeout - self.credit;
                    let now = self.registry.now_ns();
                    let behind = u64::try_from(behind.as_nanos()).unwrap_or(u64::MAX);
                    self.state
                        .fresh_ns
                        .store(now.saturating_sub(behind), Ordering::SeqCst);
                    return Ok(n);
                }
                Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.evicted().unwrap_or(e)),
            }
        }
    }
}

impl Guarded {
    /// One write to the socket, by `write`, under the connection's write
    /// credit: the bookkeeping of [`Write::write`] and [`Write::write_vectored`].
    fn guarded_write(
        &mut self,
        mut write: impl FnMut(&mut TcpStream) -> io::Result<usize>,
    ) -> io::Result<usize> {
        // A server that writes is answering: what it was reading is complete.
        if self.msg_bytes > 0 || self.idle_waited > Duration::ZERO {
            self.boundary();
        }
        loop {
            if let Some(e) = self.evicted() {
                return Err(e);
            }
            let left = self.out_credit;
            if left.is_zero() {
                return Err(self.write_error());
            }
            self.stream
                .set_write_timeout(Some(left.max(Duration::from_millis(1))))?;
            self.state.activity.store(WAITING, Ordering::SeqCst);
            let started = Instant::now();
            let result = write(&mut self.stream);
            let spent = started.elapsed();
            self.out_waited += spent;
            self.out_credit = self.out_credit.saturating_sub(spent);
            self.state.activity.store(WORKING, Ordering::SeqCst);
            match result {
                Ok(n) => {
                    self.out_bytes += n as u64;
                    self.out_credit = (self.out_credit + self.limits.earned(n as u64))
                        .min(self.limits.message_timeout);
                    return Ok(n);
                }
                Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.evicted().unwrap_or(e)),
            }
        }
    }
}

impl Write for Guarded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.guarded_write(|stream| stream.write(buf))
    }

    /// Passed on whole: stage 4 hands header and body to the kernel in one
    /// `writev`, and the default `write_vectored` would write only the
    /// header, leaving the body to a second write that Nagle's algorithm
    /// holds back until the header is acknowledged (40 ms a reply on Linux).
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.guarded_write(|stream| stream.write_vectored(bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}
