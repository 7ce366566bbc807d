//! `sentinel check URL`: one check through the same probe and condition code as the
//! engine, printed like `curl -w` with the timing breakdown and each condition.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use sentinel_core::check::{CheckResult, judge};
use sentinel_core::monitor::DurationInput;
use sentinel_core::{MonitorInput, UnixMs};
use sentinel_probe::{ProbeSettings, Prober, load_pem_certificates};

#[derive(clap::Args)]
pub struct CheckArgs {
    /// The http(s) URL to check.
    url: String,
    /// A Gatus-style condition, e.g. "[STATUS] == 200"; repeat for more.
    #[arg(short = 'c', long = "condition")]
    conditions: Vec<String>,
    /// HTTP method.
    #[arg(short = 'X', long, default_value = "GET")]
    method: String,
    /// A request header "Name: value"; repeat for more.
    #[arg(short = 'H', long = "header")]
    headers: Vec<String>,
    /// Request body.
    #[arg(short = 'd', long)]
    data: Option<String>,
    /// Give up after this long (e.g. 5s).
    #[arg(long, default_value = "10s")]
    timeout: String,
    /// Do not follow redirects.
    #[arg(long)]
    no_follow: bool,
    /// Extra CA certificate (PEM) to trust, e.g. for a self-signed internal service.
    #[arg(long)]
    ca_file: Option<PathBuf>,
    /// Refuse private, loopback and link-local addresses (as the cloud prober does).
    #[arg(long)]
    deny_private: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

fn now_ms() -> UnixMs {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub async fn run(args: CheckArgs) -> ExitCode {
    let mut headers = BTreeMap::new();
    for raw in &args.headers {
        match raw.split_once(':') {
            Some((k, v)) => {
                headers.insert(k.trim().to_owned(), v.trim().to_owned());
            }
            None => {
                eprintln!("sentinel check: --header {raw:?}: expected \"Name: value\"");
                return ExitCode::from(2);
            }
        }
    }
    let input = MonitorInput {
        name: Some("check".into()),
        url: Some(args.url.clone()),
        method: Some(args.method.clone()),
        headers,
        body: args.data.clone(),
        interval: Some(DurationInput::Text("24h".into())),
        timeout: Some(DurationInput::Text(args.timeout.clone())),
        conditions: args.conditions.clone(),
        failure_threshold: Some(1),
        follow_redirects: Some(!args.no_follow),
        ..MonitorInput::default()
    };
    let spec = match input.validate() {
        Ok(spec) => spec,
        Err(errors) => {
            for e in errors.errors {
                let flag = match e.field.as_str() {
                    f if f.starts_with("conditions") => format!("--condition ({f})"),
                    f if f.starts_with("headers") => format!("--header ({f})"),
                    "body" => "--data".to_owned(),
                    "method" => "--method".to_owned(),
                    "timeout" => "--timeout".to_owned(),
                    other => other.to_owned(),
                };
                eprintln!("sentinel check: {flag}: {}", e.message);
            }
            return ExitCode::from(2);
        }
    };
    let mut settings = ProbeSettings {
        allow_private: !args.deny_private,
        ..ProbeSettings::default()
    };
    if let Some(ca) = &args.ca_file {
        match load_pem_certificates([ca]) {
            Ok(certs) => settings.extra_root_certs = certs,
            Err(e) => {
                eprintln!("sentinel check: --ca-file: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let prober = match Prober::new(settings) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("sentinel check: {e}");
            return ExitCode::from(2);
        }
    };
    let outcome = prober.check(&spec, now_ms()).await;
    let result = judge(&spec, &outcome);
    if args.json {
        match serde_json::to_string_pretty(&result) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("sentinel check: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        print!(
            "{}",
            render(spec.method.as_str(), spec.url.as_str(), &result)
        );
    }
    if result.success {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1} ms"))
}

/// The human report.
pub fn render(method: &str, url: &str, r: &CheckResult) -> String {
    let verdict = if r.success { "UP" } else { "DOWN" };
    let status = r
        .status_code
        .map_or_else(|| "no response".to_owned(), |c| c.to_string());
    let mut out = format!("{verdict}  {method} {url} → {status}\n");
    if let Some(ip) = &r.ip {
        out.push_str(&format!("  ip            {ip}\n"));
    }
    out.push_str(&format!("  dns           {}\n", ms(r.timings.dns_ms)));
    out.push_str(&format!("  connect       {}\n", ms(r.timings.connect_ms)));
    out.push_str(&format!("  tls           {}\n", ms(r.timings.tls_ms)));
    out.push_str(&format!(
        "  first byte    {}\n",
        ms(r.timings.first_byte_ms)
    ));
    out.push_str(&format!(
        "  total         {}\n",
        ms(Some(r.timings.total_ms))
    ));
    if let Some(exp) = r.cert_expires_at {
        let t = std::time::UNIX_EPOCH
            + std::time::Duration::from_millis(u64::try_from(exp).unwrap_or(0));
        let days = (exp - r.checked_at) / 86_400_000;
        out.push_str(&format!(
            "  certificate   expires {} (in {days} days)\n",
            humantime::format_rfc3339_seconds(t)
        ));
    }
    for c in &r.conditions {
        let mark = if c.success { "✓" } else { "✗" };
        out.push_str(&format!(
            "  {mark} {}   (actual: {})\n",
            c.condition, c.actual
        ));
    }
    if let Some(reason) = &r.failure_reason {
        out.push_str(&format!("  reason        {reason}\n"));
    }
    out
}
