//! Connection settings, parsed from a `postgres://` URL.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use crate::PgError;

/// How much TLS a connection insists on, with libpq's names and meanings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, else plain; the certificate is not checked
    /// (libpq's default: it stops passive sniffing only).
    #[default]
    Prefer,
    /// TLS or no connection; the certificate is not checked (as libpq does without a
    /// root certificate file; with `sslrootcert` it behaves as [`SslMode::VerifyCa`]).
    Require,
    /// TLS, and the certificate chains to a trusted root; the host name is not checked.
    VerifyCa,
    /// TLS, the certificate chains to a trusted root and names the host. Use this for
    /// a database reached over the internet (Neon, RDS, Supabase).
    VerifyFull,
}

impl SslMode {
    pub fn parse(raw: &str) -> Result<Self, PgError> {
        match raw {
            "disable" => Ok(Self::Disable),
            "prefer" => Ok(Self::Prefer),
            "require" => Ok(Self::Require),
            "verify-ca" => Ok(Self::VerifyCa),
            "verify-full" => Ok(Self::VerifyFull),
            other => Err(PgError::InvalidUrl(format!(
                "sslmode {other:?} is not supported; use disable, prefer, require, verify-ca \
                 or verify-full"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }
}

/// The pool size when the URL does not say (a server; a Lambda wants 1 or 2).
pub const DEFAULT_POOL_SIZE: usize = 4;
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything needed to open a [`PgStore`](crate::PgStore). `Debug` never shows the
/// password.
#[derive(Debug, Clone)]
pub struct PgSettings {
    pub(crate) config: tokio_postgres::Config,
    ssl_mode: SslMode,
    root_cert: Option<PathBuf>,
    pool_size: usize,
    wait_timeout: Duration,
    check_on_checkout: bool,
}

impl PgSettings {
    /// Parses `postgres://user:password@host:port/dbname?param=value…`.
    ///
    /// Besides libpq's parameters that tokio-postgres understands (`connect_timeout`,
    /// `application_name`, `options`, …) it takes `sslmode` (see [`SslMode`]),
    /// `sslrootcert=PATH` (a PEM file of extra trusted CAs, e.g. the RDS bundle; the
    /// Mozilla roots are always trusted too; `system` means none extra) and
    /// `pool_size=N`.
    pub fn from_url(url: &str) -> Result<Self, PgError> {
        let url = url.trim();
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(PgError::InvalidUrl(
                "expected a URL starting with postgres:// or postgresql://".to_owned(),
            ));
        }
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut ssl_mode = SslMode::default();
        let mut root_cert = None;
        let mut pool_size = DEFAULT_POOL_SIZE;
        // Pairs tokio-postgres parses itself are passed on verbatim (re-encoding could
        // change what `options=-c%20x` means).
        let mut passed_on: Vec<&str> = Vec::new();
        for raw in query.split('&').filter(|p| !p.is_empty()) {
            let Some((key, value)) = url::form_urlencoded::parse(raw.as_bytes()).next() else {
                continue;
            };
            match key.as_ref() {
                "sslmode" => ssl_mode = SslMode::parse(&value)?,
                "sslrootcert" => {
                    root_cert = (value != "system").then(|| PathBuf::from(value.as_ref()));
                }
                "pool_size" => {
                    pool_size = value.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                        PgError::InvalidUrl(format!(
                            "pool_size must be a positive integer, got {value:?}"
                        ))
                    })?;
                }
                _ => passed_on.push(raw),
            }
        }
        let rebuilt = if passed_on.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", passed_on.join("&"))
        };
        let mut config = tokio_postgres::Config::from_str(&rebuilt)
            .map_err(|e| PgError::InvalidUrl(crate::error::describe(&e)))?;
        if config.get_hosts().is_empty() {
            return Err(PgError::InvalidUrl("the URL names no host".to_owned()));
        }
        if config.get_user().is_none() {
            return Err(PgError::InvalidUrl("the URL names no user".to_owned()));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("sentinel");
        }
        let mut settings = Self {
            config,
            ssl_mode,
            root_cert,
            pool_size,
            wait_timeout: DEFAULT_WAIT_TIMEOUT,
            check_on_checkout: false,
        };
        settings.apply_ssl_mode();
        Ok(settings)
    }

    /// The mode in force: `require` with a root certificate file verifies the chain,
    /// as libpq does.
    pub fn ssl_mode(&self) -> SslMode {
        match self.ssl_mode {
            SslMode::Require if self.root_cert.is_some() => SslMode::VerifyCa,
            mode => mode,
        }
    }

    pub fn root_cert(&self) -> Option<&Path> {
        self.root_cert.as_deref()
    }

    pub fn pool_size(&self) -> usize {
        self.pool_size
    }

    pub fn database(&self) -> Option<&str> {
        self.config.get_dbname()
    }

    pub fn connect_timeout(&self) -> Duration {
        self.config
            .get_connect_timeout()
            .copied()
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT)
    }

    /// How long a caller waits for a free pooled connection before failing.
    pub fn wait_timeout(&self) -> Duration {
        self.wait_timeout
    }

    /// Whether a pooled connection is pinged before each use.
    pub fn check_on_checkout(&self) -> bool {
        self.check_on_checkout
    }

    pub fn with_ssl_mode(mut self, mode: SslMode) -> Self {
        self.ssl_mode = mode;
        self.apply_ssl_mode();
        self
    }

    pub fn with_root_cert(mut self, path: Option<PathBuf>) -> Self {
        self.root_cert = path;
        self
    }

    /// At least 1.
    pub fn with_pool_size(mut self, size: usize) -> Self {
        self.pool_size = size.max(1);
        self
    }

    pub fn with_database(mut self, name: &str) -> Self {
        self.config.dbname(name);
        self
    }

    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout(timeout);
        self
    }

    pub fn with_wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = timeout;
        self
    }

    /// Pings a pooled connection (one round trip) before handing it out, so a
    /// connection the server dropped while idle (a Lambda thawed after minutes, a
    /// serverless database that scaled to zero) is replaced instead of failing the
    /// first query. Off by default: a closed socket is already noticed without it.
    pub fn with_check_on_checkout(mut self, check: bool) -> Self {
        self.check_on_checkout = check;
        self
    }

    fn apply_ssl_mode(&mut self) {
        self.config.ssl_mode(match self.ssl_mode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_postgres::config::{Host, SslMode as WireSslMode};

    fn parse(url: &str) -> PgSettings {
        PgSettings::from_url(url).unwrap_or_else(|e| panic!("{url} must parse: {e}"))
    }

    fn refused(url: &str) -> String {
        match PgSettings::from_url(url) {
            Ok(s) => panic!("{url} must be refused, got {s:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_plain_url_prefers_tls_with_default_pool_and_timeouts() {
        let s = parse("postgres://app:secret@db.example.com:6543/sentinel");
        assert_eq!(s.ssl_mode(), SslMode::Prefer);
        assert_eq!(s.config.get_ssl_mode(), WireSslMode::Prefer);
        assert_eq!(s.pool_size(), DEFAULT_POOL_SIZE);
        assert_eq!(s.database(), Some("sentinel"));
        assert_eq!(s.config.get_user(), Some("app"));
        assert_eq!(s.config.get_password(), Some(&b"secret"[..]));
        assert_eq!(s.config.get_ports(), &[6543]);
        assert_eq!(
            s.config.get_hosts(),
            &[Host::Tcp("db.example.com".to_owned())]
        );
        assert_eq!(s.connect_timeout(), DEFAULT_CONNECT_TIMEOUT);
        assert_eq!(s.config.get_application_name(), Some("sentinel"));
        assert!(!s.check_on_checkout());
    }

    #[test]
    fn every_sslmode_is_honoured() {
        for (raw, mode, wire) in [
            ("disable", SslMode::Disable, WireSslMode::Disable),
            ("prefer", SslMode::Prefer, WireSslMode::Prefer),
            ("require", SslMode::Require, WireSslMode::Require),
            ("verify-ca", SslMode::VerifyCa, WireSslMode::Require),
            ("verify-full", SslMode::VerifyFull, WireSslMode::Require),
        ] {
            let s = parse(&format!("postgres://u@h/db?sslmode={raw}"));
            assert_eq!(s.ssl_mode(), mode, "{raw}");
            assert_eq!(s.config.get_ssl_mode(), wire, "{raw}");
            assert_eq!(mode.as_str(), raw);
        }
    }

    #[test]
    fn sslrootcert_is_kept_and_makes_require_verify_the_chain() {
        let s = parse("postgresql://u@h/db?sslmode=require&sslrootcert=%2Fetc%2Frds%20ca.pem");
        assert_eq!(s.root_cert(), Some(Path::new("/etc/rds ca.pem")));
        assert_eq!(s.ssl_mode(), SslMode::VerifyCa);

        let full = parse("postgres://u@h/db?sslrootcert=/ca.pem&sslmode=verify-full");
        assert_eq!(full.ssl_mode(), SslMode::VerifyFull);
        assert_eq!(full.root_cert(), Some(Path::new("/ca.pem")));

        let system = parse("postgres://u@h/db?sslmode=verify-full&sslrootcert=system");
        assert_eq!(system.root_cert(), None, "`system` adds no file");
    }

    #[test]
    fn other_parameters_reach_tokio_postgres_unchanged() {
        let s = parse(
            "postgres://u@h/db?application_name=prober&connect_timeout=3&pool_size=2\
             &options=-c%20statement_timeout%3D5000",
        );
        assert_eq!(s.config.get_application_name(), Some("prober"));
        assert_eq!(s.connect_timeout(), Duration::from_secs(3));
        assert_eq!(s.pool_size(), 2);
        assert_eq!(s.config.get_options(), Some("-c statement_timeout=5000"));
    }

    #[test]
    fn builders_change_one_thing() {
        let s = parse("postgres://u@h/db")
            .with_database("other")
            .with_pool_size(0)
            .with_ssl_mode(SslMode::Disable)
            .with_check_on_checkout(true);
        assert_eq!(s.database(), Some("other"));
        assert_eq!(s.pool_size(), 1, "a pool has at least one connection");
        assert_eq!(s.config.get_ssl_mode(), WireSslMode::Disable);
        assert!(s.check_on_checkout());
    }

    #[test]
    fn bad_urls_are_refused_with_a_reason() {
        assert!(refused("mysql://u@h/db").contains("postgres://"));
        assert!(refused("h:5432/db").contains("postgres://"));
        assert!(refused("postgres://u@h/db?sslmode=bogus").contains("verify-full"));
        assert!(refused("postgres://u@h/db?sslmode=allow").contains("sslmode"));
        assert!(refused("postgres://u@h/db?pool_size=0").contains("pool_size"));
        assert!(refused("postgres://u@h/db?pool_size=many").contains("pool_size"));
        assert!(refused("postgres://u@h:notaport/db").contains("invalid"));
        assert!(refused("postgres://u@h/db?nonsense=1").contains("nonsense"));
        assert!(refused("postgres:///db").contains("host"));
    }

    #[test]
    fn neither_errors_nor_debug_show_the_password() {
        let err = refused("postgres://u:hunter2@h:bad/db");
        assert!(!err.contains("hunter2"), "{err}");
        let s = parse("postgres://u:hunter2@h/db");
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
