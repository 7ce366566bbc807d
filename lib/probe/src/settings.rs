//! How the prober is configured, and loading extra CA certificates from PEM files.

use std::path::{Path, PathBuf};

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// Default cap on how much of a response body a check reads.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// Default `User-Agent` sent with every check (a monitor's own header wins).
pub const DEFAULT_USER_AGENT: &str = "Sentinel/0.1 (+uptime monitor)";

/// Settings fixed when the [`Prober`](crate::Prober) is built.
#[derive(Debug, Clone)]
pub struct ProbeSettings {
    /// Allow checks of loopback, private (10/8, 172.16/12, 192.168/16), link-local,
    /// CGNAT (100.64/10), unique-local (fc00::/7), unspecified, broadcast and multicast
    /// addresses. Cloud metadata addresses are refused regardless. Default `true`
    /// (self-hosted); the AWS deployment turns it off.
    pub allow_private: bool,
    /// Extra trusted roots on top of the Mozilla set, e.g. the CA of self-signed
    /// internal services. See [`load_pem_certificates`].
    pub extra_root_certs: Vec<CertificateDer<'static>>,
    /// How much of a body to read; past it the body is cut and `body_truncated` set.
    pub max_body_bytes: usize,
    /// Default `User-Agent` header.
    pub user_agent: String,
}

impl Default for ProbeSettings {
    fn default() -> Self {
        Self {
            allow_private: true,
            extra_root_certs: Vec::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            user_agent: DEFAULT_USER_AGENT.to_owned(),
        }
    }
}

/// Why a [`Prober`](crate::Prober) could not be built or its CA files not loaded.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("cannot read CA file {path}")]
    ReadCaFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("CA file {path} is not valid PEM: {message}")]
    BadPem { path: PathBuf, message: String },
    #[error("CA file {path} holds no CERTIFICATE block")]
    NoCertificates { path: PathBuf },
    #[error("extra root certificate #{index} is not a usable trust anchor")]
    BadRootCertificate {
        index: usize,
        #[source]
        source: rustls::Error,
    },
    #[error("the TLS configuration could not be built")]
    Tls(#[source] rustls::Error),
    #[error("user agent {0:?} is not a valid header value")]
    BadUserAgent(String),
}

/// Reads every `CERTIFICATE` block of each PEM file (bundles are fine), for
/// [`ProbeSettings::extra_root_certs`]. A file without any certificate is an error, so
/// a wrong path or a key file given by mistake fails at start-up.
pub fn load_pem_certificates<P: AsRef<Path>>(
    paths: impl IntoIterator<Item = P>,
) -> Result<Vec<CertificateDer<'static>>, SetupError> {
    let mut out = Vec::new();
    for path in paths {
        let path = path.as_ref();
        let pem = std::fs::read(path).map_err(|source| SetupError::ReadCaFile {
            path: path.to_owned(),
            source,
        })?;
        let before = out.len();
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| SetupError::BadPem {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
            out.push(cert);
        }
        if out.len() == before {
            return Err(SetupError::NoCertificates {
                path: path.to_owned(),
            });
        }
    }
    Ok(out)
}
