//! The local target the benchmarks check: an HTTP/1.1 server (plain or TLS) that answers
//! `200 {"status":"UP"}` on every path and counts what it sees, so a benchmark can prove
//! that every check was a new TCP (and TLS) connection. It runs in its own process
//! (`bench-target`) so its CPU is not charged to the client being measured.
//!
//! The counters are served as JSON on a second, plain-HTTP control port (`GET /stats`),
//! so reading them does not touch the counted listener.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::ServerConfig;
use rustls::server::NoServerSessionStorage;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// The body every request gets.
pub const BODY: &[u8] = br#"{"status":"UP"}"#;

/// What the target has seen, as served on `/stats`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TargetStats {
    /// TCP connections accepted.
    pub accepted: u64,
    /// Connections fully closed (both directions, after the last response).
    pub closed: u64,
    /// TLS handshakes completed.
    pub handshakes: u64,
    pub handshake_failures: u64,
    /// Handshakes that resumed a session (must stay 0: the benchmark wants full ones).
    pub resumed: u64,
    /// HTTP requests answered.
    pub requests: u64,
    /// Completed handshakes by "version cipher-suite key-exchange-group".
    pub negotiated: BTreeMap<String, u64>,
}

impl TargetStats {
    /// Counters of `self` minus `earlier` (the `negotiated` map too).
    pub fn since(&self, earlier: &TargetStats) -> TargetStats {
        let mut negotiated = BTreeMap::new();
        for (k, v) in &self.negotiated {
            let d = v.saturating_sub(earlier.negotiated.get(k).copied().unwrap_or(0));
            if d > 0 {
                negotiated.insert(k.clone(), d);
            }
        }
        TargetStats {
            accepted: self.accepted.saturating_sub(earlier.accepted),
            closed: self.closed.saturating_sub(earlier.closed),
            handshakes: self.handshakes.saturating_sub(earlier.handshakes),
            handshake_failures: self
                .handshake_failures
                .saturating_sub(earlier.handshake_failures),
            resumed: self.resumed.saturating_sub(earlier.resumed),
            requests: self.requests.saturating_sub(earlier.requests),
            negotiated,
        }
    }
}

#[derive(Default)]
struct Counters {
    accepted: AtomicU64,
    closed: AtomicU64,
    handshakes: AtomicU64,
    handshake_failures: AtomicU64,
    resumed: AtomicU64,
    requests: AtomicU64,
    negotiated: Mutex<BTreeMap<String, u64>>,
}

impl Counters {
    fn snapshot(&self) -> TargetStats {
        TargetStats {
            accepted: self.accepted.load(Ordering::Relaxed),
            closed: self.closed.load(Ordering::Relaxed),
            handshakes: self.handshakes.load(Ordering::Relaxed),
            handshake_failures: self.handshake_failures.load(Ordering::Relaxed),
            resumed: self.resumed.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
            negotiated: self
                .negotiated
                .lock()
                .map(|m| m.clone())
                .unwrap_or_default(),
        }
    }
}

/// Which key-exchange groups the TLS target offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
pub enum KxGroups {
    /// rustls' defaults (X25519MLKEM768, X25519, P-256, P-384): what current public
    /// servers negotiate with a current client.
    Default,
    /// X25519 only: what curl 7.88 / OpenSSL 3.0 can do, so both clients do the same work.
    X25519,
}

/// A CA and a leaf for `localhost` and `127.0.0.1` (ECDSA P-256), the CA as PEM.
pub struct Certs {
    pub ca_pem: String,
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

pub fn make_certs() -> anyhow::Result<Certs> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Sentinel Bench CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let mut leaf_params = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let leaf_key = KeyPair::generate()?;
    let leaf = leaf_params.signed_by(&leaf_key, &issuer)?;
    Ok(Certs {
        ca_pem: ca_cert.pem(),
        chain: vec![leaf.der().clone(), ca_cert.der().clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
    })
}

/// TLS 1.2 and 1.3 (the client picks 1.3), no session resumption at all (no tickets, no
/// session cache), ALPN `http/1.1`.
pub fn server_tls(certs: &Certs, groups: KxGroups) -> anyhow::Result<ServerConfig> {
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    if groups == KxGroups::X25519 {
        provider.kx_groups = vec![rustls::crypto::aws_lc_rs::kx_group::X25519];
    }
    let mut config = ServerConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs.chain.clone(), certs.key.clone_key())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.send_tls13_tickets = 0;
    config.session_storage = Arc::new(NoServerSessionStorage {});
    Ok(config)
}

/// Settings of a running target.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub tls: Option<Arc<ServerConfig>>,
    /// Extra time before each response, to mimic a remote service.
    pub delay: Duration,
}

/// Where a started target listens, printed by `bench-target` as one JSON line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ready {
    pub port: u16,
    pub control_port: u16,
    pub tls: bool,
    /// The CA to trust, for a TLS target.
    pub ca_pem: Option<PathBuf>,
}

/// Serves until the process ends. Returns the two bound addresses once listening.
pub async fn start(options: ServeOptions) -> anyhow::Result<(SocketAddr, SocketAddr)> {
    let counters = Arc::new(Counters::default());
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let control = TcpListener::bind("127.0.0.1:0").await?;
    let addrs = (listener.local_addr()?, control.local_addr()?);

    let c = Arc::clone(&counters);
    tokio::spawn(async move {
        loop {
            let socket = match control.accept().await {
                Ok((s, _)) => s,
                Err(_) => continue,
            };
            let c = Arc::clone(&c);
            tokio::spawn(async move {
                let service = service_fn(move |_req: Request<Incoming>| {
                    let body = serde_json::to_vec(&c.snapshot()).unwrap_or_default();
                    async move { Ok::<_, Infallible>(json_response(Bytes::from(body))) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(socket), service)
                    .await;
            });
        }
    });

    let acceptor = options.tls.clone().map(TlsAcceptor::from);
    let delay = options.delay;
    tokio::spawn(async move {
        loop {
            let socket = match listener.accept().await {
                Ok((s, _)) => s,
                Err(e) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    eprintln!("bench-target: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            counters.accepted.fetch_add(1, Ordering::Relaxed);
            let _ = socket.set_nodelay(true);
            let counters = Arc::clone(&counters);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                match acceptor {
                    None => serve_http(socket, &counters, delay).await,
                    Some(acceptor) => match acceptor.accept(socket).await {
                        Ok(tls) => {
                            let (_, conn) = tls.get_ref();
                            let key = format!(
                                "{} {} {}",
                                conn.protocol_version()
                                    .map_or("?".into(), |v| format!("{v:?}")),
                                conn.negotiated_cipher_suite()
                                    .map_or("?".into(), |s| format!("{:?}", s.suite())),
                                conn.negotiated_key_exchange_group()
                                    .map_or("?".into(), |g| format!("{:?}", g.name())),
                            );
                            if conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed) {
                                counters.resumed.fetch_add(1, Ordering::Relaxed);
                            }
                            counters.handshakes.fetch_add(1, Ordering::Relaxed);
                            if let Ok(mut m) = counters.negotiated.lock() {
                                *m.entry(key).or_insert(0) += 1;
                            }
                            serve_http(tls, &counters, delay).await;
                        }
                        Err(_) => {
                            counters.handshake_failures.fetch_add(1, Ordering::Relaxed);
                        }
                    },
                }
                counters.closed.fetch_add(1, Ordering::Relaxed);
            });
        }
    });
    Ok(addrs)
}

async fn serve_http<S>(io: S, counters: &Arc<Counters>, delay: Duration)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let c = Arc::clone(counters);
    let service = service_fn(move |_req: Request<Incoming>| {
        let c = Arc::clone(&c);
        async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            c.requests.fetch_add(1, Ordering::Relaxed);
            Ok::<_, Infallible>(json_response(Bytes::from_static(BODY)))
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
        .await;
}

fn json_response(body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

/// A `bench-target` child process. Killed when dropped.
pub struct TargetProcess {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    pub ready: Ready,
}

impl TargetProcess {
    /// Starts `bench-target` (next to this binary) with `args` and waits for its ready line.
    pub fn spawn(args: &[&str]) -> anyhow::Result<Self> {
        let bin = crate::sibling_binary("bench-target")?;
        let mut child = Command::new(&bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        let ready: Ready = serde_json::from_str(line.trim())
            .with_context(|| format!("bench-target said {line:?} instead of its ready line"))?;
        Ok(Self {
            child,
            _stdout: stdout,
            ready,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The target's counters, read from its control port.
    pub fn stats(&self) -> anyhow::Result<TargetStats> {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.ready.control_port));
        let mut s = std::net::TcpStream::connect(addr)?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        s.write_all(b"GET /stats HTTP/1.1\r\nHost: control\r\nConnection: close\r\n\r\n")?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw)?;
        let text = String::from_utf8_lossy(&raw);
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            bail!("bad /stats answer: {text:?}");
        };
        if !head.starts_with("HTTP/1.1 200") {
            bail!("bad /stats answer: {head:?}");
        }
        Ok(serde_json::from_str(body)?)
    }

    /// CPU the target has used so far (from `/proc/<pid>/stat`), for information.
    pub fn cpu(&self, hz: u64) -> Option<Duration> {
        let text = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).ok()?;
        let rest = text.rsplit_once(')')?.1;
        let f: Vec<u64> = rest
            .split_whitespace()
            .map(|v| v.parse().unwrap_or(0))
            .collect();
        let t = f.get(11)? + f.get(12)?;
        Some(Duration::from_nanos(t * 1_000_000_000 / hz.max(1)))
    }
}

impl Drop for TargetProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes `pem` to `dir/ca.pem` and returns the path.
pub fn write_ca(dir: &Path, pem: &str) -> anyhow::Result<PathBuf> {
    let path = dir.join("ca.pem");
    std::fs::write(&path, pem).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}
