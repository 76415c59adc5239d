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
        _ => "a value of your own",
    }
}

/// The command, and the placeholders it uses.
pub fn render(req: &Request) -> (String, Vec<&'static str>) {
    let mut secrets: Vec<(String, &'static str)> = Vec::new();
    let mut learn = |pairs: Vec<(String, String)>| {
        for (k, v) in pairs {
            if let Some((_, ph)) = SECRET_PARAMS.iter().find(|(n, _)| *n == k) {
                if v.len() >= 4 {
                    secrets.push((v, ph));
                }
            }
        }
    };
    if let Some((_, q)) = req.url.split_once('?') {
        learn(
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect(),
        );
    }
    let is_form = req.headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("content-type") && v.starts_with("application/x-www-form-urlencoded")
    });
    if let (true, Some(b)) = (is_form, &req.body) {
        learn(url::form_urlencoded::parse(b).into_owned().collect());
    }
    let mut used: Vec<&'static str> = Vec::new();
    let hide = |text: String, used: &mut Vec<&'static str>| -> String {
        let mut out = text;
        for (secret, ph) in &secrets {
            let forms = [
                secret.clone(),
                url::form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>(),
            ];
            for f in forms {
                if out.contains(&f) {
                    out = out.replace(&f, ph);
                    if !used.contains(ph) {
                        used.push(ph);
                    }
                }
            }
        }
        out
    };
    let mut parts = vec!["curl -i".to_string()];
    if req.method != "GET" {
        parts.push(format!("-X {}", req.method));
    }
    parts.push(quote(&hide(req.url.clone(), &mut used)));
    for (k, v) in &req.headers {
        let value = match v.split_once(' ') {
            Some((scheme, _)) if k.eq_ignore_ascii_case("authorization") => {
                let ph =
                    if scheme.eq_ignore_ascii_case("basic") && !v.contains(super::mutate::OTHER) {
                        "<CLIENT_CREDENTIALS>"
                    } else {
                        "<ACCESS_TOKEN>"
                    };
                let shown = shown_authorization(v, ph);
                if shown.contains(ph) && !used.contains(&ph) {
                    used.push(ph);
                }
                shown
            }
            // A session the run opened is no use to a reader: they open their own.
            _ if k.eq_ignore_ascii_case("mcp-session-id") => {
                if !used.contains(&"<SESSION_ID>") {
                    used.push("<SESSION_ID>");
                }
                "<SESSION_ID>".to_string()
            }
            _ => hide(v.clone(), &mut used),
        };
        parts.push(format!("-H {}", quote(&format!("{k}: {value}"))));
    }
    if let Some(b) = &req.body {
        let text = String::from_utf8_lossy(b).into_owned();
        parts.push(format!("--data-binary {}", quote(&hide(text, &mut used))));
    }
    (parts.join(" "), used)
}

/// An Authorization header with its credential replaced, keeping what a mutation did to its
/// shape (the scheme's spelling, the spacing, a second token, characters added after it).
fn shown_authorization(v: &str, ph: &str) -> String {
    let Some(at) = v.find([' ', '\t']) else {
        return v.to_string();
    };
    let (scheme, rest) = v.split_at(at);
    let spaces: String = rest
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect();
    let cred = &rest[spaces.len()..];
    if cred == super::mutate::OTHER {
        return v.to_string();
    }
    // A long run of one letter is a size test, not a credential: keep it.
    if cred.len() > 256 && cred.bytes().all(|b| b == b'A') {
        return v.to_string();
    }
    let token_end = cred.find([' ', ',', ';', '"', '@']).unwrap_or(cred.len());
    let (tok, tail) = cred.split_at(token_end);
    let tail = tail.replace(tok, ph);
    let shape = if tok.split('.').count() == 3 && tok.contains('.') {
        // A changed JWT: which part changed is in the finding's text.
        ph.replace('>', "_CHANGED>")
    } else {
        ph.to_string()
    };
    format!("{scheme}{spaces}{shape}{tail}")
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
        if c.is_control() {
            flush(&mut plain, &mut out);
            out.push_str(&format!("$'\\x{:02x}'", c as u32));
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
        let (cmd, used) = render(&req);
        assert!(!cmd.contains("s3cr3t-code-value"), "{cmd}");
        assert!(!cmd.contains("verifier-value-123"), "{cmd}");
        assert!(!cmd.contains("Y2xpZW50OnNlY3JldA"), "{cmd}");
        assert!(cmd.contains("grant_type=authorization_code+"), "{cmd}");
        assert!(
            cmd.starts_with("curl -i -X POST 'http://127.0.0.1:1/token'"),
            "{cmd}"
        );
        assert_eq!(
            used,
            vec!["<CLIENT_CREDENTIALS>", "<CODE>", "<CODE_VERIFIER>"]
        );
    }

    #[test]
    fn a_bearer_keeps_its_shape() {
        let req = Request::get("http://127.0.0.1:1/mcp")
            .header("Authorization", "bearer  abcdefgh abcdefgh");
        let (cmd, _) = render(&req);
        assert!(
            cmd.contains("'Authorization: bearer  <ACCESS_TOKEN> <ACCESS_TOKEN>'"),
            "{cmd}"
        );
    }

    #[test]
    fn long_runs_and_control_characters_are_spelled_out() {
        assert_eq!(quote("a\r\nb"), "'a'$'\\x0d'$'\\x0a''b'");
        let q = quote(&"[".repeat(100));
        assert_eq!(q, "\"$(printf '%100s' '' | tr ' ' '[')\"");
        assert_eq!(quote("it's"), "'it'\\''s'");
    }
}
