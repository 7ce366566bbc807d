//! Turning I/O, TLS and HTTP errors into the failure classes users act on.

use std::error::Error as StdError;
use std::fmt::Write as _;
use std::io;
use std::net::SocketAddr;

use rustls::CertificateError;
use sentinel_core::check::{ProbeError, ProbeErrorKind};

pub(crate) fn probe_error(kind: ProbeErrorKind, message: impl Into<String>) -> ProbeError {
    ProbeError {
        kind,
        message: message.into(),
    }
}

pub(crate) fn http_error(message: impl Into<String>) -> ProbeError {
    probe_error(ProbeErrorKind::Http, message)
}

/// A failed lookup. getaddrinfo reports a missing name with a handful of texts that
/// differ by libc; all of them become "no such host".
pub(crate) fn dns_error(host: &str, err: &io::Error) -> ProbeError {
    let text = err.to_string();
    let not_found = [
        "not known",
        "No address associated",
        "nodename nor servname",
        "does not resolve",
        "No such host",
    ]
    .iter()
    .any(|needle| text.contains(needle));
    let message = if not_found {
        format!("no such host {host}")
    } else {
        let reason = text
            .strip_prefix("failed to lookup address information: ")
            .unwrap_or(&text);
        format!("cannot resolve {host}: {reason}")
    };
    probe_error(ProbeErrorKind::Dns, message)
}

/// A failed TCP connect to `addr`; `others` is how many other addresses also failed.
pub(crate) fn connect_error(addr: SocketAddr, err: &io::Error, others: usize) -> ProbeError {
    let (kind, mut message) = match err.kind() {
        io::ErrorKind::ConnectionRefused => (
            ProbeErrorKind::Refused,
            format!("connection refused by {addr}"),
        ),
        io::ErrorKind::TimedOut => (
            ProbeErrorKind::Timeout,
            format!("connecting to {addr} timed out"),
        ),
        io::ErrorKind::NetworkUnreachable => (
            ProbeErrorKind::Connect,
            format!("network unreachable for {addr}"),
        ),
        io::ErrorKind::HostUnreachable => {
            (ProbeErrorKind::Connect, format!("host unreachable: {addr}"))
        }
        io::ErrorKind::ConnectionReset => (
            ProbeErrorKind::Connect,
            format!("connection to {addr} reset"),
        ),
        io::ErrorKind::AddrNotAvailable => (
            ProbeErrorKind::Connect,
            format!("cannot connect to {addr}: no local address can reach it"),
        ),
        _ => (
            ProbeErrorKind::Connect,
            format!("cannot connect to {addr}: {err}"),
        ),
    };
    match others {
        0 => {}
        1 => message.push_str(" (1 other address also failed)"),
        n => {
            let _ = write!(message, " ({n} other addresses also failed)");
        }
    }
    probe_error(kind, message)
}

/// A failed TLS handshake, with the reason a user can act on.
pub(crate) fn tls_error(err: &io::Error, host: &str) -> ProbeError {
    let rustls_err = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    let message = match rustls_err {
        Some(rustls::Error::InvalidCertificate(cert)) => certificate_message(cert, host),
        Some(rustls::Error::AlertReceived(alert)) => {
            format!("the server aborted the TLS handshake (alert: {alert:?})")
        }
        Some(rustls::Error::PeerIncompatible(why)) => {
            format!("no TLS version or cipher suite in common with the server ({why:?})")
        }
        Some(rustls::Error::NoCertificatesPresented) => {
            "the server presented no certificate".to_owned()
        }
        Some(
            e @ (rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. }),
        ) => format!("TLS handshake failed, the server may not speak TLS on this port ({e})"),
        Some(other) => format!("TLS handshake failed: {other}"),
        None => match err.kind() {
            io::ErrorKind::UnexpectedEof => "connection closed during the TLS handshake".to_owned(),
            io::ErrorKind::ConnectionReset => {
                "connection reset during the TLS handshake".to_owned()
            }
            _ => format!("TLS handshake failed: {err}"),
        },
    };
    probe_error(ProbeErrorKind::Tls, message)
}

fn certificate_message(err: &CertificateError, host: &str) -> String {
    match err {
        CertificateError::Expired => "certificate has expired".to_owned(),
        CertificateError::ExpiredContext { time, not_after } => {
            let days = time.as_secs().saturating_sub(not_after.as_secs()) / 86_400;
            match days {
                0 => "certificate has expired (today)".to_owned(),
                1 => "certificate has expired (1 day ago)".to_owned(),
                n => format!("certificate has expired ({n} days ago)"),
            }
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "certificate is not valid yet".to_owned()
        }
        CertificateError::UnknownIssuer => {
            "certificate is signed by an unknown authority".to_owned()
        }
        CertificateError::NotValidForName => format!("certificate is not valid for {host}"),
        CertificateError::NotValidForNameContext { presented, .. } => {
            if presented.is_empty() {
                format!("certificate is not valid for {host}")
            } else {
                let names: Vec<&str> = presented.iter().map(|n| presented_name(n)).collect();
                format!(
                    "certificate is not valid for {host} (it names {})",
                    names.join(", ")
                )
            }
        }
        CertificateError::Revoked => "certificate has been revoked".to_owned(),
        CertificateError::BadSignature => "certificate has an invalid signature".to_owned(),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            "certificate may not be used by a TLS server".to_owned()
        }
        other => format!("invalid certificate: {other}"),
    }
}

/// rustls lists presented names in their debug form (`DnsName("a.example")`); users
/// want `a.example`.
fn presented_name(raw: &str) -> &str {
    ["DnsName(\"", "IpAddress(", "Uri(\""]
        .iter()
        .find_map(|prefix| raw.strip_prefix(prefix))
        .map(|rest| rest.trim_end_matches(')').trim_end_matches('"'))
        .unwrap_or(raw)
}

/// A failure between sending the request and the end of the response head.
pub(crate) fn response_error(err: &hyper::Error) -> ProbeError {
    let message = if err.is_incomplete_message() || err.is_canceled() || err.is_closed() {
        "connection closed before the response arrived".to_owned()
    } else if err.is_parse() || err.is_parse_status() {
        format!("malformed HTTP response: {}", chain(err))
    } else {
        chain(err)
    };
    http_error(message)
}

/// A failure while reading the response body.
pub(crate) fn body_error(err: &hyper::Error) -> ProbeError {
    let mut eof = false;
    let mut source = err.source();
    while let Some(cause) = source {
        eof |= cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::UnexpectedEof);
        source = cause.source();
    }
    if err.is_incomplete_message() || eof {
        http_error("connection closed before the response body was complete")
    } else {
        http_error(format!("reading the response body failed: {}", chain(err)))
    }
}

/// An error and its sources on one line, skipping a source that repeats its parent.
pub(crate) fn chain(err: &dyn StdError) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}
