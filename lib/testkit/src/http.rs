//! Plain HTTP test servers: a target whose health can be flipped, and a webhook
//! receiver that records what it gets (and can be told to fail).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use parking_lot::Mutex;
use tokio::net::TcpListener;

/// Serves `app` on 127.0.0.1 at a free port (with TCP_NODELAY, as real servers do).
pub async fn serve_http(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// An HTTP target answering 200 or 503 on `/health`.
#[derive(Clone)]
pub struct Target {
    pub addr: SocketAddr,
    healthy: Arc<AtomicBool>,
}

impl Target {
    pub async fn start() -> Self {
        let healthy = Arc::new(AtomicBool::new(true));
        let app = Router::new()
            .route(
                "/health",
                get(|State(h): State<Arc<AtomicBool>>| async move {
                    if h.load(Ordering::SeqCst) {
                        (StatusCode::OK, "{\"status\":\"UP\"}")
                    } else {
                        (StatusCode::SERVICE_UNAVAILABLE, "{\"status\":\"DOWN\"}")
                    }
                }),
            )
            .with_state(Arc::clone(&healthy));
        let addr = serve_http(app).await;
        Self { addr, healthy }
    }

    pub fn set_healthy(&self, up: bool) {
        self.healthy.store(up, Ordering::SeqCst);
    }

    pub fn url(&self) -> String {
        format!("http://{}/health", self.addr)
    }
}

#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Default)]
struct ReceiverState {
    received: Mutex<Vec<Received>>,
    /// Answer 500 to this many requests before accepting.
    fail_next: AtomicU32,
    always_fail: AtomicBool,
}

/// A webhook receiver on `/hook`.
#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    state: Arc<ReceiverState>,
}

impl Receiver {
    pub async fn start() -> Self {
        let state = Arc::new(ReceiverState::default());
        let app = Router::new()
            .route(
                "/hook",
                post(
                    |State(s): State<Arc<ReceiverState>>, headers: HeaderMap, body: Bytes| async move {
                        if s.always_fail.load(Ordering::SeqCst) {
                            return StatusCode::INTERNAL_SERVER_ERROR;
                        }
                        if s
                            .fail_next
                            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                            .is_ok()
                        {
                            return StatusCode::INTERNAL_SERVER_ERROR;
                        }
                        s.received.lock().push(Received { headers, body });
                        StatusCode::OK
                    },
                ),
            )
            .with_state(Arc::clone(&state));
        let addr = serve_http(app).await;
        Self { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().clone()
    }

    pub fn fail_next(&self, n: u32) {
        self.state.fail_next.store(n, Ordering::SeqCst);
    }

    pub fn set_down(&self, down: bool) {
        self.state.always_fail.store(down, Ordering::SeqCst);
    }
}
