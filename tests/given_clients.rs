//! A server without dynamic client registration, with its clients registered beforehand: the
//! profile's `[[clients]]` gives one per role, and the checks that need a second, a web or a
//! confidential client run instead of skipping. The run never deletes a client it was given.

use mcp_oauth_conform::demo;
use mcp_oauth_conform::reference::{Options, PreRegistered, Reference};
use mcp_oauth_conform::runner::{self, RunSettings, verdict::Verdict};
use mcp_oauth_conform::session::{ClientConfig, ClientEntry, ClientKind};
use mcp_oauth_conform::suite::Suite;

/// Checks that need a client of another role than `main`.
const NEED_ROLES: &[(&str, &str)] = &[
    ("pkce.downgrade", "confidential"),
    ("redirect.exact-match", "web"),
    ("redirect.host-confusion", "web"),
    ("redirect.scheme-downgrade", "web"),
    ("redirect.fragment", "web"),
    ("redirect.required-when-multiple", "multi"),
    ("authz.response-encoding", "query"),
    ("token.code-client-binding", "second"),
    ("refresh.client-binding", "second"),
    ("token.secret-in-body-supported", "confidential-post"),
];

/// About clients anyone can register: not one the operator registered.
const PRECAUTION: &str = "authz.untrusted-redirect-precaution";

const SECRET: &str = "conform-confidential-secret-0123456789";
const POST_SECRET: &str = "conform-post-secret-0123456789";

fn operator_clients() -> Vec<PreRegistered> {
    let client = |id: &str, secret: Option<&str>, method: &str, uris: &[&str]| PreRegistered {
        client_id: id.into(),
        secret: secret.map(str::to_string),
        auth_method: method.into(),
        redirect_uris: uris.iter().map(|u| u.to_string()).collect(),
    };
    vec![
        client(
            "conform-second",
            None,
            "none",
            &["http://127.0.0.1/callback"],
        ),
        client(
            "conform-web",
            None,
            "none",
            &["https://client.example/cb", "http://127.0.0.1/callback?x=1"],
        ),
        client(
            "conform-confidential",
            Some(SECRET),
            "client_secret_basic",
            &["http://127.0.0.1/callback"],
        ),
        client(
            "conform-confidential-post",
            Some(POST_SECRET),
            "client_secret_post",
            &["http://127.0.0.1/callback"],
        ),
    ]
}

/// The same clients as the profile gives them (as `[[clients]]` entries).
fn profile_clients() -> Vec<ClientEntry> {
    operator_clients()
        .into_iter()
        .map(|c| {
            let role = match c.client_id.as_str() {
                "conform-second" => ClientKind::Second,
                "conform-web" => ClientKind::Web,
                "conform-confidential" => ClientKind::Confidential,
                _ => ClientKind::ConfidentialPost,
            };
            ClientEntry {
                role,
                id: c.client_id,
                secret: c.secret,
                auth_method: Some(c.auth_method),
                redirect_uris: c.redirect_uris,
            }
        })
        .collect()
}

fn run(clients: Vec<ClientEntry>) -> runner::RunRecord {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let reference = Reference::start(Options {
            flaws: ["no-registration-endpoint".parse().unwrap()]
                .into_iter()
                .collect(),
            clients: operator_clients(),
            ..Default::default()
        })
        .await
        .unwrap();
        let target = demo::target(&reference).unwrap();
        let settings = RunSettings {
            // Only the clients given (no URL clients either): what a check lacks is named.
            client: ClientConfig {
                mode: Some(mcp_oauth_conform::session::ClientMode::Static),
                id: Some("conform-public".into()),
                clients,
                ..Default::default()
            },
            ..demo::settings().unwrap()
        };
        let checks: Vec<_> = Suite::builtin()
            .unwrap()
            .checks
            .into_iter()
            .filter(|c| NEED_ROLES.iter().any(|(id, _)| c.id == *id) || c.id == PRECAUTION)
            .collect();
        assert_eq!(checks.len(), NEED_ROLES.len() + 1);
        let run = runner::run_silent(&target, &settings, &checks, 8)
            .await
            .unwrap();
        reference.shutdown().await;
        run
    })
}

#[test]
fn without_them_the_checks_skip_and_name_the_role_and_the_profile_key() {
    let run = run(Vec::new());
    let roles = regex::Regex::new(
        r#"needs a ([a-z-]+) client: .*`\[\[clients\]\]` with `role = "([a-z-]+)"`"#,
    )
    .unwrap();
    for o in run.outcomes.iter().filter(|o| o.id != PRECAUTION) {
        let want = NEED_ROLES.iter().find(|(id, _)| *id == o.id).unwrap().1;
        assert_eq!(o.verdict, Verdict::Skip, "{}: {}", o.id, o.message);
        let named = roles
            .captures(&o.message)
            .unwrap_or_else(|| panic!("{}: no role named: {}", o.id, o.message));
        // The role the check needs first (a check may need another one too, later).
        let all: Vec<&str> = NEED_ROLES.iter().map(|(_, r)| *r).collect();
        assert!(all.contains(&&named[1]), "{}: {}", o.id, o.message);
        if named[1] == *want {
            assert!(
                named[2] == *want || want == "multi" || want == "query",
                "{}: {}",
                o.id,
                o.message
            );
        }
    }
}

#[test]
fn with_them_the_checks_run_and_pass_and_no_client_is_deleted() {
    let run = run(profile_clients());
    let bad: Vec<String> = run
        .outcomes
        .iter()
        .filter(|o| o.verdict != Verdict::Pass && o.id != PRECAUTION)
        .map(|o| format!("{} {}: {}", o.id, o.verdict, o.message))
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    // The operator's clients are trusted: an error redirect to them before login is allowed.
    let precaution = run.outcomes.iter().find(|o| o.id == PRECAUTION).unwrap();
    assert_eq!(precaution.verdict, Verdict::Skip, "{}", precaution.message);
    assert!(
        precaution.message.contains("[[clients]]"),
        "{}",
        precaution.message
    );
    let f = &run.footprint;
    assert_eq!(f.registrations, 0, "{f:?}");
    assert!(f.tokens_issued.access > 0, "{f:?}");
    // The tokens the checks were issued are revoked; the clients given are left alone.
    assert_eq!(f.left_behind.tokens, 0, "{f:?}");
    assert_eq!(f.left_behind.clients, 0, "{f:?}");
    assert!(
        !run.cleanup_exchanges
            .iter()
            .any(|x| x.request.method == "DELETE"),
        "a given client was deleted"
    );
}
