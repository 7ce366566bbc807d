//! One check: DNS, TCP, TLS, HTTP/1.1 on a fresh connection, with timings per phase.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{ACCEPT, HOST, LOCATION, USER_AGENT};
use http::{HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Body as _;
use hyper_util::rt::TokioIo;
use rustls::client::Resumption;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::ServerName;
use sentinel_core::UnixMs;
use sentinel_core::check::{ProbeError, ProbeErrorKind, ProbeOutcome};
use sentinel_core::monitor::{HttpMethod, MonitorSpec, format_duration};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tracing::instrument;
use url::{Host, Position, Url};

use crate::errors::{
    body_error, connect_error, dns_error, http_error, probe_error, response_error, tls_error,
};
use crate::guard;
use crate::settings::{ProbeSettings, SetupError};

/// Redirects followed before a check fails with "too many redirects".
pub const MAX_REDIRECTS: usize = 10;

/// Runs checks. Build it once (it holds the TLS configuration and trust roots) and
/// clone it freely: clones share one `Arc`.
#[derive(Clone)]
pub struct Prober {
    inner: Arc<Inner>,
}

struct Inner {
    settings: ProbeSettings,
    tls: TlsConnector,
    user_agent: HeaderValue,
}

impl std::fmt::Debug for Prober {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prober")
            .field("allow_private", &self.inner.settings.allow_private)
            .field("extra_roots", &self.inner.settings.extra_root_certs.len())
            .field("max_body_bytes", &self.inner.settings.max_body_bytes)
            .finish()
    }
}

/// Where a check was when its time ran out, for the timeout message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Resolving,
    Connecting,
    Handshaking,
    Waiting,
    Reading,
}

/// What a check has found so far. It lives outside the timed future so that a
/// timeout still reports the phase, the address and anything already measured.
struct Progress<'a> {
    out: ProbeOutcome,
    url: Cow<'a, Url>,
    phase: Phase,
    addr: Option<SocketAddr>,
}

/// What the next hop sends.
struct HopRequest {
    method: Method,
    body: Option<Bytes>,
    /// Still on the monitor's own origin: its `Host`, `Authorization` and `Cookie`
    /// headers are sent only while this holds.
    same_origin: bool,
}

impl Prober {
    /// Builds the TLS configuration (Mozilla roots plus `extra_root_certs`, ALPN
    /// `http/1.1`, no session resumption so every check sees the full certificate).
    pub fn new(settings: ProbeSettings) -> Result<Self, SetupError> {
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for (index, cert) in settings.extra_root_certs.iter().enumerate() {
            roots
                .add(cert.clone())
                .map_err(|source| SetupError::BadRootCertificate { index, source })?;
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(SetupError::Tls)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        // A resumed TLS 1.3 session carries no certificate, and the handshake would not
        // be the one a new visitor gets: every check does a full handshake.
        config.resumption = Resumption::disabled();

        let user_agent = HeaderValue::from_str(&settings.user_agent)
            .map_err(|_| SetupError::BadUserAgent(settings.user_agent.clone()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                settings,
                tls: TlsConnector::from(Arc::new(config)),
                user_agent,
            }),
        })
    }

    pub fn settings(&self) -> &ProbeSettings {
        &self.inner.settings
    }

    /// Runs one check of `spec` on fresh connections, bounded by `spec.timeout` as a
    /// whole (body included). Never panics and never returns early without an outcome:
    /// every failure is in `outcome.error`. `now_ms` becomes `started_at`.
    #[instrument(skip_all, fields(monitor_id = %spec.id))]
    pub async fn check(&self, spec: &MonitorSpec, now_ms: UnixMs) -> ProbeOutcome {
        let started = Instant::now();
        let mut progress = Progress {
            out: ProbeOutcome {
                started_at: now_ms,
                ..ProbeOutcome::default()
            },
            url: Cow::Borrowed(spec.url.as_url()),
            phase: Phase::Resolving,
            addr: None,
        };
        let result = tokio::time::timeout(spec.timeout, self.run(spec, &mut progress)).await;
        let error = match result {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(_) => Some(timeout_error(spec.timeout, &progress)),
        };
        let mut out = progress.out;
        out.timings.total_ms = millis(started.elapsed());
        match &error {
            None => tracing::debug!(
                status = out.status_code,
                total_ms = out.timings.total_ms,
                "check done"
            ),
            Some(e) => tracing::debug!(kind = %e.kind, message = %e.message, "check failed"),
        }
        out.error = error;
        out
    }

    /// The check without its time limit: hops until a final response.
    async fn run<'a>(&self, spec: &'a MonitorSpec, p: &mut Progress<'a>) -> Result<(), ProbeError> {
        let mut req = HopRequest {
            method: method_of(spec.method),
            body: spec
                .body
                .as_deref()
                .map(|b| Bytes::copy_from_slice(b.as_bytes())),
            same_origin: true,
        };
        let mut redirects = 0;
        loop {
            let Some((status, location)) = self.hop(spec, &req, p).await? else {
                return Ok(());
            };
            if redirects == MAX_REDIRECTS {
                return Err(http_error(format!(
                    "too many redirects (more than {MAX_REDIRECTS})"
                )));
            }
            redirects += 1;
            let next = p.url.join(&location).map_err(|e| {
                http_error(format!(
                    "redirect to an invalid Location {location:?} ({e})"
                ))
            })?;
            if !matches!(next.scheme(), "http" | "https") || next.host_str().is_none() {
                return Err(http_error(format!(
                    "redirect to an unsupported URL {}",
                    next.as_str()
                )));
            }
            // 303 always, and 301/302 after a POST, become a GET without a body (as
            // browsers do); 307 and 308 repeat the request as it was.
            if status == StatusCode::SEE_OTHER && req.method != Method::HEAD
                || matches!(status.as_u16(), 301 | 302) && req.method == Method::POST
            {
                req.method = Method::GET;
                req.body = None;
            }
            req.same_origin = req.same_origin && next.origin() == spec.url.as_url().origin();
            p.url = Cow::Owned(next);
        }
    }

    /// One request on one fresh connection. Returns the status and `Location` when the
    /// response is a redirect to follow, else `None` with the outcome filled in.
    async fn hop(
        &self,
        spec: &MonitorSpec,
        req: &HopRequest,
        p: &mut Progress<'_>,
    ) -> Result<Option<(StatusCode, String)>, ProbeError> {
        // Each hop reports its own phases; total_ms spans them all.
        let started_at = p.out.started_at;
        p.out = ProbeOutcome {
            started_at,
            ..ProbeOutcome::default()
        };
        p.addr = None;

        let url: &Url = &p.url;
        let https = url.scheme() == "https";
        let port = url
            .port_or_known_default()
            .ok_or_else(|| http_error(format!("no port for {}", url.as_str())))?;
        let host = url
            .host()
            .ok_or_else(|| http_error(format!("no host in {}", url.as_str())))?;

        // DNS, unless the host is an IP literal.
        p.phase = Phase::Resolving;
        let resolved: Vec<SocketAddr> = match host {
            Host::Ipv4(ip) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
            Host::Ipv6(ip) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
            Host::Domain(name) => {
                let t = Instant::now();
                let found = tokio::net::lookup_host((name, port)).await;
                p.out.timings.dns_ms = Some(millis(t.elapsed()));
                let found: Vec<SocketAddr> = found.map_err(|e| dns_error(name, &e))?.collect();
                if found.is_empty() {
                    return Err(probe_error(
                        ProbeErrorKind::Dns,
                        format!("no addresses for {name}"),
                    ));
                }
                found
            }
        };

        // The SSRF guard, on every resolved address; only those that pass are dialled.
        let allow_private = self.inner.settings.allow_private;
        let mut refused = None;
        let allowed: Vec<SocketAddr> = resolved
            .into_iter()
            .filter(|a| match guard::check(a.ip(), allow_private) {
                Ok(()) => true,
                Err(class) => {
                    refused.get_or_insert((a.ip(), class));
                    false
                }
            })
            .collect();
        if let (true, Some((ip, class))) = (allowed.is_empty(), refused) {
            let subject = match host {
                Host::Domain(name) => format!("{name} resolves to {ip}, {class}"),
                _ => format!("{ip} is {class}"),
            };
            let hint = if class == guard::AddressClass::Metadata {
                "checks may never reach it"
            } else {
                "checks of private addresses are disabled"
            };
            return Err(probe_error(
                ProbeErrorKind::Blocked,
                format!("{subject}; {hint}"),
            ));
        }

        // TCP: the first allowed address that accepts.
        p.phase = Phase::Connecting;
        let t = Instant::now();
        let mut failures = 0;
        let mut last_error = None;
        let mut tcp = None;
        for addr in &allowed {
            p.addr = Some(*addr);
            match TcpStream::connect(addr).await {
                Ok(stream) => {
                    tcp = Some(stream);
                    break;
                }
                Err(e) => {
                    failures += 1;
                    last_error = Some((*addr, e));
                }
            }
        }
        let Some(tcp) = tcp else {
            return Err(match last_error {
                Some((addr, e)) => connect_error(addr, &e, failures - 1),
                None => probe_error(ProbeErrorKind::Connect, "no address to connect to"),
            });
        };
        p.out.timings.connect_ms = Some(millis(t.elapsed()));
        p.out.connected = true;
        p.out.ip = p.addr.map(|a| a.ip());
        // The request head and body go out in as few packets as possible; no Nagle wait.
        let _ = tcp.set_nodelay(true);

        let request = build_request(spec, req, url, &self.inner.user_agent)?;
        let follow = spec.follow_redirects;
        if !https {
            return exchange(tcp, request, follow, self.max_body(), p).await;
        }

        p.phase = Phase::Handshaking;
        let server_name = match host {
            Host::Ipv4(ip) => ServerName::IpAddress(IpAddr::V4(ip).into()),
            Host::Ipv6(ip) => ServerName::IpAddress(IpAddr::V6(ip).into()),
            Host::Domain(name) => ServerName::try_from(name.trim_end_matches('.').to_owned())
                .map_err(|_| {
                    probe_error(
                        ProbeErrorKind::Tls,
                        format!("{name} is not a valid TLS server name"),
                    )
                })?,
        };
        let host_text = url.host_str().unwrap_or_default().to_owned();
        let t = Instant::now();
        let tls = self
            .inner
            .tls
            .connect(server_name, tcp)
            .await
            .map_err(|e| tls_error(&e, &host_text))?;
        p.out.timings.tls_ms = Some(millis(t.elapsed()));
        p.out.cert_expires_at = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|leaf| not_after_ms(leaf));
        exchange(tls, request, follow, self.max_body(), p).await
    }

    fn max_body(&self) -> usize {
        self.inner.settings.max_body_bytes
    }
}

/// HTTP/1.1 on an open stream: send, wait for the head, then read the body up to
/// `max_body` bytes. The connection is driven on this task (no spawn) and dropped at
/// the end, which closes it, so a truncated body is never downloaded further.
async fn exchange<S>(
    io: S,
    request: Request<Full<Bytes>>,
    follow: bool,
    max_body: usize,
    p: &mut Progress<'_>,
) -> Result<Option<(StatusCode, String)>, ProbeError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| response_error(&e))?;
    let mut conn = pin!(conn);
    // The connection future can finish (server closed after a short response) before
    // the response future is polled again; remember that and keep polling the response.
    let mut conn_result: Option<Result<(), hyper::Error>> = None;

    p.phase = Phase::Waiting;
    let sent = Instant::now();
    let mut send = pin!(sender.send_request(request));
    let response = loop {
        tokio::select! {
            biased;
            r = &mut send => break r,
            r = &mut conn, if conn_result.is_none() => conn_result = Some(r),
        }
    };
    let response = match (response, conn_result.take()) {
        (Ok(r), done) => {
            conn_result = done;
            r
        }
        (Err(_), Some(Err(root))) => return Err(response_error(&root)),
        (Err(e), _) => return Err(response_error(&e)),
    };
    p.out.timings.first_byte_ms = Some(millis(sent.elapsed()));
    let status = response.status();
    p.out.status_code = Some(status.as_u16());

    if follow
        && is_followed_redirect(status)
        && let Some(location) = response.headers().get(LOCATION)
    {
        let location = location
            .to_str()
            .map_err(|_| http_error("redirect with an unreadable Location header"))?;
        return Ok(Some((status, location.to_owned())));
    }

    p.phase = Phase::Reading;
    let mut body = response.into_body();
    let hint = usize::try_from(body.size_hint().lower()).unwrap_or(max_body);
    p.out.body.reserve(hint.min(max_body));
    loop {
        let frame = tokio::select! {
            biased;
            f = body.frame() => f,
            r = &mut conn, if conn_result.is_none() => {
                if let Err(e) = &r {
                    return Err(body_error(e));
                }
                conn_result = Some(r);
                continue;
            }
        };
        let frame = match frame {
            None => break,
            Some(Ok(frame)) => frame,
            Some(Err(e)) => return Err(body_error(&e)),
        };
        if let Some(data) = frame.data_ref() {
            let room = max_body - p.out.body.len();
            if data.len() > room {
                p.out.body.extend_from_slice(&data[..room]);
                p.out.body_truncated = true;
                break;
            }
            p.out.body.extend_from_slice(data);
        }
    }
    Ok(None)
}

fn build_request(
    spec: &MonitorSpec,
    req: &HopRequest,
    url: &Url,
    user_agent: &HeaderValue,
) -> Result<Request<Full<Bytes>>, ProbeError> {
    let target = &url[Position::BeforePath..Position::AfterQuery];
    let uri: Uri = target
        .parse()
        .map_err(|e| http_error(format!("cannot request {target:?}: {e}")))?;
    let authority = &url[Position::BeforeHost..Position::AfterPort];
    let host = HeaderValue::from_str(authority)
        .map_err(|_| http_error(format!("{authority:?} is not a valid Host header")))?;

    let mut request = Request::new(Full::new(req.body.clone().unwrap_or_default()));
    *request.method_mut() = req.method.clone();
    *request.uri_mut() = uri;
    let headers = request.headers_mut();
    headers.insert(HOST, host);
    headers.insert(USER_AGENT, user_agent.clone());
    headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
    for (name, value) in &spec.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| http_error(format!("{name:?} is not a valid header name")))?;
        if !req.same_origin && is_origin_bound(&name) {
            continue;
        }
        if req.body.is_none() && spec.body.is_some() && is_body_header(&name) {
            continue;
        }
        let value = HeaderValue::from_str(value)
            .map_err(|_| http_error(format!("header {name} has an invalid value")))?;
        headers.insert(name, value);
    }
    Ok(request)
}

/// Headers that belong to the monitor's own origin and are not sent after a redirect
/// elsewhere.
fn is_origin_bound(name: &HeaderName) -> bool {
    name == HOST
        || name == http::header::AUTHORIZATION
        || name == http::header::COOKIE
        || name == http::header::PROXY_AUTHORIZATION
}

fn is_body_header(name: &HeaderName) -> bool {
    name == http::header::CONTENT_TYPE
        || name == http::header::CONTENT_LENGTH
        || name == http::header::CONTENT_ENCODING
}

fn is_followed_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

fn method_of(method: HttpMethod) -> Method {
    match method {
        HttpMethod::Get => Method::GET,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Options => Method::OPTIONS,
    }
}

/// `notAfter` of a DER certificate in Unix milliseconds.
fn not_after_ms(der: &[u8]) -> Option<UnixMs> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    cert.validity().not_after.timestamp().checked_mul(1000)
}

fn timeout_error(limit: Duration, p: &Progress<'_>) -> ProbeError {
    let limit = format_duration(limit);
    let addr = p
        .addr
        .map(|a| a.to_string())
        .unwrap_or_else(|| "the server".to_owned());
    let message = match p.phase {
        Phase::Resolving => format!(
            "no response within {limit} (still resolving {})",
            p.url.host_str().unwrap_or_default()
        ),
        Phase::Connecting => format!("no response within {limit} (still connecting to {addr})"),
        Phase::Handshaking => {
            format!("no response within {limit} (TLS handshake with {addr} unfinished)")
        }
        Phase::Waiting => format!("no response within {limit} (waiting for {addr} to answer)"),
        Phase::Reading => format!(
            "response not complete within {limit} (body still arriving after {} bytes)",
            p.out.body.len()
        ),
    };
    probe_error(ProbeErrorKind::Timeout, message)
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
