//! Starting a server on `127.0.0.1:0` for a demo or a test.
//!
//! The order matters: bind first, read back the port the kernel chose, and only
//! then start the thread that accepts. A client started after this function
//! returns can always connect, because the listening socket already exists;
//! nothing ever sleeps "to give the server time to start".

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::thread::{self, JoinHandle};

/// Binds a TCP listener on `127.0.0.1` with a port chosen by the kernel.
pub fn bind_loopback_tcp() -> io::Result<TcpListener> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
}

/// Binds a UDP socket on `127.0.0.1` with a port chosen by the kernel.
pub fn bind_loopback_udp() -> io::Result<UdpSocket> {
    UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
}

/// A server thread already listening on a loopback address.
pub struct LoopbackServer<T = ()> {
    addr: SocketAddr,
    handle: JoinHandle<io::Result<T>>,
}

impl<T> LoopbackServer<T> {
    /// The address the server listens on (`127.0.0.1:<ephemeral port>`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits for the server thread to finish and returns what it returned.
    /// A panic in the server thread becomes an error, not a second panic.
    pub fn join(self) -> io::Result<T> {
        match self.handle.join() {
            Ok(result) => result,
            Err(_) => Err(io::Error::other("the server thread panicked")),
        }
    }
}

/// Binds `127.0.0.1:0`, then runs `serve` with the bound listener on a new
/// thread. The returned address is ready for clients as soon as this returns.
pub fn spawn_loopback<T, F>(serve: F) -> io::Result<LoopbackServer<T>>
where
    F: FnOnce(TcpListener) -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let listener = bind_loopback_tcp()?;
    let addr = listener.local_addr()?;
    let handle = thread::Builder::new()
        .name(format!("server {addr}"))
        .spawn(move || serve(listener))?;
    Ok(LoopbackServer { addr, handle })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    /// A client connecting right after `spawn_loopback` returns is served: no race, no sleep.
    #[test]
    fn client_connects_without_waiting() {
        let server = spawn_loopback(|listener| {
            let (mut conn, _) = listener.accept()?;
            let mut buf = [0u8; 4];
            conn.read_exact(&mut buf)?;
            conn.write_all(&buf)?;
            Ok(buf)
        })
        .unwrap();
        assert!(server.addr().ip().is_loopback());
        assert_ne!(server.addr().port(), 0);
        let mut client = TcpStream::connect(server.addr()).unwrap();
        client.write_all(b"ping").unwrap();
        let mut back = [0u8; 4];
        client.read_exact(&mut back).unwrap();
        assert_eq!(&back, b"ping");
        assert_eq!(&server.join().unwrap(), b"ping");
    }
}
