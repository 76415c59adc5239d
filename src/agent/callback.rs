//! The loopback listener behind the tool's redirect URIs (`http://127.0.0.1:PORT/callback`).
//! Only a person's browser (`interactive`) or an external program (`command`) actually requests
//! it; every request that arrives is kept, including ones at paths the tool never registered.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::response::Html;
use tokio::sync::Notify;

#[derive(Default)]
struct Hits {
    urls: Mutex<Vec<String>>,
    arrived: Notify,
}

pub struct CallbackListener {
    addr: SocketAddr,
    hits: Arc<Hits>,
    task: tokio::task::JoinHandle<()>,
}

impl CallbackListener {
    pub async fn start() -> std::io::Result<CallbackListener> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let hits = Arc::new(Hits::default());
        let app = Router::new().fallback(record).with_state(hits.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(CallbackListener { addr, hits, task })
    }

    /// The redirect URI the tool registers: `http://127.0.0.1:PORT{path}`.
    pub fn uri(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.addr.port())
    }

    /// Waits until a request carrying `state` arrives (any request when `state` is None).
    pub async fn wait_for(&self, state: Option<&str>) -> String {
        loop {
            let notified = self.hits.arrived.notified();
            if let Some(hit) = self.find(state) {
                return hit;
            }
            notified.await;
        }
    }

    fn find(&self, state: Option<&str>) -> Option<String> {
        let urls = self.hits.urls.lock().ok()?;
        urls.iter()
            .find(|u| match state {
                None => true,
                Some(s) => url::Url::parse(u)
                    .is_ok_and(|u| u.query_pairs().any(|(k, v)| k == "state" && v == s)),
            })
            .cloned()
    }

    /// Every URL requested so far.
    pub fn hits(&self) -> Vec<String> {
        self.hits.urls.lock().map(|u| u.clone()).unwrap_or_default()
    }
}

impl Drop for CallbackListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record(
    State(hits): State<Arc<Hits>>,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> Html<&'static str> {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    if let Ok(mut u) = hits.urls.lock() {
        u.push(format!("http://{host}{uri}"));
    }
    hits.arrived.notify_waiters();
    Html(
        "<!doctype html><title>mcp-oauth-conform</title><p>mcp-oauth-conform received the redirect. You can close this window.</p>",
    )
}
