//! Client ID Metadata Documents, the tool's side: a document server that hosts one client
//! metadata document per case at an unguessable path, answers each fetch as the case says, and
//! logs every request it gets. The log is how the authorization server's outbound behaviour
//! (did it fetch, follow a redirect, fetch again after an error) becomes observable.
//!
//! The server listens on loopback (plain http, or https with a certificate from a CA made for
//! the run); a public base URL (`--cimd-base-url`) names it where a tunnel or reverse proxy
//! exposes it to an authorization server on another machine.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

pub mod cases;
pub mod tls;

use cases::{Answer, Body, Placement, SpecialBases};

use crate::suite::model::DocumentCase;

/// How the document server is reached.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// Where to listen (default `127.0.0.1:0`).
    pub listen: Option<SocketAddr>,
    /// The public URL the documents are reached at, ending in `/` (default: the listener's).
    pub base_url: Option<url::Url>,
    /// Serve https with a certificate from a CA made for this run.
    pub https: bool,
    /// The authorization server's host, when it is on this machine: the document server also
    /// listens on loopback addresses other than that one, for the special-address cases.
    pub as_host: Option<String>,
    /// A CA kept between runs (`ca.pem`, `ca-key.pem`; made there on first use), so that the
    /// server under test can trust it before the run starts.
    pub ca_dir: Option<std::path::PathBuf>,
    /// Where the CA certificate of an https server is written for the operator.
    pub ca_out: Option<std::path::PathBuf>,
    /// The shortest time the server under test keeps a document whatever its headers say (the
    /// draft lets it set such a floor): `cimd.cache-headers` waits this long before it looks.
    pub cache_floor_secs: Option<u64>,
}

/// One request the document server received.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Fetch {
    /// Order of arrival in the run.
    pub seq: usize,
    #[serde(skip)]
    pub at: SystemTime,
    /// The document the request was for (its id), if any.
    #[serde(skip)]
    pub doc: Option<String>,
    /// A fetch of the redirect target (`redirect`), not of the client_id URL.
    pub at_target: bool,
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub status: u16,
    pub response_headers: Vec<(String, String)>,
    pub body: String,
    pub body_len: usize,
}

struct Doc {
    case: DocumentCase,
    placement: Placement,
    redirect_uris: Vec<String>,
    later_redirect_uris: Vec<String>,
    target_url: String,
    fetches: usize,
    fixed: bool,
}

#[derive(Default)]
struct Inner {
    docs: Mutex<HashMap<String, Doc>>,
    /// The document whose client_id has no path (its fetches arrive at `/`).
    root: Mutex<Option<String>>,
    log: Mutex<Vec<Fetch>>,
    drip: Duration,
    scheme: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("the client metadata document server cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error("the client metadata document server's certificate: {0}")]
    Tls(#[from] tls::TlsError),
    #[error("the client metadata document server's CA: {path}: {source}")]
    CaFile {
        path: String,
        source: std::io::Error,
    },
}

/// The CA kept in `dir`, made and written there when it has none yet.
fn kept_ca(dir: &std::path::Path) -> Result<(String, String), ServerError> {
    let (cert, key) = (dir.join("ca.pem"), dir.join("ca-key.pem"));
    let read = |p: &std::path::Path| {
        std::fs::read_to_string(p).map_err(|source| ServerError::CaFile {
            path: p.display().to_string(),
            source,
        })
    };
    if cert.exists() && key.exists() {
        return Ok((read(&cert)?, read(&key)?));
    }
    let (ca_pem, key_pem) = tls::Authority::new_ca()?;
    write_file(&cert, &ca_pem, false)?;
    write_file(&key, &key_pem, true)?;
    Ok((ca_pem, key_pem))
}

/// Writes a file, creating its folder; a private key readable by its owner only.
fn write_file(path: &std::path::Path, text: &str, private: bool) -> Result<(), ServerError> {
    let err = |source| ServerError::CaFile {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    use std::io::Write;
    options
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(err)
}

pub struct DocumentServer {
    base: url::Url,
    special: SpecialBases,
    inner: Arc<Inner>,
    /// The CA certificate of an https server, for the server under test to trust.
    pub ca_pem: Option<String>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl DocumentServer {
    /// Starts the listeners. `drip` is how long a slow-drip document takes (longer than the
    /// run waits for an answer).
    pub async fn start(settings: &Settings, drip: Duration) -> Result<DocumentServer, ServerError> {
        let scheme = if settings.https { "https" } else { "http" };
        let inner = Arc::new(Inner {
            drip,
            scheme,
            ..Default::default()
        });
        let app = Router::new().fallback(serve).with_state(inner.clone());
        let addr = settings
            .listen
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let listener = bind(addr).await?;
        let local = listener
            .local_addr()
            .map_err(|source| ServerError::Listen {
                addr: addr.to_string(),
                source,
            })?;
        let special_hosts = special_hosts(settings.as_host.as_deref());
        let authority = if settings.https {
            let mut hosts = vec!["127.0.0.1".to_string(), "::1".into(), "localhost".into()];
            hosts.extend(special_hosts.iter().map(|h| h.to_string()));
            if let Some(h) = settings.base_url.as_ref().and_then(|u| u.host_str()) {
                hosts.push(h.trim_start_matches('[').trim_end_matches(']').to_string());
            }
            let authority = match &settings.ca_dir {
                Some(dir) => {
                    let (cert, key) = kept_ca(dir)?;
                    tls::Authority::with_ca(&cert, &key, &hosts)?
                }
                None => tls::Authority::generate(&hosts)?,
            };
            if let Some(out) = &settings.ca_out {
                write_file(out, &authority.ca_pem, false)?;
            }
            Some(authority)
        } else {
            None
        };
        let mut tasks = Vec::new();
        let mut spawn = |listener: tokio::net::TcpListener| match &authority {
            Some(a) => tasks.push(tls::serve(listener, a, app.clone())),
            None => {
                let app = app.clone();
                tasks.push(tokio::spawn(async move {
                    let _ = axum::serve(listener, app).await;
                }));
            }
        };
        spawn(listener);
        let mut special = SpecialBases::default();
        match &settings.as_host {
            None => {
                special.why_none = "the authorization server is not on this machine: a refused special-use address cannot be told from a fetch that found nothing there, so the tool only tests this against an authorization server on loopback, where its own document server listens on those addresses".into();
            }
            Some(_) => {
                special.why_none =
                    "the document server could not listen on that loopback address here".into();
                for host in special_hosts {
                    let Ok(ip) = host.parse::<std::net::IpAddr>() else {
                        continue;
                    };
                    let Ok(l) = tokio::net::TcpListener::bind(SocketAddr::new(ip, 0)).await else {
                        continue;
                    };
                    let Ok(port) = l.local_addr().map(|a| a.port()) else {
                        continue;
                    };
                    spawn(l);
                    let base = match ip {
                        std::net::IpAddr::V4(_) => &mut special.ipv4,
                        std::net::IpAddr::V6(_) => &mut special.ipv6,
                    };
                    let shown = if ip.is_ipv6() {
                        format!("[{ip}]")
                    } else {
                        ip.to_string()
                    };
                    *base = Some(format!("{scheme}://{shown}:{port}/"));
                }
            }
        }
        let base = match &settings.base_url {
            Some(u) => u.clone(),
            None => {
                let host = match local.ip() {
                    std::net::IpAddr::V6(ip) => format!("[{ip}]"),
                    ip => ip.to_string(),
                };
                let raw = format!("{scheme}://{host}:{}/", local.port());
                url::Url::parse(&raw).map_err(|e| ServerError::Listen {
                    addr: raw.clone(),
                    source: std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
                })?
            }
        };
        Ok(DocumentServer {
            base,
            special,
            inner,
            ca_pem: authority.map(|a| a.ca_pem.clone()),
            tasks,
        })
    }

    /// The URL documents are served under.
    pub fn base(&self) -> &url::Url {
        &self.base
    }

    /// Hosts a fresh document of a case; `Err` (why) when the case cannot be built here.
    pub fn create(
        &self,
        case: DocumentCase,
        redirect_uris: Vec<String>,
        later_redirect_uris: Vec<String>,
    ) -> Result<Placement, String> {
        let id = crate::oauth::pkce::random_token(12);
        let (client_id, at_root) = cases::client_id_for(case, &self.base, &id, &self.special)?;
        let placement = Placement {
            client_id,
            id: id.clone(),
            at_root,
        };
        let target_url = format!("{}{id}/target.json", self.base.as_str());
        if at_root {
            if let Ok(mut r) = self.inner.root.lock() {
                *r = Some(id.clone());
            }
        }
        if let Ok(mut docs) = self.inner.docs.lock() {
            docs.insert(
                id,
                Doc {
                    case,
                    placement: placement.clone(),
                    redirect_uris,
                    later_redirect_uris,
                    target_url,
                    fetches: 0,
                    fixed: false,
                },
            );
        }
        Ok(placement)
    }

    /// The step that met a document's broken version has ended: from now on it is whole.
    pub fn fix(&self, id: &str) {
        if let Some(doc) = self
            .inner
            .docs
            .lock()
            .ok()
            .as_mut()
            .and_then(|d| d.get_mut(id))
        {
            doc.fixed = true;
        }
    }

    /// Every request for a document so far, in order of arrival.
    pub fn fetches_of(&self, id: &str) -> Vec<Fetch> {
        self.inner
            .log
            .lock()
            .map(|l| {
                l.iter()
                    .filter(|f| f.doc.as_deref() == Some(id))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for DocumentServer {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, ServerError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Listen {
            addr: addr.to_string(),
            source,
        })
}

/// Loopback addresses that are not the authorization server's own: a server that refuses
/// special-use addresses refuses these, and a fetch of them reaches only this tool.
fn special_hosts(as_host: Option<&str>) -> Vec<&'static str> {
    let Some(host) = as_host.map(|h| h.trim_start_matches('[').trim_end_matches(']')) else {
        return Vec::new();
    };
    let localhost = host.eq_ignore_ascii_case("localhost");
    let v4 = ["127.0.0.2", "127.0.0.3"].into_iter().find(|h| *h != host);
    let v6 = (!localhost && host != "::1").then_some("::1");
    v4.into_iter().chain(v6).collect()
}

async fn serve(
    State(inner): State<Arc<Inner>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> Response {
    let path = uri.path();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let at_target = segments.last() == Some(&"target.json");
    let mut docs = match inner.docs.lock() {
        Ok(d) => d,
        Err(_) => return (axum::http::StatusCode::INTERNAL_SERVER_ERROR).into_response(),
    };
    let id = segments
        .iter()
        .find(|s| docs.contains_key(**s))
        .map(|s| s.to_string())
        .or_else(|| {
            segments
                .is_empty()
                .then(|| inner.root.lock().ok().and_then(|r| r.clone()))
                .flatten()
        });
    let answer = match id.as_ref().and_then(|id| docs.get_mut(id)) {
        Some(doc) => {
            doc.fetches += 1;
            cases::answer(&cases::Context {
                case: doc.case,
                placement: &doc.placement,
                redirect_uris: &doc.redirect_uris,
                later_redirect_uris: &doc.later_redirect_uris,
                fetch_no: doc.fetches,
                fixed: doc.fixed,
                at_target,
                target_url: &doc.target_url,
                drip: inner.drip,
            })
        }
        None => Answer {
            status: 404,
            headers: vec![("content-type", "text/plain".into())],
            body: Body::Bytes(b"no such document".to_vec()),
        },
    };
    drop(docs);
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let (excerpt, len) = match &answer.body {
        Body::Bytes(b) | Body::Drip(b, _) => {
            let (text, _) = crate::http::exchange::evidence_text(&b[..b.len().min(2048)]);
            (text, b.len())
        }
    };
    if let Ok(mut log) = inner.log.lock() {
        let seq = log.len() + 1;
        log.push(Fetch {
            seq,
            at: SystemTime::now(),
            doc: id,
            at_target,
            method: method.to_string(),
            url: format!("{}://{host}{uri}", inner.scheme),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into()))
                .collect(),
            status: answer.status,
            response_headers: answer
                .headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            body: excerpt,
            body_len: len,
        });
    }
    respond(answer)
}

fn respond(answer: Answer) -> Response {
    let status = axum::http::StatusCode::from_u16(answer.status)
        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = axum::http::Response::builder().status(status);
    for (k, v) in &answer.headers {
        builder = builder.header(*k, v.as_str());
    }
    let body = match answer.body {
        Body::Bytes(b) => axum::body::Body::from(b),
        Body::Drip(bytes, over) => {
            let pause = over / (bytes.len().max(1) as u32);
            let stream = futures_util::stream::unfold(0usize, move |i| {
                let bytes = bytes.clone();
                async move {
                    if i >= bytes.len() {
                        return None;
                    }
                    tokio::time::sleep(pause).await;
                    Some((
                        Ok::<_, std::convert::Infallible>(axum::body::Bytes::copy_from_slice(
                            &bytes[i..=i],
                        )),
                        i + 1,
                    ))
                }
            });
            axum::body::Body::from_stream(stream)
        }
    };
    builder
        .body(body)
        .unwrap_or_else(|_| axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
