//! The async accept loop's tests, over real loopback connections: the
//! same limits as the threaded loop's, met by the same misbehaving clients.

use super::*;
use std::io::{Read, Write};
use std::sync::mpsc;
use tokio::io::AsyncReadExt;

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

/// Starts `acceptor` on 127.0.0.1:0 on a runtime thread of its own, with
/// `handler` per connection.
fn start<H, F>(acceptor: AsyncAcceptor, handler: H) -> SocketAddr
where
    H: Fn(Guarded) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            listener.set_nonblocking(true).unwrap();
            let listener = TcpListener::from_std(listener).unwrap();
            acceptor.serve(listener, handler).await
        })
    });
    addr
}

/// A handler that reads until the stream ends or fails and reports how.
fn reader(
    ends: mpsc::Sender<io::Result<u64>>,
) -> impl Fn(Guarded) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync {
    let ends = Mutex::new(ends);
    move |mut stream| {
        let ends = ends.lock().unwrap().clone();
        Box::pin(async move {
            let mut total = 0u64;
            let mut buf = [0u8; 4096];
            let outcome = loop {
                match stream.read(&mut buf).await {
                    Ok(0) => break Ok(total),
                    Ok(n) => total += n as u64,
                    Err(e) => break Err(e),
                }
            };
            let _ = ends.send(outcome);
        })
    }
}

fn connect(addr: SocketAddr) -> std::net::TcpStream {
    let s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s
}

fn wait_open(gauge: &Gauge, n: usize) {
    let deadline = std::time::Instant::now() + PATIENCE;
    while gauge.open() != n {
        assert!(
            std::time::Instant::now() < deadline,
            "{} open",
            gauge.open()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A full server drops the connection that has waited longest, and says whom and why in common's words.
#[test]
fn full_server_drops_the_longest_waiting() {
    let (log_tx, log) = mpsc::channel::<String>();
    let log_tx = Mutex::new(log_tx);
    let acceptor = AsyncAcceptor::new(small()).log_with(move |line| {
        let _ = log_tx.lock().unwrap().send(line.to_string());
    });
    let gauge = acceptor.gauge();
    let (ends_tx, ends) = mpsc::channel();
    let addr = start(acceptor, reader(ends_tx));
    let oldest = connect(addr);
    wait_open(&gauge, 1);
    let _b = connect(addr);
    let _c = connect(addr);
    wait_open(&gauge, 3);
    let _newcomer = connect(addr);
    let line = log.recv_timeout(PATIENCE).unwrap();
    let port = oldest.local_addr().unwrap().port();
    assert!(
        line.starts_with(&format!("127.0.0.1:{port}: dropped to make room")),
        "{line}"
    );
    assert!(line.contains("--max-per-address 3"), "{line}");
    let err = ends.recv_timeout(PATIENCE).unwrap().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionAborted);
    assert!(err.to_string().contains("server full"), "{err}");
    wait_open(&gauge, 3);
}

/// One byte every 50 ms never completes a message: dropped at the message deadline.
#[test]
fn drip_is_dropped_at_the_message_deadline() {
    let (ends_tx, ends) = mpsc::channel();
    let addr = start(AsyncAcceptor::new(small()).quiet(), reader(ends_tx));
    let mut drip = connect(addr);
    let started = std::time::Instant::now();
    let mut sent = 0;
    while drip.write_all(b"x").is_ok() && started.elapsed() < PATIENCE && sent < 100 {
        sent += 1;
        std::thread::sleep(Duration::from_millis(50));
        if let Ok(end) = ends.try_recv() {
            let err = end.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::TimedOut);
            assert!(
                err.to_string().contains("--message-timeout-ms 300"),
                "{err}"
            );
            return;
        }
    }
    panic!("the drip was never cut off ({sent} bytes sent)");
}

/// A message at twice the minimum rate gets more time than the deadline.
#[test]
fn minimum_rate_extends_the_deadline() {
    let limits = Limits {
        min_rate: 1000,
        ..small()
    };
    let (ends_tx, ends) = mpsc::channel();
    let addr = start(AsyncAcceptor::new(limits).quiet(), reader(ends_tx));
    let mut s = connect(addr);
    // 100 bytes every 50 ms is 2000 B/s for 1 s: three times the deadline.
    for _ in 0..20 {
        s.write_all(&[9u8; 100]).unwrap();
        std::thread::sleep(Duration::from_millis(50));
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
    let (ends_tx, ends) = mpsc::channel();
    let addr = start(AsyncAcceptor::new(limits).quiet(), reader(ends_tx));
    let _s = connect(addr);
    let err = ends.recv_timeout(PATIENCE).unwrap().unwrap_err();
    assert!(err.to_string().contains("--idle-timeout-secs 0.2"), "{err}");
}

/// When every connection is busy being served, the newcomer is refused in words it can show.
#[test]
fn busy_server_refuses_in_words() {
    let limits = Limits {
        max_connections: 1,
        ..small()
    };
    let (release_tx, release_rx) = tokio::sync::watch::channel(false);
    let addr = start(AsyncAcceptor::new(limits).quiet(), move |mut stream| {
        let mut release = release_rx.clone();
        async move {
            let mut byte = [0u8; 1];
            let _ = stream.read(&mut byte).await;
            let _ = stream.write_all(b"k").await;
            // Working, not waiting for the client: not one to drop.
            let _ = tokio::time::timeout(PATIENCE, release.wait_for(|r| *r)).await;
        }
    });
    let mut busy = connect(addr);
    busy.write_all(b"x").unwrap();
    let mut ack = [0u8; 1];
    busy.read_exact(&mut ack).unwrap();
    let mut newcomer = connect(addr);
    let mut text = String::new();
    let _ = newcomer.read_to_string(&mut text);
    assert!(text.starts_with("[server: busy:"), "{text:?}");
    assert!(text.contains("--max-connections 1"), "{text:?}");
    let _ = release_tx.send(true);
}

/// A client that never reads its reply is dropped once the reply has waited past its allowance.
#[test]
fn a_client_that_never_reads_is_dropped() {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let addr = start(AsyncAcceptor::new(small()).quiet(), move |mut stream| {
        let tx = tx.lock().unwrap().clone();
        async move {
            let chunk = vec![0u8; 1 << 20];
            let mut outcome = Ok(());
            for _ in 0..256 {
                if let Err(e) = stream.write_all(&chunk).await {
                    outcome = Err(e);
                    break;
                }
            }
            let _ = tx.send(outcome);
        }
    });
    let _never_reads = connect(addr);
    let err = rx.recv_timeout(PATIENCE).unwrap().unwrap_err();
    assert!(err.to_string().contains("took only"), "{err}");
}
