//! The end of every run: what the run created on the deployment is taken away again. Every token
//! it was issued is revoked (RFC 7009) as the client that obtained it, refresh tokens first
//! (revoking one revokes its grant on most servers), then access tokens; then every client it
//! registered is deleted (RFC 7592 `DELETE` on its `registration_client_uri`, with its
//! `registration_access_token`). What could not be revoked or deleted is counted in the
//! footprint's `left_behind`: a token without a revocation endpoint, or that the endpoint did
//! not answer 200 for; a client whose registration response carried no RFC 7592 data, or whose
//! `DELETE` failed. Clients the user gave the run (`--client-id`, `[[clients]]`) are never
//! deleted, and tokens it was given (`[tokens]`) never revoked: they were not issued to it. Revoking a token the checks already revoked or rotated out is harmless (RFC
//! 7009 §2.2 answers 200 for invalid tokens) and counts as cleaned.
//!
//! The clean-up is bounded in time ([`BUDGET`] in all, each request within the run's timeout),
//! runs after the run's own deadline too, goes through an [`HttpClient`] that shares the run's
//! redactor, and its exchanges are reported with the discovery ones. `--keep` skips it: then
//! everything created is left behind, and the footprint says so.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::Value;

use crate::footprint::{CreatedClient, IssuedToken, LeftBehind, TokenKind};
use crate::http::{Exchange, HttpClient, HttpSettings, Request};
use crate::runner::ctx::RunCtx;
use crate::suite::model::ClientAuth;

/// The longest the whole clean-up may take.
pub const BUDGET: Duration = Duration::from_secs(30);
/// Requests in flight at once.
const CONCURRENCY: usize = 4;

/// What the clean-up did.
#[derive(Debug, Default)]
pub struct Cleanup {
    /// Its requests and answers, for the report (with the discovery exchanges).
    pub exchanges: Vec<Exchange>,
    pub left_behind: LeftBehind,
    /// Requests it sent.
    pub requests: u64,
    /// Tokens revoked and clients deleted.
    pub revoked: u64,
    pub deleted: u64,
}

/// Revokes and deletes what the run created (unless `keep`), and completes the run's footprint:
/// `left_behind`, and `requests` (the run's and the clean-up's).
pub async fn run(ctx: &RunCtx, settings: &HttpSettings, keep: bool) -> Cleanup {
    let footprint = &ctx.session.footprint;
    let tokens = footprint.issued_tokens();
    // Only what the run registered: never a client the user gave it, whatever a registration
    // response said.
    let clients: Vec<CreatedClient> = footprint
        .created_clients()
        .into_iter()
        .filter(|c| !ctx.session.is_configured(&c.client_id))
        .collect();
    let cleanup = if keep {
        Cleanup {
            left_behind: LeftBehind {
                clients: clients.len() as u64,
                tokens: tokens.len() as u64,
            },
            ..Cleanup::default()
        }
    } else {
        clean(ctx, settings, &tokens, &clients).await
    };
    footprint.set_left_behind(cleanup.left_behind.clone());
    footprint.set_requests(ctx.http.requests_sent() + cleanup.requests);
    cleanup
}

async fn clean(
    ctx: &RunCtx,
    settings: &HttpSettings,
    tokens: &[IssuedToken],
    clients: &[CreatedClient],
) -> Cleanup {
    let mut out = Cleanup::default();
    if tokens.is_empty() && clients.is_empty() {
        return out;
    }
    // Its own client: the run's deadline may have passed, and the clean-up has its own.
    let http = match HttpClient::new(
        HttpSettings {
            deadline: Some(Instant::now() + BUDGET),
            ..settings.clone()
        },
        ctx.http.redactor().clone(),
    ) {
        Ok(h) => h,
        Err(_) => {
            out.left_behind = LeftBehind {
                clients: clients.len() as u64,
                tokens: tokens.len() as u64,
            };
            return out;
        }
    };
    let endpoint = ctx
        .vars
        .pointer("/as/revocation_endpoint")
        .and_then(Value::as_str)
        .filter(|e| !e.is_empty());
    for kind in [TokenKind::Refresh, TokenKind::Access] {
        let batch: Vec<&IssuedToken> = tokens.iter().filter(|t| t.kind == kind).collect();
        // Read per batch: the refresh tokens' revocations may have taught it.
        let wants_id = ctx.session.basic_wants_client_id();
        let results: Vec<(bool, Vec<Exchange>)> = futures_util::stream::iter(
            batch
                .into_iter()
                .map(|t| revoke(ctx, &http, endpoint, t, wants_id)),
        )
        .buffered(CONCURRENCY)
        .collect()
        .await;
        for (done, ex) in results {
            if done {
                out.revoked += 1;
            } else {
                out.left_behind.tokens += 1;
            }
            out.exchanges.extend(ex);
        }
    }
    let results: Vec<(bool, Option<Exchange>)> =
        futures_util::stream::iter(clients.iter().map(|c| delete(&http, c)))
            .buffered(CONCURRENCY)
            .collect()
            .await;
    for (done, ex) in results {
        if done {
            out.deleted += 1;
        } else {
            out.left_behind.clients += 1;
        }
        out.exchanges.extend(ex);
    }
    out.requests = http.requests_sent();
    out
}

/// RFC 7009 revocation of one token as the client that obtained it: whether the server answered
/// 200. HTTP Basic refused for want of `client_id` in the body is sent again with it (`wants_id`:
/// at once), as the checks' requests are.
async fn revoke(
    ctx: &RunCtx,
    http: &HttpClient,
    endpoint: Option<&str>,
    token: &IssuedToken,
    wants_id: bool,
) -> (bool, Vec<Exchange>) {
    let (Some(endpoint), Some(client)) = (endpoint, &token.client) else {
        return (false, Vec::new());
    };
    let mut headers = vec![("Accept".to_string(), "application/json".to_string())];
    let mut params = vec![
        ("token".to_string(), token.value.clone()),
        ("token_type_hint".to_string(), token.kind.hint().to_string()),
    ];
    let mut query = Vec::new();
    client.authenticate(
        ClientAuth::Registered,
        &mut headers,
        &mut params,
        &mut query,
    );
    let req = Request::form("POST", endpoint, headers, query, params);
    let retry = client
        .basic_alone(ClientAuth::Registered)
        .then(|| client.with_body_client_id(&req))
        .flatten();
    let (req, retry) = match retry {
        Some(with_id) if wants_id => (with_id, None),
        retry => (req, retry),
    };
    let (ex, result) = http.send(&req).await;
    let mut exchanges = vec![ex];
    let result = match (result, retry) {
        (Ok(resp), Some(again)) if crate::session::refuses_client(&resp) => {
            let (ex, result) = http.send(&again).await;
            exchanges.push(ex);
            if result
                .as_ref()
                .is_ok_and(|r| !crate::session::refuses_client(r))
            {
                ctx.session.learned_basic_wants_client_id();
            }
            result
        }
        (result, _) => result,
    };
    (result.is_ok_and(|r| r.status == 200), exchanges)
}

/// RFC 7592 §2.3 deletion of one client: whether the server answered 204 (or another 2xx).
async fn delete(http: &HttpClient, client: &CreatedClient) -> (bool, Option<Exchange>) {
    let Some(m) = &client.management else {
        return (false, None);
    };
    let req = Request {
        method: "DELETE".into(),
        url: m.registration_client_uri.clone(),
        headers: vec![(
            "Authorization".into(),
            format!("Bearer {}", m.registration_access_token),
        )],
        body: None,
    };
    let (ex, result) = http.send(&req).await;
    (
        result.is_ok_and(|r| (200..300).contains(&r.status)),
        Some(ex),
    )
}
