//! The suite file format: serde types for `suites/*.toml`. Unknown keys are errors everywhere, so
//! a typo in a suite file is reported with its line and column instead of silently ignored.
//!
//! The model is the bottom layer of the suite: it imports nothing from the crate but
//! `revision`, so the enums suites name (`Level`, `ClientKind`, `Forgery`, `JsonType`) live here
//! and the modules that act on them import them from here.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::revision::{Revision, RevisionSet};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteFile {
    #[serde(default)]
    pub check: Vec<Spanned<CheckDef>>,
    #[serde(default)]
    pub sequence: Vec<Spanned<SequenceDef>>,
}

/// Steps several checks begin the same way with (obtaining a refresh token, say), written once
/// and named; a check's `action = "use"` step stands for them. Names are global to the suite.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequenceDef {
    pub name: Spanned<String>,
    /// What the steps obtain, for whoever reads the suite.
    #[serde(default)]
    pub about: Option<String>,
    #[serde(rename = "step")]
    pub steps: Vec<StepDef>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Party {
    As,
    Rs,
    Both,
}

impl Party {
    pub fn as_str(self) -> &'static str {
        match self {
            Party::As => "as",
            Party::Rs => "rs",
            Party::Both => "both",
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckDef {
    /// The requirement's catalogue ID (`family.name`); also the trial name.
    pub id: Spanned<String>,
    pub title: String,
    pub party: Party,
    pub level: Level,
    /// Per-revision overrides of `level`, for rows whose strength changed between revisions.
    #[serde(default)]
    pub levels: BTreeMap<Revision, Level>,
    pub revisions: RevisionSet,
    #[serde(default)]
    pub refs: Vec<String>,
    /// Variables the check cannot run without; a missing one makes the check `skip`.
    #[serde(default)]
    pub needs: Vec<String>,
    /// A condition on discovery results; when it does not hold the check is `skip` with `why`.
    #[serde(default)]
    pub applies: Option<When>,
    /// Where real servers legitimately differ: the reading this check grades by, and the other.
    #[serde(default)]
    pub reading: Option<String>,
    /// What goes wrong, and for whom, when a server breaks this requirement.
    #[serde(default)]
    pub why: Option<String>,
    /// What the server's author changes to pass.
    #[serde(default)]
    pub fix: Option<String>,
    #[serde(rename = "step")]
    pub steps: Vec<StepDef>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionKind {
    /// Any HTTP request.
    Http,
    /// A JSON-RPC request to the MCP endpoint, with a chosen credential variant.
    Mcp,
    /// No request: assert on a variable (discovery results, an earlier step).
    Inspect,
    /// An authorization request, taken through the user agent to the redirect back.
    Authorize,
    /// A token request (authorization code, refresh token, or any grant).
    Token,
    /// The registration of one of the run's clients, made once per run (no request of its own).
    Register,
    /// A revocation request (RFC 7009) for a token an earlier step obtained.
    Revoke,
    /// An introspection request (RFC 7662) for a token an earlier step obtained.
    Introspect,
    /// No request: time passes (`seconds`, at most five minutes), for what only changes with it.
    Wait,
    /// The steps of the `[[sequence]]` named by `sequence`, in their place; the loader expands it,
    /// so no run ever sees one. Its `when` is added to each of those steps' own.
    Use,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Http => "http",
            ActionKind::Mcp => "mcp",
            ActionKind::Inspect => "inspect",
            ActionKind::Authorize => "authorize",
            ActionKind::Token => "token",
            ActionKind::Register => "register",
            ActionKind::Revoke => "revoke",
            ActionKind::Introspect => "introspect",
            ActionKind::Wait => "wait",
            ActionKind::Use => "use",
        }
    }
}

/// The credential an `mcp` step presents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenKind {
    /// No `Authorization` header.
    None,
    /// 43 random base64url characters: the shape of a real opaque token.
    Random,
    /// Three base64url segments that decode to nothing a server could have issued.
    JwtGarbage,
    /// A single character.
    OneChar,
    /// A 16 KiB random token.
    Oversize,
}

/// One step of a check. The fields are flat (serde cannot deny unknown keys through `flatten`);
/// the loader rejects fields that do not apply to the step's action.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepDef {
    pub action: Spanned<ActionKind>,
    /// How findings of this step are introduced in messages; derived from the request if absent.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub when: Option<When>,
    /// Name under which later steps (and notes) can read this step's exchange: `${name.status}`.
    #[serde(default)]
    pub save: Option<String>,
    /// A line added to the check's message after the step, with `${this.…}` available.
    #[serde(default)]
    pub note: Option<String>,
    /// Severity of this step's expectations, when it differs from the check's level.
    #[serde(default)]
    pub level: Option<Level>,
    /// The step only sets the check up (obtains a token, say): when its expectations fail, the
    /// check is `skip` with what went wrong, not a verdict on the server. Default: see
    /// [`StepDef::is_setup`] (an unaltered request that only has to succeed).
    #[serde(default)]
    pub precondition: Option<bool>,
    /// Conditions under which this step's expectations are graded at all. When they do not hold
    /// (a 500 where the check is about what a 401 carries), the step is not graded here: the
    /// message mentions what was seen and `graded_by`, the check that grades that defect.
    #[serde(default)]
    pub given: Option<Expect>,
    /// The check that grades what `given` (or a matcher's own `graded_by`) rules out.
    #[serde(default)]
    pub graded_by: Option<String>,
    /// authorize: before grading a refusal, show that the unaltered request reaches a code for
    /// this client and user agent (default: on for altered requests that may log in).
    #[serde(default)]
    pub control: Option<bool>,
    /// Every check that makes this same request shares one answer: the first to get there sends
    /// it, the others read it. Real servers rate-limit registration, authorization and token
    /// requests; ordinary flows need not be repeated per check. A shared code or refresh token is
    /// never redeemed by an unshared step (the loader refuses it).
    #[serde(default)]
    pub shared: bool,

    // http and mcp
    #[serde(default)]
    pub method: Option<String>,
    /// http, mcp: where the request goes; introspect: an endpoint the metadata does not name.
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    #[serde(default)]
    pub headers: BTreeMap<String, OneOrMany>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub json: Option<toml::Value>,
    #[serde(default)]
    pub form: Option<BTreeMap<String, String>>,
    /// How many redirects to follow (default 0: the step sees the 3xx itself).
    #[serde(default)]
    pub follow: Option<u8>,

    // mcp
    #[serde(default)]
    pub rpc: Option<String>,
    #[serde(default)]
    pub params: Option<toml::Value>,
    #[serde(default)]
    pub token: Option<TokenKind>,
    /// Raw `Authorization` header value(s); several values send several headers.
    #[serde(default)]
    pub authorization: Option<OneOrMany>,
    /// `Mcp-Session-Id` to send.
    #[serde(default)]
    pub session: Option<String>,
    /// mcp: a token to present as `Authorization: Bearer …` (usually a saved step's token).
    #[serde(default)]
    pub bearer: Option<String>,
    /// mcp: alter `bearer`, or mint a JWT modelled on it, before presenting it.
    #[serde(default)]
    pub forge: Option<Forgery>,
    /// mcp with `forge`: payload claims to set.
    #[serde(default)]
    pub claims: BTreeMap<String, toml::Value>,
    /// mcp with `forge`: the authorization server's signing key, a JWK (for key confusion, and
    /// the `kid` a forged token copies).
    #[serde(default)]
    pub jwk: Option<String>,
    /// mcp: first open a session the way a client does (`initialize`, then
    /// `notifications/initialized` in the session the server names, with the same credential)
    /// and send the request in it; before the stateless 2026-07-28 protocol only.
    #[serde(default)]
    pub open_session: Option<bool>,
    /// mcp: list the tools, call each with empty arguments, and observe the first refusal
    /// (401/403); `${name.json.tool}` is the refused tool. No refusal: the check skips.
    #[serde(default)]
    pub find_refused_tool: Option<bool>,

    /// wait: how long, in seconds (a number, or a `${…}` variable holding one).
    #[serde(default)]
    pub seconds: Option<String>,
    /// use: the name of the `[[sequence]]` whose steps go here.
    #[serde(default)]
    pub sequence: Option<Spanned<String>>,
    /// use: variables the sequence reads under another name here (`{ tok = "moved" }`: where
    /// the sequence reads `tok`, this check's `moved`).
    #[serde(default)]
    pub with: BTreeMap<String, String>,

    // inspect
    #[serde(default)]
    pub value: Option<String>,
    /// inspect: decode `value` first; `jwt` observes `{header, payload}` of a JWT, `base64` the
    /// text inside a base64, base64url or JWT-encoded value.
    #[serde(default)]
    pub decode: Option<Decode>,

    // authorize and token
    /// Which client makes the request (default: `main`; a token step: the authorize step's).
    #[serde(default)]
    pub client: Option<ClientKind>,
    /// Parameters to set (replacing the default value, or added); an empty string sends `k=`.
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    /// Default parameters to leave out.
    #[serde(default)]
    pub omit: Vec<String>,
    /// Parameters appended after all others, duplicates included: `[["redirect_uri", "…"]]`.
    #[serde(default)]
    pub add: Vec<[String; 2]>,
    /// authorize: the client is a URL client whose client ID metadata document the tool serves,
    /// answering the authorization server's fetches as the case says (one document per case and
    /// check: a second step naming the same case reads the same document and its fetch log).
    #[serde(default)]
    pub document: Option<DocumentCase>,
    /// authorize: may the user agent log in and consent (default true)?
    #[serde(default)]
    pub login: Option<bool>,
    /// authorize: how a redirect to a URI the client never registered is graded (default must).
    #[serde(default)]
    pub unregistered: Option<Level>,
    /// token: the saved step whose code (authorize) or refresh token (token) is used; default "auth".
    #[serde(default)]
    pub from: Option<String>,
    /// token: `authorization_code` (default), `refresh_token`, or any other grant_type value.
    #[serde(default)]
    pub grant: Option<String>,
    /// token: how the client authenticates (default: as it registered).
    #[serde(default)]
    pub auth: Option<ClientAuth>,
    /// token: parameters with one character in the middle changed before sending (tampering).
    #[serde(default)]
    pub flip: Vec<String>,
    /// revoke, introspect: which token of the `from` step, `access_token` (default) or
    /// `refresh_token`; also sent as `token_type_hint`.
    #[serde(default)]
    pub token_type: Option<String>,

    #[serde(default)]
    pub expect: Expect,
}

impl StepDef {
    /// A step the engine makes itself (the preflight's flow, a positive control), written as a
    /// suite file would write it.
    pub fn internal(toml_text: &str) -> Result<StepDef, String> {
        toml::from_str(toml_text).map_err(|e| format!("internal error: a built-in step: {e}"))
    }

    /// Whether the step sends a request of its own design: a changed, removed or added parameter,
    /// another method, another client authentication, a tampered value.
    pub fn is_altered(&self) -> bool {
        !self.set.is_empty()
            || !self.omit.is_empty()
            || !self.add.is_empty()
            || !self.flip.is_empty()
            || self.method.is_some()
            || self.auth.is_some()
            || self.login == Some(false)
            || self.document.is_some_and(|d| d != DocumentCase::Valid)
            // A registration with metadata of its own.
            || (*self.action.get_ref() == ActionKind::Register
                && (self.json.is_some() || !self.headers.is_empty()))
    }

    /// A set-up step obtains what the check needs and says nothing about the requirement: an
    /// unaltered authorization, token or registration request whose expectations only ask that it
    /// succeeded. Its failure makes the check skip (the check that grades the ordinary flow
    /// reports it); `precondition = true/false` overrides.
    pub fn is_setup(&self) -> bool {
        if let Some(p) = self.precondition {
            return p;
        }
        let obtains = match *self.action.get_ref() {
            ActionKind::Authorize | ActionKind::Register => true,
            ActionKind::Token => matches!(
                self.grant.as_deref(),
                None | Some("authorization_code") | Some("refresh_token")
            ),
            _ => false,
        };
        obtains && !self.is_altered() && self.expect.only_asks_success()
    }
}

impl Expect {
    /// Nothing is expected but success: at most a 2xx status, an authorization outcome of
    /// `code`, a non-empty access token.
    pub fn only_asks_success(&self) -> bool {
        let status_ok = self.status.as_ref().is_none_or(|set| {
            set.patterns().iter().all(|p| match p {
                StatusPattern::Code(c) => (200..300).contains(c),
                StatusPattern::Pattern(p) => p == "2xx",
            })
        });
        let json_ok = self.json.iter().all(|(pointer, m)| match pointer.as_str() {
            "/outcome" => {
                m.equals.as_ref().and_then(|v| v.as_str()) == Some("code") && m.one_of.is_none()
            }
            // That a token or a client id came back, no more.
            "/access_token" | "/client_id" => {
                m.graded_by.is_none()
                    && m.absent.is_none()
                    && m.equals.is_none()
                    && m.not_equals.is_none()
                    && m.one_of.is_none()
                    && m.matches.is_none()
                    && m.not_matches.is_none()
                    && m.contains.is_none()
                    && m.not_contains.is_none()
                    && m.min_length.is_none()
            }
            _ => false,
        });
        status_ok
            && json_ok
            && self.status_not.is_none()
            && self.header.is_empty()
            && self.body.is_none()
            && self.challenge.is_none()
            && self.no_empty_values.is_none()
            && self.jwks_public.is_none()
            && self.no_redirect_to.is_none()
            && self.any_of.is_empty()
    }
}

/// How the tool's document server answers the fetches of one client ID metadata document.
/// `url-*` and `special-*` cases change the client_id URL itself (the document there claims
/// that exact URL), so that only the URL's shape or host can be the reason for a refusal.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum DocumentCase {
    /// A complete, valid document: client_id, client_name, redirect_uris, grant_types,
    /// response_types, token_endpoint_auth_method `none`.
    Valid,
    /// `client_id` is the URL with a trailing slash.
    MismatchTrailingSlash,
    /// `client_id` is the URL with its path in upper case.
    MismatchCase,
    /// `client_id` is another path on the same origin.
    MismatchPath,
    /// The body is not JSON.
    NotJson,
    /// The body is a JSON array holding the document.
    JsonArray,
    MissingClientId,
    MissingRedirectUris,
    /// Everything but `client_name` (which the draft does not require).
    MissingClientName,
    /// `token_endpoint_auth_method: client_secret_basic`.
    SecretAuthMethod,
    /// A `client_secret` member.
    ClientSecret,
    /// 302 to a second path serving a document that claims the first URL.
    Redirect,
    #[serde(rename = "status-404")]
    Status404,
    #[serde(rename = "status-500")]
    Status500,
    /// 201 with a valid document.
    #[serde(rename = "status-201")]
    Status201,
    /// 500 on the first fetch, the valid document afterwards.
    ErrorThenValid,
    /// `Cache-Control: no-store`; the first fetch lists one redirect URI, later ones another.
    NoStoreChanging,
    /// A valid document padded to 6 KiB (above the 5 KiB the draft suggests as a limit).
    #[serde(rename = "size-6kb")]
    Size6kb,
    /// A valid document padded to 1 MiB.
    #[serde(rename = "size-1mb")]
    Size1mb,
    /// A valid document sent a byte at a time over three times the run's request timeout.
    SlowDrip,
    /// A valid document served as `text/plain`.
    TextPlain,
    /// The client_id uses plain http on a host that is not loopback.
    UrlHttp,
    /// The client_id is an origin without a path.
    UrlNoPath,
    /// The client_id has a `..` segment.
    UrlDotSegments,
    /// The client_id has a fragment.
    UrlFragment,
    /// The client_id has user information.
    UrlUserinfo,
    /// The client_id has a query component.
    UrlQuery,
    /// The client_id's host is the loopback address 127.0.0.2 (not the authorization server's).
    SpecialIpv4Loopback,
    /// The client_id's host is the IPv6 loopback address `[::1]`.
    SpecialIpv6Loopback,
}

impl DocumentCase {
    pub fn as_str(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decode {
    Jwt,
    /// The text `value` decodes to as base64 or base64url, piece by piece (a JWT's segments),
    /// and what those pieces decode to in turn: what anyone holding the value can read from it.
    Base64,
}

/// How a token request authenticates its client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientAuth {
    /// As the client registered.
    Registered,
    /// `client_id` in the body and nothing else.
    None,
    /// HTTP Basic.
    Basic,
    /// `client_id` and `client_secret` in the body.
    Post,
    /// HTTP Basic and the secret in the body at once.
    Both,
    /// `client_id` and `client_secret` in the URL query.
    Query,
    /// HTTP Basic with a wrong secret.
    BasicBogus,
    /// No client identification at all.
    Anonymous,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn values(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// Conditions under which a step runs; a step whose condition is false is left out silently.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct When {
    #[serde(default)]
    pub revisions: Option<RevisionSet>,
    /// Variables that must exist (and not be null).
    #[serde(default)]
    pub present: Vec<String>,
    /// Variables that must not exist.
    #[serde(default)]
    pub absent: Vec<String>,
    /// Variable → value: the variable (an array or a string) contains the value.
    #[serde(default)]
    pub contains: BTreeMap<String, toml::Value>,
    /// Variable → value: the variable equals the value.
    #[serde(default)]
    pub equals: BTreeMap<String, toml::Value>,
    /// Variable → value: the variable (an array or a string) does not contain the value.
    #[serde(default)]
    pub lacks: BTreeMap<String, toml::Value>,
    /// Variable → regular expression its text must match.
    #[serde(default)]
    pub matches: BTreeMap<String, String>,
    /// For a check's `applies`: the reason given when the check does not apply.
    #[serde(default)]
    pub why: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The status is one of these (numbers, or patterns such as "4xx"); or a table `{ in = [...],
    /// level, why, graded_by }` when that expectation has its own level or is another check's.
    #[serde(default)]
    pub status: Option<StatusExpect>,
    #[serde(default)]
    pub status_not: Option<Vec<StatusPattern>>,
    /// Header name (case-insensitive) → matcher over its value (several values joined by ", ").
    #[serde(default)]
    pub header: BTreeMap<String, Matcher>,
    /// JSON pointer (RFC 6901) into the body → matcher. "" is the whole document.
    #[serde(default)]
    pub json: BTreeMap<String, Matcher>,
    /// Matcher over the body text.
    #[serde(default)]
    pub body: Option<Matcher>,
    /// Assertions on the response's `WWW-Authenticate` Bearer challenge.
    #[serde(default)]
    pub challenge: Option<ChallengeExpect>,
    /// No top-level member of the JSON document is an empty array, string or object.
    #[serde(default)]
    pub no_empty_values: Option<NoEmptyValues>,
    /// The document is a JWK Set with public members only.
    #[serde(default)]
    pub jwks_public: Option<bool>,
    /// The Location header must not point at this URI (prefix comparison).
    #[serde(default)]
    pub no_redirect_to: Option<String>,
    /// Alternatives: the step passes when any one of them holds entirely.
    #[serde(default)]
    pub any_of: Vec<Expect>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum StatusExpect {
    List(Vec<StatusPattern>),
    Table(StatusTable),
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusTable {
    #[serde(rename = "in")]
    pub set: Vec<StatusPattern>,
    #[serde(default)]
    pub level: Option<Level>,
    #[serde(default)]
    pub why: Option<String>,
    /// Another check grades the status: a different one is only mentioned here.
    #[serde(default)]
    pub graded_by: Option<String>,
}

impl StatusExpect {
    pub fn patterns(&self) -> &[StatusPattern] {
        match self {
            StatusExpect::List(l) => l,
            StatusExpect::Table(t) => &t.set,
        }
    }
    fn table(&self) -> Option<&StatusTable> {
        match self {
            StatusExpect::List(_) => None,
            StatusExpect::Table(t) => Some(t),
        }
    }
    pub fn level(&self) -> Option<Level> {
        self.table().and_then(|t| t.level)
    }
    pub fn why(&self) -> Option<&str> {
        self.table().and_then(|t| t.why.as_deref())
    }
    pub fn graded_by(&self) -> Option<&str> {
        self.table().and_then(|t| t.graded_by.as_deref())
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum StatusPattern {
    Code(u16),
    Pattern(String),
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoEmptyValues {
    /// Members whose empty value has a defined meaning (JSON pointers).
    #[serde(default)]
    pub except: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengeExpect {
    /// At least one `WWW-Authenticate` header is present.
    #[serde(default)]
    pub header: Option<bool>,
    /// A `Bearer` challenge (scheme compared case-insensitively) is present.
    #[serde(default)]
    pub bearer: Option<bool>,
    /// The Bearer challenge has at least this many auth-params.
    #[serde(default)]
    pub min_params: Option<usize>,
    /// Every challenge parses strictly: RFC 9110 syntax, RFC 6750 parameters at most once and
    /// within their character sets.
    #[serde(default)]
    pub well_formed: Option<bool>,
    /// Bearer auth-param name → matcher.
    #[serde(default)]
    pub params: BTreeMap<String, Matcher>,
}

/// A predicate over one value (a JSON value, a header value or a body). Every given field must
/// hold. Strings in it may use `${…}` variables; a string that is only one variable stands for
/// that variable's JSON value.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matcher {
    #[serde(default)]
    pub present: Option<bool>,
    #[serde(default)]
    pub absent: Option<bool>,
    /// Only check the other predicates when the value is present.
    #[serde(default)]
    pub optional: bool,
    #[serde(default)]
    pub equals: Option<toml::Value>,
    #[serde(default)]
    pub not_equals: Option<toml::Value>,
    #[serde(default)]
    pub one_of: Option<Vec<toml::Value>>,
    /// An array contains the value, or a string contains the substring.
    #[serde(default)]
    pub contains: Option<toml::Value>,
    #[serde(default)]
    pub not_contains: Option<toml::Value>,
    #[serde(default)]
    pub matches: Option<String>,
    #[serde(default)]
    pub not_matches: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<JsonType>,
    #[serde(default)]
    pub non_empty: Option<bool>,
    /// A number at least / at most this.
    #[serde(default)]
    pub at_least: Option<f64>,
    #[serde(default)]
    pub at_most: Option<f64>,
    /// A string of at least this many characters.
    #[serde(default)]
    pub min_length: Option<usize>,
    /// An absolute `https` URL, or `http` on a loopback host when the run targets loopback.
    #[serde(default)]
    pub secure_url: Option<bool>,
    #[serde(default)]
    pub absolute_url: Option<bool>,
    #[serde(default)]
    pub no_fragment: Option<bool>,
    #[serde(default)]
    pub no_query: Option<bool>,
    /// A URL whose host is no special-use address (an IP literal in a loopback, private,
    /// link-local … range, or `localhost`) other than one the target's own URLs (`${target}`)
    /// use. Names are not resolved: the request guard judges them when a request is made.
    #[serde(default)]
    pub public_or_target: Option<bool>,
    /// Applies to every element of an array.
    #[serde(default)]
    pub each: Option<Box<Matcher>>,
    /// Severity of this matcher when it differs from the step's.
    #[serde(default)]
    pub level: Option<Level>,
    /// Another check grades this property: when it does not hold, the message says so and this
    /// check's verdict does not change (one defect, one failure).
    #[serde(default)]
    pub graded_by: Option<String>,
    /// Explanation appended to the finding.
    #[serde(default)]
    pub why: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JsonType {
    Object,
    Array,
    String,
    Number,
    Boolean,
    Null,
}

impl JsonType {
    pub fn of(v: &serde_json::Value) -> JsonType {
        use serde_json::Value as V;
        match v {
            V::Object(_) => JsonType::Object,
            V::Array(_) => JsonType::Array,
            V::String(_) => JsonType::String,
            V::Number(_) => JsonType::Number,
            V::Bool(_) => JsonType::Boolean,
            V::Null => JsonType::Null,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            JsonType::Object => "object",
            JsonType::Array => "array",
            JsonType::String => "string",
            JsonType::Number => "number",
            JsonType::Boolean => "boolean",
            JsonType::Null => "null",
        }
    }
}

/// The strength of a requirement. MUST and MUST NOT grade as `fail`, SHOULD and SHOULD NOT as
/// `warn`; MAY and INFO rows are observed, not graded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Info,
    May,
    Should,
    Must,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "must",
            Level::Should => "should",
            Level::May => "may",
            Level::Info => "info",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The clients a check can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientKind {
    /// The client of every ordinary flow: pre-registered if given, else registered by DCR.
    Main,
    /// A second public client, for cross-client checks.
    Second,
    /// A confidential client authenticating with HTTP Basic.
    Confidential,
    /// A confidential client authenticating with credentials in the body.
    ConfidentialPost,
    /// A public client whose redirect URI is an https URL the tool does not serve (for redirect
    /// variants; its callback is never visited).
    Web,
    /// A public client with two redirect URIs.
    Multi,
    /// A public client whose redirect URI has a query component.
    Query,
    /// The client revocation checks use: the main one, or the confidential one when the
    /// authorization server's `revocation_endpoint_auth_methods_supported` leaves out `none`
    /// (public clients cannot revoke there, by its own word).
    Revoker,
}

impl ClientKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientKind::Main => "main",
            ClientKind::Second => "second",
            ClientKind::Confidential => "confidential",
            ClientKind::ConfidentialPost => "confidential-post",
            ClientKind::Web => "web",
            ClientKind::Multi => "multi",
            ClientKind::Query => "query",
            ClientKind::Revoker => "revoker",
        }
    }
}

/// How a token is forged from one the run obtained (see `oauth::forge`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Forgery {
    /// One character of the token changed (in a JWT: in the payload).
    Flip,
    /// A JWT with its signature cut short.
    TruncateSignature,
    /// A JWT whose claims were changed (`claims`), signature kept.
    Claims,
    /// An unsigned JWT (`alg: none`).
    AlgNone,
    /// HS256 with a key of the tool's, `iss` the tool's own.
    OwnKey,
    /// HS256 with a key of the tool's, `iss` the real issuer and `kid` copied from its JWK Set.
    OwnKeyAsIssuer,
    /// HS256 keyed with the AS's public key (algorithm confusion): its raw bytes.
    Hs256PublicKey,
    /// HS256 keyed with the AS's public key as PEM text (SPKI), the form a verifier configured
    /// with a PEM file hands its HMAC when the token says HS256.
    Hs256PublicKeyPem,
    /// HS256 keyed with the AS's public JWK as compact JSON text, in the order the JWK Set lists
    /// its members: what a verifier that stores the JWK as a string hands its HMAC.
    Hs256PublicKeyJwk,
}

/// A suite file that cannot be used, located as `file:line:column`.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct SuiteError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// `"4xx"` → 400..=499.
pub fn parse_status_pattern(s: &str) -> Option<std::ops::RangeInclusive<u16>> {
    let b = s.as_bytes();
    if b.len() == 3 && (b'1'..=b'5').contains(&b[0]) && b[1..].eq_ignore_ascii_case(b"xx") {
        let base = u16::from(b[0] - b'0') * 100;
        return Some(base..=base + 99);
    }
    s.parse::<u16>().ok().map(|c| c..=c)
}
