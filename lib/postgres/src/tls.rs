//! The rustls client configuration for each [`SslMode`].
//!
//! The crypto provider is passed explicitly (aws-lc-rs), so nothing depends on a
//! process-wide default being installed first.

use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::{PgError, PgSettings, SslMode};

/// The TLS connector for `settings` (also used, unused, when TLS is disabled: one
/// connector type keeps one pool type).
pub(crate) fn connector(settings: &PgSettings) -> Result<MakeRustlsConnect, PgError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| PgError::Tls(e.to_string()))?;
    let config = match settings.ssl_mode() {
        SslMode::Disable | SslMode::Prefer | SslMode::Require => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly {
                algorithms: provider.signature_verification_algorithms,
            }))
            .with_no_client_auth(),
        SslMode::VerifyCa => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ChainOnly(webpki_verifier(
                settings.root_cert(),
                &provider,
            )?)))
            .with_no_client_auth(),
        SslMode::VerifyFull => builder
            .with_webpki_verifier(webpki_verifier(settings.root_cert(), &provider)?)
            .with_no_client_auth(),
    };
    Ok(MakeRustlsConnect::new(config))
}

/// The Mozilla roots (Neon, Supabase, Let's Encrypt…) plus the PEM file's CAs (the RDS
/// bundle, a company CA).
fn webpki_verifier(
    extra: Option<&Path>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, PgError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = extra {
        for cert in read_ca_file(path)? {
            roots.add(cert).map_err(|e| PgError::BadCaFile {
                path: path.to_owned(),
                detail: e.to_string(),
            })?;
        }
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| PgError::Tls(e.to_string()))
}

pub(crate) fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, PgError> {
    let pem = std::fs::read(path).map_err(|source| PgError::ReadCaFile {
        path: path.to_owned(),
        source,
    })?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PgError::BadCaFile {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(PgError::BadCaFile {
            path: path.to_owned(),
            detail: "no CERTIFICATE block found".to_owned(),
        });
    }
    Ok(certs)
}

/// `prefer` / `require`: encrypt, accept any certificate (libpq's meaning of those
/// modes). Handshake signatures are still checked, so the session key is the server's.
#[derive(Debug)]
struct EncryptOnly {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a trusted root; the name may differ (servers
/// reached through an IP or a tunnel).
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str) -> PgSettings {
        PgSettings::from_url(url).expect("url parses")
    }

    #[test]
    fn every_mode_without_a_ca_file_builds_a_connector() {
        for mode in ["disable", "prefer", "require", "verify-ca", "verify-full"] {
            connector(&settings(&format!("postgres://u@h/db?sslmode={mode}")))
                .unwrap_or_else(|e| panic!("{mode}: {e}"));
        }
    }

    #[test]
    fn a_missing_ca_file_is_a_clear_error() {
        let err = connector(&settings(
            "postgres://u@h/db?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
        ))
        .err()
        .expect("must fail");
        assert!(matches!(err, PgError::ReadCaFile { .. }), "{err:?}");
        assert!(err.to_string().contains("/nonexistent/ca.pem"));
    }

    #[test]
    fn a_ca_file_without_certificates_is_a_clear_error() {
        let path =
            std::env::temp_dir().join(format!("sentinel-pg-empty-{}.pem", std::process::id()));
        std::fs::write(&path, "not a certificate\n").expect("write temp file");
        let err = connector(&settings(&format!(
            "postgres://u@h/db?sslmode=verify-full&sslrootcert={}",
            path.display()
        )))
        .err()
        .expect("must fail");
        let _ = std::fs::remove_file(&path);
        assert!(matches!(err, PgError::BadCaFile { .. }), "{err:?}");
    }

    #[test]
    fn a_ca_file_with_a_certificate_is_added_to_the_roots() {
        let path = std::env::temp_dir().join(format!("sentinel-pg-ca-{}.pem", std::process::id()));
        std::fs::write(&path, TEST_CA_PEM).expect("write temp file");
        let result = connector(&settings(&format!(
            "postgres://u@h/db?sslmode=verify-full&sslrootcert={}",
            path.display()
        )));
        let _ = std::fs::remove_file(&path);
        result.expect("a PEM CA file is accepted");
    }

    /// A self-signed CA certificate (ECDSA P-256), for parsing only.
    const TEST_CA_PEM: &str = "-----BEGIN CERTIFICATE-----\n\
MIIBjTCCATOgAwIBAgIUPYcIw2RdN5i3O0QsDJ6PGy8q1fEwCgYIKoZIzj0EAwIw\n\
GzEZMBcGA1UEAwwQU2VudGluZWwgdGVzdCBDQTAgFw0yNjExMjUxNDI4MDdaGA8y\n\
MTI2MTEwMTE0MjgwN1owGzEZMBcGA1UEAwwQU2VudGluZWwgdGVzdCBDQTBZMBMG\n\
ByqGSM49AgEGCCqGSM49AwEHA0IABJ2cw9VnX1N0pEG5uxhSaeBMqq6rlseVqSlS\n\
AraRdK7qE8b9Z4NKmWtVKqLWWQCW3lg8mpNegHX7QFy0li30ASujUzBRMB0GA1Ud\n\
DgQWBBR7b0MjMlFOkkh6ewX2Nim81XuYUTAfBgNVHSMEGDAWgBR7b0MjMlFOkkh6\n\
ewX2Nim81XuYUTAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIFNL\n\
Y/C27Gozjh0LN1KsbPvHsM77onm2Vf1J/4W0l3B3AiEA7GFnMXSajWZLqwYie+Md\n\
xEX68GbxSynsctYAKaLAlnk=\n\
-----END CERTIFICATE-----\n";
}
