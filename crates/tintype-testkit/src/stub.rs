//! A tiny HTTP/1.1 server for tests of outbound requests: each path answers with a [`Reply`] chosen
//! by the test (an image, a redirect, an endless body, a server that never answers). Raw tokio, so
//! it behaves exactly as told — including badly.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the server answers for one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A status with an empty body.
    Status(u16),
    /// `302 Found` to the location.
    Redirect(String),
    /// `200 OK` with the body and content type.
    Body(&'static str, Vec<u8>),
    /// `200 OK` streaming this many zero bytes without a `Content-Length`.
    Endless(u64),
    /// Headers sent, then the body trickles forever.
    Trickle,
    /// Accepts the connection and never answers.
    Hang,
}

/// A running stub server; stops when dropped.
pub struct StubServer {
    /// The bound port on 127.0.0.1.
    pub port: u16,
    requests: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl StubServer {
    /// Starts a server answering each request path with `route(path)`.
    pub async fn start(route: impl Fn(&str) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind stub");
        let port = listener.local_addr().expect("stub addr").port();
        let route = Arc::new(route);
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let route = Arc::clone(&route);
                let seen = Arc::clone(&seen);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 8192];
                    let mut read = 0;
                    while read < buf.len() {
                        match socket.read(&mut buf[read..]).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => read += n,
                        }
                        if buf[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                            break;
                        }
                    }
                    let head = String::from_utf8_lossy(&buf[..read]).into_owned();
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    seen.lock().unwrap().push(head);
                    let _ = answer(&mut socket, route(&path)).await;
                });
            }
        });
        Self {
            port,
            requests,
            task,
        }
    }

    /// The request heads received so far (request line and headers), oldest first.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    /// `http://127.0.0.1:{port}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for StubServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(socket: &mut tokio::net::TcpStream, reply: Reply) -> std::io::Result<()> {
    match reply {
        Reply::Status(code) => {
            socket
                .write_all(
                    format!("HTTP/1.1 {code} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                        .as_bytes(),
                )
                .await
        }
        Reply::Redirect(location) => {
            socket
                .write_all(
                    format!(
                        "HTTP/1.1 302 Found\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    )
                    .as_bytes(),
                )
                .await
        }
        Reply::Body(content_type, body) => {
            socket
                .write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    )
                    .as_bytes(),
                )
                .await?;
            socket.write_all(&body).await
        }
        Reply::Endless(total) => {
            socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: image/jpeg\r\nconnection: close\r\n\r\n")
                .await?;
            let chunk = vec![0u8; 64 * 1024];
            let mut sent = 0u64;
            while sent < total {
                socket.write_all(&chunk).await?;
                sent += chunk.len() as u64;
            }
            Ok(())
        }
        Reply::Trickle => {
            socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: image/png\r\nconnection: close\r\n\r\n")
                .await?;
            loop {
                socket.write_all(b"\x89").await?;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        }
    }
}
