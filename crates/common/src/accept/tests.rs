//! The accept loop's tests, over real loopback connections: the limits,
//! the evictions, the deadlines and the log lines, each shown by a client
//! that misbehaves the way the limit is for.

use super::*;
use crate::server::bind_loopback_tcp;
use std::sync::mpsc;

const PATIENCE: Duration = Duration::from_secs(10);

fn small() -> Limits {
    Limits {
        max_connections: 3,
        max_per_address: 3,
        message_timeout: Duration::from_millis(300),
        min_rate: 10_000,
        idle_timeout: Duration::from_secs(10),
    }
}

/// Starts an accept loop whose handler reads until the stream ends or
/// fails and reports how it ended; log lines go to the second channel.
fn start(
    limits: Limits,
) -> (
    SocketAddr,
    Gauge,
    mpsc::Receiver<io::Result<u64>>,
    mpsc::Receiver<String>,
) {
    let listener = bind_loopback_tcp().unwrap();
    let addr = listener.local_addr().unwrap();
    let (log_tx, log_rx) = mpsc::channel();
    let log_tx = Mutex::new(log_tx);
    let acceptor = Acceptor::new(limits).log_with(move |line| {
        let _ = log_tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(line.to_string());
    });
    let gauge = acceptor.gauge();
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    thread::spawn(move || {
        acceptor.serve(listener, move |mut stream| {
            let mut total = 0u64;
            let mut buf = [0u8; 4096];
            let outcome = loop {
                match stream.read(&mut buf) {
                    Ok(0) => break Ok(total),
                    Ok(n) => total += n as u64,
                    Err(e) => break Err(e),
                }
            };
            let _ = tx
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .send(outcome);
        })
    });
    (addr, gauge, rx, log_rx)
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s
}

fn wait_open(gauge: &Gauge, n: usize) {
    let deadline = Instant::now() + PATIENCE;
    while gauge.open() != n {
        assert!(
            Instant::now() < deadline,
            "{} open, expected {n}",
            gauge.open()
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// True when the server closed (or reset) the connection.
fn closed(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 64];
    matches!(s.read(&mut buf), Ok(0)) || matches!(s.read(&mut buf), Err(ref e) if !is_timeout(e))
}

/// A full server makes room for a newcomer by dropping the connection
/// that has waited longest, and says whom and why in its log.
/// A vectored write reaches the socket as one call: header and body of
/// a stage-4 frame leave together, not as two writes that Nagle's
/// algorithm and delayed acknowledgements would stall.
#[test]
fn a_vectored_write_is_one_write() {
    let listener = bind_loopback_tcp().unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    thread::spawn(move || {
        Acceptor::new(small()).serve(listener, move |mut stream| {
            let mut request = [0u8; 1];
            let _ = stream.read_exact(&mut request);
            let bufs = [io::IoSlice::new(b"head"), io::IoSlice::new(b"body")];
            let n = stream.write_vectored(&bufs);
            let _ = tx
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .send(n.map_err(|e| e.to_string()));
        })
    });
    let mut client = connect(addr);
    client.write_all(b"?").unwrap();
    assert_eq!(rx.recv_timeout(PATIENCE).unwrap(), Ok(8));
    let mut got = [0u8; 8];
    client.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"headbody");
}

#[test]
fn full_server_drops_the_longest_waiting() {
    let (addr, gauge, _ends, log) = start(small());
    let mut oldest = connect(addr);
    wait_open(&gauge, 1);
    let _b = connect(addr);
    let _c = connect(addr);
    wait_open(&gauge, 3);
    let _newcomer = connect(addr);
    assert!(closed(&mut oldest), "the oldest silent connection was kept");
    let line = log.recv_timeout(PATIENCE).unwrap();
    let port = oldest.local_addr().unwrap().port();
    assert!(
        line.starts_with(&format!("127.0.0.1:{port}: dropped to make room")),
        "{line}"
    );
    assert!(line.contains("--max-per-address 3"), "{line}");
    assert_eq!(gauge.open(), 3);
}

/// A connection that is sending a long message at a good rate is not the
/// one dropped, however long it has been connected.
#[test]
fn a_steady_sender_is_not_dropped_for_a_silent_one() {
    let limits = Limits {
        max_connections: 2,
        max_per_address: 2,
        message_timeout: Duration::from_secs(5),
        min_rate: 1000,
        ..small()
    };
    let (addr, gauge, _ends, _log) = start(limits);
    let mut sender = connect(addr);
    wait_open(&gauge, 1);
    // 1000 bytes every 20 ms is 50 times the minimum rate.
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let mut writer = sender.try_clone().unwrap();
    let steady = thread::spawn(move || {
        while stop_rx.try_recv().is_err() {
            writer.write_all(&[1u8; 1000])?;
            thread::sleep(Duration::from_millis(20));
        }
        io::Result::Ok(())
    });
    let mut silent = connect(addr);
    wait_open(&gauge, 2);
    // Let the sender's bytes keep arriving after the silent one came.
    thread::sleep(Duration::from_millis(200));
    let _third = connect(addr);
    assert!(closed(&mut silent), "the silent connection was kept");
    stop_tx.send(()).unwrap();
    steady.join().unwrap().unwrap();
    sender.write_all(b"still here").unwrap();
    assert_eq!(gauge.open(), 2);
}

/// One byte every 50 ms never completes a message: the connection is
/// dropped at the message deadline, not kept alive by each byte.
#[test]
fn drip_is_dropped_at_the_message_deadline() {
    let (addr, _gauge, ends, _log) = start(small());
    let mut drip = connect(addr);
    let started = Instant::now();
    let mut sent = 0;
    while drip.write_all(b"x").is_ok() && started.elapsed() < PATIENCE {
        sent += 1;
        thread::sleep(Duration::from_millis(50));
        if sent > 100 {
            break;
        }
    }
    let err = ends.recv_timeout(PATIENCE).unwrap().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    let text = err.to_string();
    assert!(text.contains("--message-timeout-ms 300"), "{text}");
    assert!(sent < 100, "the drip was never cut off");
}

/// A message arriving at the minimum rate gets more time than the
/// deadline: a large file is not a slow drip.
#[test]
fn minimum_rate_extends_the_deadline() {
    let limits = Limits {
        min_rate: 1000,
        ..small()
    };
    let (addr, _gauge, ends, _log) = start(limits);
    let mut s = connect(addr);
    // 100 bytes every 50 ms is 2000 B/s, twice the minimum, for 1 s:
    // three times the 300 ms deadline.
    for _ in 0..20 {
        s.write_all(&[9u8; 100]).unwrap();
        thread::sleep(Duration::from_millis(50));
    }
    drop(s);
    assert_eq!(ends.recv_timeout(PATIENCE).unwrap().unwrap(), 2000);
}

/// A connection that never starts a message is dropped at the idle timeout.
#[test]
fn silence_is_dropped_at_the_idle_timeout() {
    let limits = Limits {
        idle_timeout: Duration::from_millis(200),
        ..small()
    };
    let (addr, gauge, ends, _log) = start(limits);
    let mut s = connect(addr);
    let err = ends.recv_timeout(PATIENCE).unwrap().unwrap_err();
    assert!(err.to_string().contains("--idle-timeout-secs 0.2"), "{err}");
    assert!(closed(&mut s));
    wait_open(&gauge, 0);
}

/// When every connection is busy being served, the newcomer is refused
/// with a line it can show, and the log says so.
#[test]
fn busy_server_refuses_in_words() {
    let listener = bind_loopback_tcp().unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = Limits {
        max_connections: 1,
        ..small()
    };
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    let (working_tx, working_rx) = mpsc::channel::<()>();
    let working_tx = Mutex::new(working_tx);
    let acceptor = Acceptor::new(limits).quiet();
    thread::spawn(move || {
        acceptor.serve(listener, move |mut stream| {
            let mut byte = [0u8; 1];
            let _ = stream.read(&mut byte);
            let _ = stream.write_all(b"k");
            // Working, not waiting for the client: not a candidate to
            // drop. The write has returned, so the loop knows it too.
            let _ = working_tx
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .send(());
            let _ = release_rx
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .recv_timeout(PATIENCE);
        })
    });
    let mut busy = connect(addr);
    busy.write_all(b"x").unwrap();
    let mut ack = [0u8; 1];
    busy.read_exact(&mut ack).unwrap();
    // The client can read the ack before the server's thread has come
    // back from its write; only then is it counted as working.
    working_rx.recv_timeout(PATIENCE).unwrap();
    let mut newcomer = connect(addr);
    let mut text = String::new();
    let _ = newcomer.read_to_string(&mut text);
    assert!(text.starts_with("[server: busy:"), "{text:?}");
    assert!(text.contains("--max-connections 1"), "{text:?}");
    let _ = release_tx.send(());
}

/// A newcomer that finds every connection busy for a moment only waits
/// for one to finish instead of being refused at once.
#[test]
fn a_moment_of_busy_is_waited_out() {
    let listener = bind_loopback_tcp().unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = Limits {
        max_connections: 1,
        ..small()
    };
    let acceptor = Acceptor::new(limits).quiet();
    thread::spawn(move || {
        acceptor.serve(listener, move |mut stream| {
            let mut byte = [0u8; 1];
            let _ = stream.read(&mut byte);
            let _ = stream.write_all(b"k");
            // Busy for a fraction of BUSY_GRACE, then the slot is free.
            thread::sleep(BUSY_GRACE / 4);
        })
    });
    let mut busy = connect(addr);
    busy.write_all(b"x").unwrap();
    let mut ack = [0u8; 1];
    busy.read_exact(&mut ack).unwrap();
    let mut newcomer = connect(addr);
    newcomer.write_all(b"y").unwrap();
    let mut answer = [0u8; 1];
    newcomer.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"k", "the newcomer was not served");
}

/// A client that never reads its replies is dropped once the reply has
/// waited past its allowance, instead of holding a thread for ever.
#[test]
fn a_client_that_never_reads_is_dropped() {
    let listener = bind_loopback_tcp().unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let acceptor = Acceptor::new(small()).quiet();
    thread::spawn(move || {
        acceptor.serve(listener, move |mut stream| {
            let chunk = vec![0u8; 1 << 20];
            let outcome = (0..256).try_for_each(|_| stream.write_all(&chunk));
            let _ = tx
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .send(outcome);
        })
    });
    let _never_reads = connect(addr);
    let err = rx.recv_timeout(PATIENCE).unwrap().unwrap_err();
    assert!(err.to_string().contains("took only"), "{err}");
}

/// Flags turn into limits; nonsense is refused with a message naming the flag.
#[test]
fn flags() {
    let args = LimitArgs {
        max_connections: 8,
        max_per_address: 4,
        message_timeout_ms: 500,
        min_rate: 100,
        idle_timeout_secs: 1.5,
    };
    let limits = args.limits().unwrap();
    assert_eq!(limits.message_timeout, Duration::from_millis(500));
    assert_eq!(limits.idle_timeout, Duration::from_millis(1500));
    assert_eq!(limits.earned(250), Duration::from_millis(2500));
    let bad = LimitArgs {
        max_connections: 0,
        ..args
    };
    assert!(bad.limits().unwrap_err().contains("--max-connections"));
}
