//! HTTPS for the hosted client metadata documents.
//!
//! Many authorization servers fetch a client ID metadata document only from an `https://` URL, so
//! the tool serves the documents over TLS too. No public CA will certify a loopback or lab host, so
//! each run makes its own CA; its PEM goes into the report folder and the operator tells the server
//! under test to trust it. The CA key is discarded once the leaf is signed and the certificates
//! expire within days, so a CA file left in some trust store cannot vouch for anything else.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// The CA's subject, so an operator who finds it in a trust store knows where it came from.
const CA_NAME: &str = "mcp-oauth-conform test CA (this run only)";

/// Long enough for any run; short enough that a forgotten trust entry soon becomes harmless.
const VALIDITY: time::Duration = time::Duration::days(7);

/// A client that connects and never finishes the handshake must not hold a task forever.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot generate the test certificates: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("cannot configure TLS with the test certificates: {0}")]
    Config(#[from] rustls::Error),
}

/// A per-run certificate authority and the server configuration for a leaf it signed.
#[derive(Clone)]
pub struct Authority {
    /// The CA certificate, PEM; what the server under test must trust.
    pub ca_pem: String,
    config: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The server config holds the leaf's private key.
        f.debug_struct("Authority").finish_non_exhaustive()
    }
}

impl Authority {
    /// A fresh CA and a leaf for `hosts`: host names or IP literals (`127.0.0.1`, `::1`, `[::1]`),
    /// without ports. IP literals become IP subject-alt-names, as clients match them only there.
    pub fn generate(hosts: &[String]) -> Result<Authority, TlsError> {
        let (ca, ca_key) = ca_params()?;
        let ca_pem = ca.self_signed(&ca_key)?.pem();
        leaf_for(ca_pem, &Issuer::new(ca, ca_key), hosts)
    }

    /// A new CA to keep (`--cimd-ca-dir`): its certificate and its key, both PEM.
    pub fn new_ca() -> Result<(String, String), TlsError> {
        let (ca, ca_key) = ca_params()?;
        let ca_pem = ca.self_signed(&ca_key)?.pem();
        Ok((ca_pem, ca_key.serialize_pem()))
    }

    /// A leaf for `hosts` signed by a CA the operator keeps (`--cimd-ca-dir`): the server under
    /// test can be told to trust it before the run, which a CA made during the run cannot be.
    pub fn with_ca(
        ca_pem: &str,
        ca_key_pem: &str,
        hosts: &[String],
    ) -> Result<Authority, TlsError> {
        let key = KeyPair::from_pem(ca_key_pem)?;
        let issuer = Issuer::from_ca_cert_pem(ca_pem, key)?;
        leaf_for(ca_pem.to_string(), &issuer, hosts)
    }
}

fn ca_params() -> Result<(CertificateParams, KeyPair), TlsError> {
    let (not_before, not_after) = validity();
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::default();
    ca.distinguished_name.push(DnType::CommonName, CA_NAME);
    // Path length 0: this CA signs leaves only.
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    (ca.not_before, ca.not_after) = (not_before, not_after);
    Ok((ca, ca_key))
}

/// Backdated a little so a server whose clock runs slightly behind still accepts it.
fn validity() -> (time::OffsetDateTime, time::OffsetDateTime) {
    let now = time::OffsetDateTime::now_utc();
    (now - time::Duration::hours(1), now + VALIDITY)
}

fn leaf_for(
    ca_pem: String,
    issuer: &Issuer<'_, KeyPair>,
    hosts: &[String],
) -> Result<Authority, TlsError> {
    let (not_before, not_after) = validity();
    let names: Vec<String> = hosts
        .iter()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned())
        .collect();
    let leaf_key = KeyPair::generate()?;
    let mut leaf = CertificateParams::new(names)?;
    leaf.distinguished_name
        .push(DnType::CommonName, "mcp-oauth-conform client metadata host");
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    (leaf.not_before, leaf.not_after) = (not_before, not_after);
    let leaf_der = leaf.signed_by(&leaf_key, issuer)?.der().clone();

    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    // An explicit provider: this works whether or not a process-wide default was installed.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![leaf_der], key)?;
    // The tool's axum speaks HTTP/1 only; offering just that keeps clients off h2.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Authority {
        ca_pem,
        config: Arc::new(config),
    })
}

/// Serves `app` over HTTPS on `listener` with the authority's leaf certificate until the returned
/// task is aborted (aborting also closes the listening socket). Must be called inside a Tokio
/// runtime.
pub fn serve(listener: TcpListener, authority: &Authority, app: Router) -> JoinHandle<()> {
    let listener = TlsListener {
        tcp: listener,
        acceptor: TlsAcceptor::from(authority.config.clone()),
        handshakes: JoinSet::new(),
    };
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    })
}

/// Hands axum only connections whose handshake completed. Handshakes run concurrently, so one slow
/// or failing client neither blocks nor stops the others; they live in a `JoinSet` so that dropping
/// the server cancels them too.
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    handshakes: JoinSet<Option<(TlsStream<TcpStream>, SocketAddr)>>,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            // Both branches are cancel-safe, so a connection is never lost between them.
            tokio::select! {
                accepted = self.tcp.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let acceptor = self.acceptor.clone();
                        self.handshakes.spawn(async move {
                            let handshake = acceptor.accept(stream);
                            let stream = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await;
                            Some((stream.ok()?.ok()?, peer))
                        });
                    }
                    // Usually transient (out of file descriptors): back off, as axum does.
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                },
                Some(done) = self.handshakes.join_next(), if !self.handshakes.is_empty() => {
                    if let Ok(Some(connection)) = done {
                        return connection;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;

    fn url_for(addr: SocketAddr) -> String {
        // SocketAddr's Display brackets IPv6 literals, as URLs need.
        format!("https://{addr}/")
    }

    fn hosts() -> Vec<String> {
        ["127.0.0.1", "::1", "localhost"].map(String::from).to_vec()
    }

    fn client_trusting(ca_pem: &str) -> reqwest::Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes()).expect("CA PEM parses");
        reqwest::Client::builder()
            .tls_certs_only([ca])
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client builds")
    }

    async fn start(bind: &str, authority: &Authority) -> Option<(String, JoinHandle<()>)> {
        let listener = TcpListener::bind(bind).await.ok()?;
        let url = url_for(listener.local_addr().ok()?);
        let app = Router::new().route("/", get(|| async { "ok" }));
        Some((url, serve(listener, authority, app)))
    }

    #[tokio::test]
    async fn serves_https_trusted_only_through_this_runs_ca() {
        let authority = Authority::generate(&hosts()).unwrap();
        assert!(authority.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        let (url, server) = start("127.0.0.1:0", &authority).await.unwrap();

        // A client trusting another run's CA fails the handshake with an error, not a panic,
        // and the server keeps serving afterwards.
        let other = Authority::generate(&hosts()).unwrap();
        let refused = client_trusting(&other.ca_pem).get(&url).send().await;
        let error = refused.expect_err("a foreign CA must not verify");
        assert!(
            format!("{error:?}").contains("InvalidCertificate"),
            "{error:?}"
        );
        // Plain HTTP to the TLS port is another failed handshake.
        let plain = client_trusting(&authority.ca_pem)
            .get(url.replacen("https", "http", 1))
            .send()
            .await;
        assert!(plain.is_err(), "{plain:?}");

        let response = client_trusting(&authority.ca_pem).get(&url).send().await;
        let body = response.unwrap().text().await.unwrap();
        assert_eq!(body, "ok");
        server.abort();
    }

    #[tokio::test]
    async fn stalled_handshake_does_not_block_others() {
        let authority = Authority::generate(&hosts()).unwrap();
        let (url, server) = start("127.0.0.1:0", &authority).await.unwrap();
        let addr = url.trim_start_matches("https://").trim_end_matches('/');
        // Connected but silent: the handshake never starts.
        let _stalled = TcpStream::connect(addr).await.unwrap();
        let response = client_trusting(&authority.ca_pem).get(&url).send().await;
        assert_eq!(response.unwrap().text().await.unwrap(), "ok");
        server.abort();
    }

    #[tokio::test]
    async fn leaf_covers_ipv6_loopback() {
        let authority = Authority::generate(&hosts()).unwrap();
        let Some((url, server)) = start("[::1]:0", &authority).await else {
            eprintln!("IPv6 loopback unavailable; skipping");
            return;
        };
        let response = client_trusting(&authority.ca_pem).get(&url).send().await;
        assert_eq!(response.unwrap().text().await.unwrap(), "ok");
        server.abort();
    }

    #[tokio::test]
    async fn bracketed_ipv6_and_names_are_accepted() {
        let hosts = ["[::1]", "metadata.test"].map(String::from);
        assert!(Authority::generate(&hosts).is_ok());
    }
}
