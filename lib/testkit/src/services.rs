//! The real servers the adapter tests talk to: PostgreSQL, a MongoDB-compatible server
//! (SecantusDB) and the AWS emulator moto.
//!
//! `.ci/run` starts one of each and exports `SENTINEL_TEST_POSTGRES_URL`,
//! `SENTINEL_TEST_MONGODB_URI` and `SENTINEL_TEST_AWS_ENDPOINT`; every test binary then
//! shares them (tests isolate themselves by database, table, queue or bucket name).
//! When a variable is unset, the first test in the process that asks starts its own
//! server on a free loopback port in a temp dir, with a watchdog that stops it and
//! removes the dir when the test process exits — so `cargo test` alone works on a
//! machine where the servers are installed (`.ci/run` installs them), and fails with a
//! message saying what to install where they are not.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A superuser URL of a running PostgreSQL, e.g. `postgres://postgres@127.0.0.1:5433/postgres`.
pub fn postgres_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| from_env("SENTINEL_TEST_POSTGRES_URL").unwrap_or_else(start_postgres))
}

/// A URI of a running MongoDB-compatible server, e.g.
/// `mongodb://127.0.0.1:27018/?directConnection=true`.
pub fn mongodb_uri() -> &'static str {
    static URI: OnceLock<String> = OnceLock::new();
    URI.get_or_init(|| from_env("SENTINEL_TEST_MONGODB_URI").unwrap_or_else(start_mongo))
}

/// The base URL of a running moto server, e.g. `http://127.0.0.1:5001`. Clients use it
/// as their endpoint with region `us-east-1` and any credentials.
pub fn aws_endpoint() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| from_env("SENTINEL_TEST_AWS_ENDPOINT").unwrap_or_else(start_moto))
}

/// The workspace root (where `.venv/` lives).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// A command from the workspace's `.venv/bin`, else from `PATH`.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let venv = workspace_root().join(".venv/bin").join(name);
    if venv.is_file() {
        return Some(venv);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind a free loopback port")
}

/// Waits until something accepts connections on the loopback `port`.
pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn from_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn missing(what: &str, install: &str) -> ! {
    panic!(
        "{what} is needed by this test and not installed. Either run `.ci/run` (it \
         installs and starts the test servers), or install it ({install}), or point the \
         SENTINEL_TEST_* variables at running servers."
    )
}

fn temp_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "sentinel-{prefix}-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).expect("create a temp dir for a test server");
    dir
}

/// Runs `start` (a shell command) in the background under a watchdog that runs `stop`
/// and removes `dir` once this test process has exited.
fn spawn_watched(start: &str, stop: &str, dir: &Path, log: &Path) {
    let script = format!(
        "{start} >>'{log}' 2>&1 &\n\
         child=$!\n\
         while kill -0 {parent} 2>/dev/null; do sleep 1; done\n\
         {stop}\n\
         kill $child 2>/dev/null; wait $child 2>/dev/null\n\
         rm -rf '{dir}'\n",
        log = log.display(),
        parent = std::process::id(),
        dir = dir.display(),
    );
    let mut watchdog = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn a test server watchdog");
    // It outlives this process by design; reap it if it ends earlier.
    std::thread::spawn(move || watchdog.wait());
}

fn start_mongo() -> String {
    let Some(bin) = find_tool("secantusd-py") else {
        missing(
            "SecantusDB (secantusd-py)",
            "pip install secantusdb into .venv",
        )
    };
    let port = free_port();
    let dir = temp_dir("mongo");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).expect("create the SecantusDB data dir");
    let start = format!(
        "'{}' --host 127.0.0.1 --port {port} --storage-path '{}'",
        bin.display(),
        data.display()
    );
    spawn_watched(&start, ":", &dir, &dir.join("server.log"));
    assert!(
        wait_for_port(port, Duration::from_secs(30)),
        "SecantusDB did not start; see {}",
        dir.join("server.log").display()
    );
    format!("mongodb://127.0.0.1:{port}/?directConnection=true")
}

fn start_moto() -> String {
    let Some(bin) = find_tool("moto_server") else {
        missing(
            "moto (moto_server)",
            "pip install 'moto[server]' into .venv",
        )
    };
    let port = free_port();
    let dir = temp_dir("moto");
    // moto's DynamoDB has no locks: concurrent conditional writes can both win. The
    // wrapper serialises DynamoDB requests (see scripts/moto_serial.py); it runs on the
    // Python that has moto, next to `moto_server`.
    let python = bin.with_file_name("python3");
    let serial = workspace_root().join("scripts/moto_serial.py");
    let start = if python.is_file() && serial.is_file() {
        format!(
            "'{}' '{}' 127.0.0.1 {port}",
            python.display(),
            serial.display()
        )
    } else {
        format!("'{}' -H 127.0.0.1 -p {port}", bin.display())
    };
    spawn_watched(&start, ":", &dir, &dir.join("server.log"));
    assert!(
        wait_for_port(port, Duration::from_secs(60)),
        "moto did not start; see {}",
        dir.join("server.log").display()
    );
    format!("http://127.0.0.1:{port}")
}

/// The directory holding `initdb` and `pg_ctl`: `PG_BIN`, Debian's newest
/// `/usr/lib/postgresql/<v>/bin`, or `PATH`.
pub fn postgres_bin_dir() -> Option<PathBuf> {
    if let Some(dir) = from_env("PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .or_else(|| find_tool("initdb").and_then(|p| p.parent().map(Path::to_path_buf)))
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn start_postgres() -> String {
    let Some(bin) = postgres_bin_dir() else {
        missing("PostgreSQL", "apt-get install postgresql")
    };
    let port = free_port();
    let dir = temp_dir("pg");
    let data = dir.join("data");
    // initdb refuses to run as root: run the server as the Debian `postgres` user then.
    let as_user = |cmd: String| -> String {
        if running_as_root() {
            format!("su postgres -s /bin/sh -c \"{cmd}\"")
        } else {
            cmd
        }
    };
    if running_as_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres"])
            .arg(&dir)
            .status()
            .expect("run chown");
        assert!(
            status.success(),
            "chown of the PostgreSQL test dir to `postgres` failed"
        );
    }
    let init = as_user(format!(
        "'{}/initdb' -D '{}' -U postgres --auth=trust --no-sync -E UTF8",
        bin.display(),
        data.display()
    ));
    let out = Command::new("sh")
        .arg("-c")
        .arg(&init)
        .output()
        .expect("run initdb");
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Foreground `postgres` under the watchdog; `-k` keeps the socket in our dir.
    let start = as_user(format!(
        "exec '{}/postgres' -D '{}' -p {port} -k '{}' -c listen_addresses=127.0.0.1 \
         -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
         -c max_connections=200",
        bin.display(),
        data.display(),
        dir.display()
    ));
    let stop = as_user(format!(
        "'{}/pg_ctl' -D '{}' stop -m immediate",
        bin.display(),
        data.display()
    ));
    spawn_watched(&start, &stop, &dir, &dir.join("server.log"));
    assert!(
        wait_for_port(port, Duration::from_secs(30)),
        "PostgreSQL did not start; see {}",
        dir.join("server.log").display()
    );
    // The port opens before the server accepts sessions ("starting up").
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = Command::new(bin.join("pg_isready"))
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ready {
            break;
        }
        assert!(Instant::now() < deadline, "PostgreSQL never became ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    format!("postgres://postgres@127.0.0.1:{port}/postgres")
}
