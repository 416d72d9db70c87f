//! The benchmark's HTTP client: plain HTTP/1.1 over a socket, once per
//! request or on a kept-alive connection as a browser holds one. (The demo's
//! health check uses it too.)

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

/// One HTTP/1.1 request on a fresh connection: (status, headers+body).
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    cookie: &str,
    body: &str,
) -> std::io::Result<(u16, String)> {
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nCookie: {cookie}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes())?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, out))
}

/// A client on one kept-alive connection, as a browser holds one: reconnects
/// when the server closes it.
pub struct Client {
    addr: SocketAddr,
    conn: Option<std::io::BufReader<std::net::TcpStream>>,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Client {
        Client { addr, conn: None }
    }

    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        cookie: &str,
        body: &str,
    ) -> std::io::Result<u16> {
        use std::io::BufRead;
        if self.conn.is_none() {
            let s = std::net::TcpStream::connect(self.addr)?;
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(Duration::from_secs(60)))?;
            self.conn = Some(std::io::BufReader::new(s));
        }
        let result = (|| -> std::io::Result<(u16, bool)> {
            let conn = self.conn.as_mut().ok_or(std::io::ErrorKind::NotConnected)?;
            // One write, as a browser sends a request: `write!` straight
            // to the socket would send each formatted piece as a packet
            // of its own (no Nagle here), each waking the server.
            let request = format!(
                "{method} {path} HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
                self.addr,
                body.len()
            );
            conn.get_mut().write_all(request.as_bytes())?;
            let mut line = String::new();
            conn.read_line(&mut line)?;
            let status = line
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let (mut length, mut close) = (0usize, false);
            loop {
                line.clear();
                if conn.read_line(&mut line)? == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                let l = line.trim_end().to_ascii_lowercase();
                if l.is_empty() {
                    break;
                }
                if let Some(v) = l.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if l == "connection: close" {
                    close = true;
                }
            }
            let mut body = vec![0; length];
            conn.read_exact(&mut body)?;
            Ok((status, close))
        })();
        match result {
            Ok((status, close)) => {
                if close {
                    self.conn = None;
                }
                Ok(status)
            }
            Err(e) => {
                self.conn = None;
                Err(e)
            }
        }
    }
}
