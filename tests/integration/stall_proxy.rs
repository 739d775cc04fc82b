//! A loopback TCP proxy that forwards raw bytes (TLS passes through untouched) and, on command,
//! holds every connection, new and existing: nothing is forwarded any more, no socket is closed,
//! so a client sees requests that are never answered. Dropping it closes everything.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often a blocked thread looks whether the proxy was stalled or stopped.
const TICK: Duration = Duration::from_millis(20);

pub struct StallProxy {
    pub addr: SocketAddr,
    held: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    threads: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl StallProxy {
    /// Listens on 127.0.0.1 (a free port) and forwards each connection to `upstream`.
    pub fn start(upstream: SocketAddr) -> StallProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let held = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let threads = Arc::new(Mutex::new(Vec::new()));
        let accept = {
            let (held, stop, threads) = (held.clone(), stop.clone(), threads.clone());
            std::thread::spawn(move || accept_loop(listener, upstream, &held, &stop, &threads))
        };
        threads.lock().unwrap().push(accept);
        StallProxy { addr, held, stop, threads }
    }

    /// From now on nothing passes in either direction; sockets stay open (until the drop).
    pub fn hold(&self) {
        self.held.store(true, Ordering::SeqCst);
    }
}

impl Drop for StallProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // every thread wakes within a tick; the accept loop adds no thread after it saw `stop`
        loop {
            let next = self.threads.lock().unwrap().pop();
            match next {
                Some(t) => {
                    let _ = t.join();
                }
                None => break,
            }
        }
    }
}

fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    held: &Arc<AtomicBool>,
    stop: &Arc<AtomicBool>,
    threads: &Mutex<Vec<JoinHandle<()>>>,
) {
    // connections accepted while held: kept open, never connected upstream
    let mut parked = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let client = match listener.accept() {
            Ok((c, _)) => c,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(TICK);
                continue;
            }
            Err(e) => panic!("the stall proxy cannot accept: {e}"),
        };
        client.set_nonblocking(false).unwrap();
        if held.load(Ordering::SeqCst) {
            parked.push(client);
            continue;
        }
        let Ok(server) = TcpStream::connect_timeout(&upstream, Duration::from_secs(5)) else {
            continue; // the client sees its connection closed, as without a proxy
        };
        for (from, to) in [(&client, &server), (&server, &client)] {
            let (from, to) = (from.try_clone().unwrap(), to.try_clone().unwrap());
            let (held, stop) = (held.clone(), stop.clone());
            threads.lock().unwrap().push(std::thread::spawn(move || pump(from, to, &held, &stop)));
        }
    }
    drop(parked);
}

/// Copies `from` to `to` until either closes; once held, keeps both open and forwards nothing
/// (bytes read but not yet written are held too).
fn pump(mut from: TcpStream, mut to: TcpStream, held: &AtomicBool, stop: &AtomicBool) {
    from.set_read_timeout(Some(TICK)).unwrap();
    // a peer that stops reading cannot block this thread (and the drop) for ever
    to.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        while held.load(Ordering::SeqCst) && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(TICK);
        }
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(_) => break,
        };
        while held.load(Ordering::SeqCst) && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(TICK);
        }
        if stop.load(Ordering::SeqCst) || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
