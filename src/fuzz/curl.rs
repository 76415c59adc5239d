//! A finding's request as a `curl` command a reader can run: secrets the request carried
//! (tokens, codes, verifiers, client credentials) replaced by named placeholders, long runs of
//! one character written as a shell expression.

use crate::http::Request;

/// Form and query parameters whose values are secrets, and the placeholder each becomes.
const SECRET_PARAMS: &[(&str, &str)] = &[
    ("code", "<CODE>"),
    ("code_verifier", "<CODE_VERIFIER>"),
    ("client_secret", "<CLIENT_SECRET>"),
    ("refresh_token", "<REFRESH_TOKEN>"),
    ("token", "<TOKEN>"),
    ("access_token", "<ACCESS_TOKEN>"),
    ("client_assertion", "<CLIENT_ASSERTION>"),
];

/// What each placeholder stands for, said once under the command.
pub fn placeholder_help(name: &str) -> &'static str {
    match name {
        "<CODE>" => "a fresh authorization code for this client",
        "<CODE_VERIFIER>" => "the PKCE verifier of that authorization",
        "<CLIENT_SECRET>" => "the client's secret",
        "<REFRESH_TOKEN>" => "a refresh token issued to this client",
        "<TOKEN>" => "an access token issued to this client",
        "<ACCESS_TOKEN>" => "an access token for this MCP server",
        "<CLIENT_CREDENTIALS>" => "base64 of client_id:client_secret",
        "<CLIENT_ASSERTION>" => "a signed client assertion",
        "<SESSION_ID>" => "the Mcp-Session-Id of an initialize request with that token",
        "<ACCESS_TOKEN_ALTERED>" => {
            "an access token for this MCP server, changed as the finding says"
        }
        _ => "a value of your own",
    }
}

/// The command for `req` (a mutated request), and the placeholders it uses. The secrets are
/// those of `base`, the request before its mutations: a mutated value keeps what the mutation
/// did around its placeholder (`code=<CODE>+`).
pub fn render(req: &Request, base: &Request) -> (String, Vec<&'static str>) {
    let mut secrets = secrets_of(base);
    // The longest first: a secret inside another is replaced with it.
    secrets.sort_by_key(|(v, _)| std::cmp::Reverse(v.len()));
    let mut used: Vec<&'static str> = Vec::new();
    let mark = |ph: &'static str, used: &mut Vec<&'static str>| {
        if !used.contains(&ph) {
            used.push(ph);
        }
    };
    let hide = |text: &str, used: &mut Vec<&'static str>| -> String {
        let mut out = text.to_string();
        for (secret, ph) in &secrets {
            let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
            for form in [secret.as_str(), encoded.as_str()] {
                if out.contains(form) {
                    out = out.replace(form, ph);
                    mark(ph, used);
                }
            }
        }
        out
    };
    let mut parts = vec!["curl -i".to_string()];
    if req.method != "GET" {
        parts.push(format!("-X {}", req.method));
    }
    parts.push(quote(&hide(&req.url, &mut used)));
    for (k, v) in &req.headers {
        let value = if k.eq_ignore_ascii_case("mcp-session-id") {
            // A session the run opened is no use to a reader: they open their own.
            mark("<SESSION_ID>", &mut used);
            "<SESSION_ID>".to_string()
        } else if k.eq_ignore_ascii_case("authorization") {
            altered_jwts(&hide(v, &mut used), &mut used)
        } else {
            hide(v, &mut used)
        };
        parts.push(format!("-H {}", quote(&format!("{k}: {value}"))));
    }
    if let Some(b) = &req.body {
        let text = String::from_utf8_lossy(b);
        parts.push(format!("--data-binary {}", quote(&hide(&text, &mut used))));
    }
    (parts.join(" "), used)
}

/// The secrets a request carries, with their placeholders: parameters named for secrets (in
/// the query or a form body) and the `Authorization` credential.
fn secrets_of(req: &Request) -> Vec<(String, &'static str)> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    if let Some((_, q)) = req.url.split_once('?') {
        pairs.extend(url::form_urlencoded::parse(q.as_bytes()).into_owned());
    }
    let is_form = req.headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("content-type") && v.starts_with("application/x-www-form-urlencoded")
    });
    if let (true, Some(b)) = (is_form, &req.body) {
        pairs.extend(url::form_urlencoded::parse(b).into_owned());
    }
    let mut out: Vec<(String, &'static str)> = pairs
        .into_iter()
        .filter(|(_, v)| v.len() >= 4)
        .filter_map(|(k, v)| {
            SECRET_PARAMS
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, ph)| (v, *ph))
        })
        .collect();
    for (k, v) in &req.headers {
        if !k.eq_ignore_ascii_case("authorization") {
            continue;
        }
        if let Some((scheme, cred)) = v.split_once(' ') {
            let ph = if scheme.eq_ignore_ascii_case("basic") {
                "<CLIENT_CREDENTIALS>"
            } else {
                "<ACCESS_TOKEN>"
            };
            let cred = cred.trim();
            if cred.len() >= 4 {
                out.push((cred.to_string(), ph));
            }
        }
    }
    out
}

/// A JWT the mutation rewrote (another `alg`, `kid`, `exp`, signature) is no longer the
/// run's token, but it still carries its claims: shown as a placeholder too.
fn altered_jwts(value: &str, used: &mut Vec<&'static str>) -> String {
    const PH: &str = "<ACCESS_TOKEN_ALTERED>";
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while !rest.is_empty() {
        let end = rest
            .find([' ', '\t', ',', ';'])
            .unwrap_or(rest.len())
            .max(1);
        let (word, tail) = rest.split_at(end.min(rest.len()));
        let jwt = word.matches('.').count() == 2 && word.len() > 20 && word.starts_with("eyJ");
        if jwt {
            out.push_str(PH);
            if !used.contains(&PH) {
                used.push(PH);
            }
        } else {
            out.push_str(word);
        }
        rest = tail;
    }
    out
}

/// Single-quoted for a POSIX shell; control characters and long runs as `$'…'` / `$(…)`.
fn quote(s: &str) -> String {
    let mut out = String::new();
    let mut plain = String::new();
    let flush = |plain: &mut String, out: &mut String| {
        if !plain.is_empty() {
            out.push('\'');
            out.push_str(&plain.replace('\'', "'\\''"));
            out.push('\'');
            plain.clear();
        }
    };
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let run = chars[i..].iter().take_while(|&&d| d == c).count();
        if run >= 64 && c.is_ascii_graphic() && c != '\'' {
            flush(&mut plain, &mut out);
            out.push_str(&format!("\"$(printf '%{run}s' '' | tr ' ' '{c}')\""));
            i += run;
            continue;
        }
        if c.is_control() || invisible(c) {
            flush(&mut plain, &mut out);
            if c.is_ascii() {
                out.push_str(&format!("$'\\x{:02x}'", c as u32));
            } else {
                // Written out: a raw right-to-left override would reorder the command on screen.
                out.push_str(&format!("$'\\u{:04x}'", c as u32));
            }
        } else {
            plain.push(c);
        }
        i += 1;
    }
    flush(&mut plain, &mut out);
    if out.is_empty() {
        out.push_str("''");
    }
    out
}

/// Characters that change how the text around them shows: direction marks and overrides, and
/// combining marks (which join the quote before them).
fn invisible(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x200B..=0x200F | 0x202A..=0x202E | 0x2066..=0x2069 | 0xFEFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_become_placeholders() {
        let req = Request::form(
            "POST",
            "http://127.0.0.1:1/token",
            vec![("Authorization".into(), "Basic Y2xpZW50OnNlY3JldA==".into())],
            Vec::new(),
            vec![
                ("grant_type".into(), "authorization_code ".into()),
                ("code".into(), "s3cr3t-code-value".into()),
                ("code_verifier".into(), "verifier-value-123".into()),
            ],
        );
        let (cmd, used) = render(&req, &req);
        assert!(!cmd.contains("s3cr3t-code-value"), "{cmd}");
        assert!(!cmd.contains("verifier-value-123"), "{cmd}");
        assert!(!cmd.contains("Y2xpZW50OnNlY3JldA"), "{cmd}");
        assert!(cmd.contains("grant_type=authorization_code+"), "{cmd}");
        assert!(
            cmd.starts_with("curl -i -X POST 'http://127.0.0.1:1/token'"),
            "{cmd}"
        );
        let mut used = used;
        used.sort();
        assert_eq!(
            used,
            vec!["<CLIENT_CREDENTIALS>", "<CODE>", "<CODE_VERIFIER>"]
        );
    }

    #[test]
    fn a_mutated_secret_keeps_its_mutation_around_the_placeholder() {
        let form = |code: &str| {
            Request::form(
                "POST",
                "http://127.0.0.1:1/token",
                Vec::new(),
                Vec::new(),
                vec![("code".into(), code.into())],
            )
        };
        let (cmd, _) = render(&form("s3cr3t-code-value "), &form("s3cr3t-code-value"));
        assert!(cmd.contains("code=<CODE>+"), "{cmd}");
        let (cmd, _) = render(&form("other"), &form("s3cr3t-code-value"));
        assert!(cmd.contains("code=other"), "{cmd}");
    }

    #[test]
    fn a_bearer_keeps_its_shape() {
        let base =
            Request::get("http://127.0.0.1:1/mcp").header("Authorization", "Bearer abcdefgh");
        let req = Request::get("http://127.0.0.1:1/mcp")
            .header("Authorization", "bearer  abcdefgh abcdefgh")
            .header("Mcp-Session-Id", "0123456789");
        let (cmd, used) = render(&req, &base);
        assert!(
            cmd.contains("'Authorization: bearer  <ACCESS_TOKEN> <ACCESS_TOKEN>'"),
            "{cmd}"
        );
        assert!(cmd.contains("'Mcp-Session-Id: <SESSION_ID>'"), "{cmd}");
        assert_eq!(used, vec!["<ACCESS_TOKEN>", "<SESSION_ID>"]);
        let basic =
            Request::get("http://127.0.0.1:1/mcp").header("Authorization", "Basic abcdefgh");
        assert!(
            render(&basic, &base)
                .0
                .contains("'Authorization: Basic <ACCESS_TOKEN>'")
        );
        let jwt = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.";
        let altered =
            Request::get("http://127.0.0.1:1/mcp").header("Authorization", format!("Bearer {jwt}"));
        let (cmd, used) = render(&altered, &base);
        assert!(cmd.contains("Bearer <ACCESS_TOKEN_ALTERED>"), "{cmd}");
        assert_eq!(used, vec!["<ACCESS_TOKEN_ALTERED>"]);
    }

    #[test]
    fn long_runs_and_control_characters_are_spelled_out() {
        assert_eq!(quote("a\r\nb"), "'a'$'\\x0d'$'\\x0a''b'");
        let q = quote(&"[".repeat(100));
        assert_eq!(q, "\"$(printf '%100s' '' | tr ' ' '[')\"");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote("a\u{202e}"), "'a'$'\\u202e'");
    }
}
