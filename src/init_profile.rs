//! `init-profile`: a starting target profile for a deployment. The deployment is discovered as a
//! run discovers it, the main client is had as a run has it (DCR or `--client-id`), and the
//! preflight's ordinary authorization, made in `follow` mode, shows where the user agent stops:
//! from that page a commented profile is written, with a login step whose values are
//! placeholders. Nothing secret is ever written: a password is read from an environment variable,
//! a client secret too.

use std::fmt::Write as _;
use std::sync::Arc;

use crate::agent::AgentConfig;
use crate::agent::form::{self, Control, Form};
use crate::discovery::{self, Target};
use crate::http::{HttpClient, Redactor};
use crate::preflight::{PageSeen, Preflight};
use crate::runner::{RunCtx, RunSettings, SetupError};
use crate::session::ClientConfig;

/// The placeholder for a value only the user knows (the user name).
pub const PLACEHOLDER: &str = "CHANGE-ME";
/// The environment variable the generated login step reads the password from.
pub const PASSWORD_ENV: &str = "MCP_CONFORM_PASSWORD";
/// The environment variable a generated `[client]` reads its secret from.
pub const CLIENT_SECRET_ENV: &str = "MCP_CONFORM_CLIENT_SECRET";

/// What `init-profile` prints: the profile (or, when none can help, comments saying why), what
/// to tell the user on stderr, and whether it is a usable profile.
#[derive(Debug)]
pub struct Generated {
    /// For stdout: a TOML target profile, or only comments when `stop` is set.
    pub text: String,
    /// For stderr: what to do next.
    pub notes: Vec<String>,
    pub stop: Option<Stop>,
}

/// Why no usable profile was written.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    /// The authorization server refused the ordinary authorization (an error page, an error
    /// redirect): exit 1.
    Refused(String),
    /// Nothing to authorize against: the MCP endpoint is unreachable, no client could be had:
    /// exit 3.
    Unreachable(String),
}

/// What the deployment showed, for [`render`].
pub struct Found<'a> {
    /// `[target] rs`, as given.
    pub rs: &'a str,
    /// `[target] as`: as given, else the issuer discovery found.
    pub as_url: Option<&'a str>,
    pub preflight: &'a Preflight,
    /// The HTML of the page the preflight stopped at, when the record kept it.
    pub page_html: Option<&'a str>,
    /// The client settings given on the command line, for `[client]`.
    pub client: &'a ClientConfig,
    /// The date written in the header (`YYYY-MM-DD`).
    pub date: &'a str,
}

/// Discovers the deployment, makes the preflight's ordinary authorization in `follow` mode and
/// renders the profile. `settings.agent` is ignored: the authorization only follows redirects.
/// Every string written passes through the run's redactor.
pub async fn generate(
    target: &Target,
    settings: &RunSettings,
    date: &str,
) -> Result<Generated, SetupError> {
    let redactor = Arc::new(Redactor::new());
    let http = HttpClient::new(settings.http_for(target), redactor.clone())?;
    let mut found = discovery::discover(&http, target).await;
    if let Some(u) = &found.unreachable {
        let why = format!("the MCP endpoint is unreachable: {u}");
        return Ok(Generated {
            text: format!("# {}\n", redactor.scrub(&why)),
            notes: Vec::new(),
            stop: Some(Stop::Unreachable(redactor.scrub(&why))),
        });
    }
    // The point is to meet the login page: given tokens would skip the authorization.
    let settings = RunSettings {
        agent: AgentConfig::default(),
        client: crate::session::ClientConfig {
            tokens: None,
            ..settings.client.clone()
        },
        ..settings.clone()
    };
    let ctx = RunCtx::new(http, &mut found, &settings).await?;
    let issuer = found
        .vars
        .pointer("/as/issuer")
        .and_then(serde_json::Value::as_str)
        .map(str::to_string);
    let html = page_html(&ctx.preflight);
    let g = render(&Found {
        rs: &target.rs_raw,
        as_url: target.as_raw.as_deref().or(issuer.as_deref()),
        preflight: &ctx.preflight,
        page_html: html.as_deref(),
        client: &settings.client,
        date,
    });
    let scrub = |s: &str| redactor.scrub(s);
    Ok(Generated {
        text: scrub(&g.text),
        notes: g.notes.iter().map(|n| scrub(n)).collect(),
        stop: g.stop.map(|s| match s {
            Stop::Refused(m) => Stop::Refused(scrub(&m)),
            Stop::Unreachable(m) => Stop::Unreachable(scrub(&m)),
        }),
    })
}

/// The body of the page the preflight stopped at: its last answer that is not a redirect.
fn page_html(p: &Preflight) -> Option<String> {
    let page = p.page.as_ref()?;
    p.exchanges
        .iter()
        .rev()
        .filter_map(|e| e.response.as_ref())
        .find(|r| r.status == page.status && !(300..400).contains(&r.status))
        .map(|r| r.body.clone())
}

/// The profile for what the deployment showed.
pub fn render(f: &Found<'_>) -> Generated {
    let p = f.preflight;
    let mut text = format!(
        "# Target profile for {}, written by `mcp-oauth-conform init-profile` on {}.\n",
        f.rs, f.date
    );
    let mut notes = Vec::new();
    match p.outcome.as_str() {
        "code" => {
            text.push_str(
                "# The authorization came back with a code without showing a page: no login page was\n\
                 # met (the server approves by itself), so the user agent only follows redirects.\n",
            );
            target_section(&mut text, f);
            text.push_str("\n[agent]\nmode = \"follow\"\n");
            notes.push(
                "no login page was met: the authorization came back with a code; the profile uses agent mode `follow`".into(),
            );
        }
        "login" | "page" => {
            let page = p.page.clone().unwrap_or_default();
            return page_profile(f, &page, text);
        }
        "elsewhere" if answers_client(p.landed.as_deref().unwrap_or_default()) => {
            let why = format!(
                "the authorization server sent its answer to {}, not to the client's redirect URI; a profile cannot get past that",
                crate::http::without_query(p.landed.as_deref().unwrap_or_default())
            );
            comment(&mut text, &format!("No profile: {why}."));
            return Generated {
                text,
                notes,
                stop: Some(Stop::Refused(why)),
            };
        }
        "elsewhere" => {
            let landed = p.landed.as_deref().unwrap_or_default();
            let origin = crate::agent::origin_of(landed).unwrap_or_else(|| landed.to_string());
            let _ = writeln!(
                text,
                "# The authorization server sent the user agent on to {origin} (an upstream identity\n\
                 # provider?). The profile lets the browser go there; add the login step for its page\n\
                 # once you have seen it (open the authorization URL in a browser)."
            );
            target_section(&mut text, f);
            let _ = write!(
                text,
                "\n[agent]\nmode = \"form\"\norigins = [{}]\n\n\
                 # [[agent.login]]\n\
                 # url = \"/login\"\n\
                 # contains = 'type=\"password\"'\n\
                 # fields = {{ username = \"{PLACEHOLDER}\", password = \"${{env.{PASSWORD_ENV}}}\" }}\n",
                basic(&origin)
            );
            notes.push(format!(
                "the authorization went on to {origin}: the profile lets the browser go there, but its login step is left for you to write (commented out)"
            ));
        }
        "not-run" => {
            let mut why = p
                .why_not_run
                .clone()
                .unwrap_or_else(|| "the ordinary authorization could not be made".into());
            if why.starts_with("no client") {
                why.push_str(" (a pre-registered client: --client-id, --redirect-uri)");
            }
            comment(&mut text, &format!("No profile: {why}."));
            return Generated {
                text,
                notes,
                stop: Some(Stop::Unreachable(why)),
            };
        }
        other => {
            let detail = match other {
                "error" => format!(
                    "the authorization server refused an ordinary authorization request: {}",
                    p.error.as_deref().unwrap_or("an error redirect")
                ),
                _ => format!(
                    "the ordinary authorization ended `{other}` at {}",
                    crate::http::without_query(p.landed.as_deref().unwrap_or_default())
                ),
            };
            let why = format!("{detail}; a profile cannot get past that");
            comment(&mut text, &format!("No profile: {why}."));
            return Generated {
                text,
                notes,
                stop: Some(Stop::Refused(why)),
            };
        }
    }
    Generated {
        text,
        notes,
        stop: None,
    }
}

/// The profile for a page: a login step for its form, or, for an error page, only why not.
fn page_profile(f: &Found<'_>, page: &PageSeen, mut text: String) -> Generated {
    let url = crate::http::without_query(&page.url);
    let forms = f.page_html.map(form::forms).unwrap_or_default();
    let controls = f.page_html.map(form::form_controls).unwrap_or_default();
    let chosen = choose_form(&forms);
    let has_form = chosen.is_some() || (f.page_html.is_none() && !page.fields.is_empty());
    if !has_form || (page.status >= 400 && !page.asks_password) {
        let mut why = format!(
            "the authorization server answered an ordinary authorization request with an error page: HTTP {} at {url}",
            page.status
        );
        if !page.excerpt.is_empty() {
            let _ = write!(why, ": \"{}\"", page.excerpt);
        }
        if let Some(secs) = f.preflight.since_registration_secs {
            let _ = write!(
                why,
                " (the client was registered by this tool {secs:.1} s before)"
            );
        }
        why.push_str("; a profile cannot get past that");
        comment(&mut text, &format!("No profile: {why}."));
        return Generated {
            text,
            notes: Vec::new(),
            stop: Some(Stop::Refused(why)),
        };
    }

    // The fields, by kind: from the page's HTML, else guessed from the names the preflight kept.
    let kinds: Vec<Control> = match chosen {
        Some(i) => controls.get(i).cloned().unwrap_or_default(),
        None => page
            .fields
            .iter()
            .map(|n| Control {
                name: n.clone(),
                kind: guess_kind(n).into(),
            })
            .collect(),
    };
    let mut seen = Vec::new();
    let mut hidden = Vec::new();
    // In the page's order.
    let mut fill: Vec<(String, String)> = Vec::new();
    let mut password = None;
    for c in &kinds {
        if seen.contains(&c.name) {
            continue;
        }
        seen.push(c.name.clone());
        match c.kind.as_str() {
            "hidden" => hidden.push(c.name.clone()),
            "password" => {
                password.get_or_insert_with(|| c.name.clone());
                fill.push((c.name.clone(), format!("${{env.{PASSWORD_ENV}}}")));
            }
            "text" | "email" | "tel" | "number" | "search" | "url" | "textarea" => {
                fill.push((c.name.clone(), PLACEHOLDER.into()));
            }
            _ => {}
        }
    }
    let asks_password = page.asks_password || password.is_some();
    let form = chosen.and_then(|i| forms.get(i));

    // Header: what the page was.
    let mut what = format!(
        "The authorization stopped at {url} ({}): a form with fields {}",
        page.status,
        if seen.is_empty() {
            "(none)".to_string()
        } else {
            seen.join(", ")
        }
    );
    if !hidden.is_empty() {
        let _ = write!(what, " (hidden: {}, kept as is)", hidden.join(", "));
    }
    what.push('.');
    comment(&mut text, &what);
    target_section(&mut text, f);
    text.push_str("\n[agent]\nmode = \"form\"\n\n");

    // The step.
    let path = url::Url::parse(url)
        .map(|u| u.path().to_string())
        .unwrap_or_else(|_| url.to_string());
    comment(
        &mut text,
        &format!(
            "The page it stopped at. `url` is a regular expression on the page URL (here its path{}).",
            if asks_password {
                "; `contains` one on the page's HTML"
            } else {
                ""
            }
        ),
    );
    if !fill.is_empty() {
        let mut parts = Vec::new();
        let users: Vec<&String> = fill
            .iter()
            .filter(|(_, v)| v.as_str() == PLACEHOLDER)
            .map(|(k, _)| k)
            .collect();
        if !users.is_empty() {
            parts.push(format!(
                "replace {PLACEHOLDER} ({}) by the user's name",
                users
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if password.is_some() {
            parts.push(format!(
                "the password is read from the environment variable {PASSWORD_ENV} (export it before a run; never write it here)"
            ));
        }
        comment(
            &mut text,
            &format!("Guessed from the page: {}.", parts.join("; ")),
        );
    }
    if !hidden.is_empty() {
        comment(
            &mut text,
            "Hidden fields are not listed: the browser sends them as the page has them.",
        );
    }
    text.push_str("[[agent.login]]\n");
    let _ = writeln!(text, "url = {}", regex_string(&regex::escape(&path)));
    if asks_password {
        let body = f.page_html.unwrap_or_default();
        let contains = if body.contains("type=\"password\"") || f.page_html.is_none() {
            "type=\"password\"".to_string()
        } else {
            "(?i)type=[\"']?password".to_string()
        };
        let _ = writeln!(text, "contains = {}", regex_string(&contains));
    }
    if let Some(form) = form {
        // Name the form when the first one is not it (a search box before the login form).
        if forms.first().is_some_and(|first| first != form) {
            if let Some(id) = form.id.as_ref().or(form.name.as_ref()) {
                let _ = writeln!(text, "form = {}", basic(id));
            }
        }
    }
    if !fill.is_empty() {
        let pairs: Vec<String> = fill
            .iter()
            .map(|(k, v)| format!("{} = {}", key(k), basic(v)))
            .collect();
        let _ = writeln!(text, "fields = {{ {} }}", pairs.join(", "));
    }
    let submit = form.and_then(pick_submit);
    if let Some((name, value)) = &submit {
        let _ = writeln!(text, "submit = {{ {} = {} }}", key(name), basic(value));
    }

    let mut notes = Vec::new();
    if asks_password {
        text.push_str(
            "\n# A consent page usually follows the login: add a step for it once you have seen it, e.g.\n\
             # [[agent.login]]\n\
             # url = \"/consent\"\n\
             # submit = { decision = \"approve\" }\n\
             # optional = true\n",
        );
        notes.push(format!(
            "a login page at {path}: fill in {PLACEHOLDER}, export {PASSWORD_ENV}, add the consent step if one follows, then run with --config"
        ));
    } else {
        notes.push(format!(
            "a page at {path} that asks no password (a consent page?): check the step's `submit`, then run with --config"
        ));
    }
    Generated {
        text,
        notes,
        stop: None,
    }
}

/// The form a person would fill: the one asking a password, else the first that posts with a
/// button, else the first.
fn choose_form(forms: &[Form]) -> Option<usize> {
    forms
        .iter()
        .position(|f| f.has_password)
        .or_else(|| {
            forms
                .iter()
                .position(|f| f.method == "POST" && !f.submits.is_empty())
        })
        .or(if forms.is_empty() { None } else { Some(0) })
}

/// The submit button to press, when the default (the first named one) may be the wrong one:
/// among several named buttons, the one that approves or goes on.
fn pick_submit(form: &Form) -> Option<(String, String)> {
    const GO_ON: &[&str] = &[
        "approve",
        "allow",
        "accept",
        "authorize",
        "authorise",
        "consent",
        "grant",
        "yes",
        "login",
        "log in",
        "sign in",
        "signin",
        "continue",
        "submit",
        "next",
        "ok",
    ];
    let named: Vec<&(String, String)> =
        form.submits.iter().filter(|(n, _)| !n.is_empty()).collect();
    if named.is_empty() {
        return None;
    }
    let chosen = named
        .iter()
        .find(|(_, v)| GO_ON.contains(&v.trim().to_ascii_lowercase().as_str()))
        .or(named.first())?;
    // Said even for a single button: the step then reads as a person would press it.
    Some((chosen.0.clone(), chosen.1.clone()))
}

/// A control's kind guessed from its name, when the page's HTML was not kept.
fn guess_kind(name: &str) -> &'static str {
    let n = name.to_ascii_lowercase();
    if n.contains("pass") || n == "pwd" {
        "password"
    } else if ["user", "login", "email", "mail", "account"]
        .iter()
        .any(|w| n.contains(w))
    {
        "text"
    } else {
        // csrf tokens, request ids, state: what a page keeps in hidden fields.
        "hidden"
    }
}

fn target_section(text: &mut String, f: &Found<'_>) {
    client_section(text, f);
    text.push_str(OTHER_CLIENTS_AND_TOKENS);
}

/// What a server without dynamic client registration, or behind a single sign-on, needs besides:
/// commented out, to fill in.
const OTHER_CLIENTS_AND_TOKENS: &str = "
# Without dynamic client registration, the checks that need a second, a web or a confidential
# client skip unless you register those beforehand and name them here, one entry per role
# (second, web, multi, query, confidential, confidential-post):
# [[clients]]
# role = \"second\"
# id = \"CHANGE-ME\"
# redirect_uris = [\"http://127.0.0.1/callback\"]
#
# [[clients]]
# role = \"confidential\"
# id = \"CHANGE-ME\"
# secret = \"${env.MCP_CONFORM_CONFIDENTIAL_SECRET}\"
#
# Behind a single sign-on no login step gets past: tokens obtained beforehand instead (the run
# then sends the authorization server no authorization, token or registration request).
# [tokens]
# access = \"${env.MCP_CONFORM_ACCESS_TOKEN}\"
# refresh = \"${env.MCP_CONFORM_REFRESH_TOKEN}\"
# other_resource_access = \"${env.MCP_CONFORM_OTHER_RESOURCE_TOKEN}\"
# narrow_scope_access = \"${env.MCP_CONFORM_NARROW_SCOPE_TOKEN}\"
";

fn client_section(text: &mut String, f: &Found<'_>) {
    text.push_str("\n[target]\n");
    let _ = writeln!(text, "rs = {}", basic(f.rs));
    if let Some(a) = f.as_url {
        let _ = writeln!(text, "as = {}", basic(a));
    }
    let c = f.client;
    if c.id.is_none() && c.redirect_uris.is_empty() {
        return;
    }
    text.push_str("\n[client]\n");
    if let Some(id) = &c.id {
        let _ = writeln!(text, "id = {}", basic(id));
    }
    if c.secret.is_some() || c.secret_env.is_some() {
        let var = c.secret_env.as_deref().unwrap_or(CLIENT_SECRET_ENV);
        let _ = writeln!(
            text,
            "# The secret is read from this environment variable; never write it here.\nsecret_env = {}",
            basic(var)
        );
    }
    if !c.redirect_uris.is_empty() {
        let uris: Vec<String> = c.redirect_uris.iter().map(|u| basic(u)).collect();
        let _ = writeln!(text, "redirect_uris = [{}]", uris.join(", "));
    }
}

/// Appends `text` as `#` comment lines of at most about 100 characters.
fn comment(out: &mut String, text: &str) {
    let mut line = String::from("#");
    for word in text.split_whitespace() {
        if line.len() > 1 && line.len() + 1 + word.len() > 100 {
            out.push_str(&line);
            out.push('\n');
            line = String::from("#");
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
}

/// The URL carries an authorization response (`code` or `error`), not a login page's request.
fn answers_client(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| {
        let params = u.query_pairs().chain(
            u.fragment()
                .map(|f| url::form_urlencoded::parse(f.as_bytes()))
                .into_iter()
                .flatten(),
        );
        params.map(|(k, _)| k).any(|k| k == "code" || k == "error")
    })
}

/// A TOML string, quoted and escaped by the TOML writer.
fn basic(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A regular expression as a TOML literal string when it can be one (no escaping to read).
fn regex_string(re: &str) -> String {
    if re.contains('\'') || re.chars().any(char::is_control) {
        basic(re)
    } else {
        format!("'{re}'")
    }
}

/// A TOML key: bare when it can be.
fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        basic(k)
    }
}

/// Today's date in UTC, `YYYY-MM-DD`.
pub fn today_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Year, month, day of a day count since 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_profile;

    const LOGIN: &str = r#"<html><body>
      <form id="search" action="/search"><input name="q"></form>
      <form id="signin" method="post" action="/login">
        <input type="hidden" name="csrf_token" value="s3cr3t-csrf">
        <input type="email" name="user name"><input type="password" name="password" value="prefilled">
        <button type="submit" name="action" value="cancel">Cancel</button>
        <button type="submit" name="action" value="login">Sign in</button>
      </form></body></html>"#;

    fn found<'a>(p: &'a Preflight, html: Option<&'a str>, c: &'a ClientConfig) -> Found<'a> {
        Found {
            rs: "https://mcp.example.com/mcp",
            as_url: Some("https://auth.example"),
            preflight: p,
            page_html: html,
            client: c,
            date: "2026-01-02",
        }
    }

    fn page(status: u16, asks_password: bool, fields: &[&str]) -> Preflight {
        Preflight {
            outcome: if asks_password { "login" } else { "page" }.into(),
            page: Some(PageSeen {
                url: "https://auth.example/oauth/login.do?client_id=x&state=y".into(),
                status,
                fields: fields.iter().map(|s| s.to_string()).collect(),
                asks_password,
                excerpt: "Unknown client".into(),
                ..PageSeen::default()
            }),
            ..Preflight::default()
        }
    }

    #[test]
    fn a_login_page_gives_a_form_step_with_placeholders() {
        let p = page(
            200,
            true,
            &["q", "csrf_token", "user name", "password", "action"],
        );
        let c = ClientConfig {
            id: Some("my-client".into()),
            secret: Some("hunter2-client-secret".into()),
            ..ClientConfig::default()
        };
        let g = render(&found(&p, Some(LOGIN), &c));
        assert_eq!(g.stop, None);
        let t = &g.text;
        let profile = parse_profile("init", t).unwrap_or_else(|e| panic!("{e}\n{t}"));
        let step = &profile.agent.steps[0];
        assert_eq!(step.url.as_deref(), Some(r"/oauth/login\.do"), "{t}");
        assert_eq!(step.form.as_deref(), Some("signin"), "{t}");
        assert_eq!(step.fields["user name"], PLACEHOLDER);
        assert_eq!(step.fields["password"], "${env.MCP_CONFORM_PASSWORD}");
        assert!(!step.fields.contains_key("csrf_token"), "{t}");
        assert_eq!(step.submit["action"], "login");
        assert_eq!(
            profile.client.secret_env.as_deref(),
            Some(CLIENT_SECRET_ENV)
        );
        for secret in ["hunter2", "prefilled", "s3cr3t", "state=y"] {
            assert!(!t.contains(secret), "{secret} in {t}");
        }
        assert!(t.contains("(hidden: csrf_token, kept as is)"), "{t}");
    }

    #[test]
    fn an_error_page_gives_no_profile() {
        let p = page(400, false, &[]);
        let g = render(&found(
            &p,
            Some("<p>Unknown client</p>"),
            &ClientConfig::default(),
        ));
        match g.stop {
            Some(Stop::Refused(m)) => {
                assert!(m.contains("with an error page: HTTP 400"), "{m}");
                assert!(m.contains("Unknown client"), "{m}");
            }
            other => panic!("{other:?}"),
        }
        assert!(g.text.lines().all(|l| l.starts_with('#')), "{}", g.text);
    }

    #[test]
    fn without_the_html_kinds_are_guessed_from_names() {
        let p = page(200, true, &["csrf", "login_email", "passwd"]);
        let g = render(&found(&p, None, &ClientConfig::default()));
        let profile = parse_profile("init", &g.text).unwrap();
        let fields = &profile.agent.steps[0].fields;
        assert_eq!(fields.len(), 2, "{}", g.text);
        assert_eq!(fields["login_email"], PLACEHOLDER);
        assert!(fields["passwd"].starts_with("${env."));
    }

    #[test]
    fn an_upstream_login_gives_its_origin_and_a_redirect_elsewhere_no_profile() {
        let c = ClientConfig::default();
        let p = Preflight {
            outcome: "elsewhere".into(),
            landed: Some("https://idp.example/oauth2/auth?client_id=up&state=x".into()),
            ..Preflight::default()
        };
        let g = render(&found(&p, None, &c));
        assert_eq!(g.stop, None);
        let profile = parse_profile("init", &g.text).unwrap();
        assert_eq!(profile.agent.origins, ["https://idp.example"]);
        let p = Preflight {
            landed: Some("https://evil.example/cb?code=abc&state=x".into()),
            ..p
        };
        let g = render(&found(&p, None, &c));
        assert!(matches!(g.stop, Some(Stop::Refused(_))), "{}", g.text);
        assert!(!g.text.contains("abc"), "{}", g.text);
    }

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
