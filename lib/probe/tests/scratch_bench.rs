mod support;
use support::*;

fn thread_cpu_ticks() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    let f: Vec<&str> = s.rsplit(')').next().unwrap().split_whitespace().collect();
    (f[11].parse().unwrap(), f[12].parse().unwrap())
}
fn children_ticks() -> u64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap();
    let f: Vec<&str> = s.rsplit(')').next().unwrap().split_whitespace().collect();
    f[13].parse::<u64>().unwrap() + f[14].parse::<u64>().unwrap()
}

#[test]
#[ignore]
fn bench_cpu() {
    let ca = TestCa::new();
    let (chain, key) = ca.leaf(&["localhost", "127.0.0.1"], (2024, 1, 1), (2040, 1, 1));
    let pem = std::env::temp_dir().join("bench-ca.pem");
    std::fs::write(&pem, &ca.pem).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
            let addr = serve_https(app, chain, key).await;
            tx.send(addr).unwrap();
            std::future::pending::<()>().await;
        });
    });
    let addr = rx.recv().unwrap();
    let n = 400;
    let url = format!("https://{addr}/");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let p = prober_trusting(&ca.cert);
    let s = spec(&url);
    rt.block_on(async {
        for _ in 0..20 {
            assert!(p.check(&s, 0).await.error.is_none());
        }
    });
    rt.block_on(async { let mut v = vec![]; for _ in 0..200 { let t = std::time::Instant::now(); let o = p.check(&s, 0).await; v.push((t.elapsed().as_secs_f64()*1000.0, o.timings)); }
        v.sort_by(|a,b| a.0.partial_cmp(&b.0).unwrap()); for x in [0, 100, 180, 195, 199] { eprintln!("{:?}", v[x]); } });
    let (u0, s0) = thread_cpu_ticks();
    let t = std::time::Instant::now();
    rt.block_on(async {
        for _ in 0..n {
            assert!(p.check(&s, 0).await.error.is_none());
        }
    });
    let (u1, s1) = thread_cpu_ticks();
    eprintln!(
        "prober: {:.3} ms cpu/check (user {} sys {} ticks), wall {:.3} ms/check",
        ((u1 - u0) + (s1 - s0)) as f64 * 10.0 / n as f64,
        u1 - u0,
        s1 - s0,
        t.elapsed().as_secs_f64() * 1000.0 / n as f64
    );

    let c0 = children_ticks();
    let mut cmd = std::process::Command::new("curl");
    cmd.args([
        "-s",
        "-o",
        "/dev/null",
        "--no-sessionid",
        "--cacert",
        pem.to_str().unwrap(),
        "-H",
        "Connection: close",
    ]);
    for _ in 0..n {
        cmd.arg(&url);
    }
    let st = cmd.status().unwrap();
    assert!(st.success());
    let c1 = children_ticks();
    eprintln!(
        "curl one process, {n} urls: {:.3} ms cpu/request",
        (c1 - c0) as f64 * 10.0 / n as f64
    );
    let c0 = children_ticks();
    for _ in 0..100 {
        let st = std::process::Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "--cacert",
                pem.to_str().unwrap(),
                &url,
            ])
            .status()
            .unwrap();
        assert!(st.success());
    }
    let c1 = children_ticks();
    eprintln!(
        "curl process per request: {:.3} ms cpu/request",
        (c1 - c0) as f64 * 10.0 / 100.0
    );
}
