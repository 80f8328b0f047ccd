//! The Prometheus endpoint: `GET /metrics` over plain HTTP/1.1 on its own listener.
//!
//! The `metrics` facade has one global recorder, so the first server started in a process
//! installs it and later servers in the same process share it.

use std::io;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::service::{describe_metrics, REQUEST_DURATION_SECONDS};

/// Latency buckets in seconds, from a fast rejection to a long enrolment.
const LATENCY_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// Largest request head read from a scraper; the endpoint needs only the request line.
const MAX_REQUEST_HEAD_BYTES: usize = 8 * 1024;

/// A scraper that sends nothing for this long is disconnected.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// How often histogram samples are folded into buckets between scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Returns the process-wide Prometheus recorder, installing it on first use. Returns `None`
/// when another recorder was installed first: metrics then go there and this endpoint is
/// empty.
pub fn recorder() -> Option<PrometheusHandle> {
    RECORDER
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(REQUEST_DURATION_SECONDS.to_owned()), LATENCY_BUCKETS)
                .expect("the latency buckets are not empty");
            match builder.install_recorder() {
                Ok(handle) => {
                    describe_metrics();
                    Some(handle)
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot install the Prometheus recorder; /metrics will be empty");
                    None
                }
            }
        })
        .clone()
}

/// Binds the endpoint and serves it until `shutdown` changes.
pub async fn serve(address: SocketAddr, mut shutdown: watch::Receiver<bool>) -> io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    let handle = recorder();

    let task = tokio::spawn(async move {
        let mut upkeep = tokio::time::interval(UPKEEP_INTERVAL);
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let handle = handle.clone();
                        tokio::spawn(async move {
                            if let Err(error) = respond(stream, handle.as_ref()).await {
                                tracing::debug!(%peer, %error, "metrics scrape failed");
                            }
                        });
                    }
                    Err(error) => tracing::warn!(%error, "cannot accept a metrics connection"),
                },
                _ = upkeep.tick() => {
                    if let Some(handle) = &handle {
                        handle.run_upkeep();
                    }
                }
                _ = shutdown.changed() => break,
            }
        }
    });
    Ok((bound, task))
}

async fn respond(mut stream: TcpStream, handle: Option<&PrometheusHandle>) -> io::Result<()> {
    let head = tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no request within the read timeout"))??;

    let request_line = head.lines().next().unwrap_or_default();
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());

    let (status, body) = match (method, path) {
        ("GET", "/metrics") => {
            let body = handle.map(|handle| {
                handle.run_upkeep();
                handle.render()
            });
            ("200 OK", body.unwrap_or_default())
        }
        ("GET", _) => ("404 Not Found", "not found; metrics are at /metrics\n".to_owned()),
        _ => ("405 Method Not Allowed", "only GET is supported\n".to_owned()),
    };

    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// Reads up to the blank line that ends an HTTP request head, within [`MAX_REQUEST_HEAD_BYTES`].
async fn read_head(stream: &mut TcpStream) -> io::Result<String> {
    let mut head = Vec::with_capacity(1024);
    let mut buffer = [0u8; 1024];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        if head.len() >= MAX_REQUEST_HEAD_BYTES {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "request head over 8 KiB"));
        }
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            break;
        }
        head.extend_from_slice(&buffer[..read]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}
