//! Local servers and helpers for the probe tests: everything listens on 127.0.0.1:0.

#![allow(dead_code)]

use std::net::SocketAddr;

use rustls_pki_types::CertificateDer;
use sentinel_core::monitor::{DurationInput, MonitorInput, MonitorSpec};
use sentinel_probe::{ProbeSettings, Prober};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub use sentinel_testkit::{TestCa, date_ms, serve_http, serve_https};

pub const NOW_MS: i64 = 1_700_000_000_000;

/// A validated monitor for `url`; `edit` adjusts the input before validation.
pub fn spec_with(url: &str, edit: impl FnOnce(&mut MonitorInput)) -> MonitorSpec {
    let mut input = MonitorInput {
        name: Some("probe test".into()),
        url: Some(url.into()),
        ..MonitorInput::default()
    };
    edit(&mut input);
    input.validate().expect("test monitor is valid")
}

pub fn spec(url: &str) -> MonitorSpec {
    spec_with(url, |_| {})
}

pub fn timeout(text: &str) -> Option<DurationInput> {
    Some(DurationInput::Text(text.into()))
}

/// A prober as self-hosted runs it: private targets allowed.
pub fn prober() -> Prober {
    Prober::new(ProbeSettings::default()).expect("prober builds")
}

pub fn prober_trusting(ca: &CertificateDer<'static>) -> Prober {
    Prober::new(ProbeSettings {
        extra_root_certs: vec![ca.clone()],
        ..ProbeSettings::default()
    })
    .expect("prober builds")
}

pub fn public_only_prober() -> Prober {
    Prober::new(ProbeSettings {
        allow_private: false,
        ..ProbeSettings::default()
    })
    .expect("prober builds")
}

/// An address where nothing listens: bound once, then released.
pub fn refused_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("local addr")
}

/// A listener that never accepts: the kernel completes the TCP handshake, then
/// nothing is ever said. Keep it alive for the test's duration.
pub async fn silent_listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    (listener, addr)
}

/// A server that answers every connection with `reply` and then holds the socket
/// open (or closes it at once when `close` is set).
pub async fn raw_server(reply: &'static [u8], close: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(reply).await;
                if !close {
                    tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                }
                drop(socket);
            });
        }
    });
    addr
}
