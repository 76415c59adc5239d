//! `WWW-Authenticate` parsing (RFC 9110 §11.6.1 challenge syntax) and the RFC 6750 §3 rules for
//! Bearer challenge parameters. Input is untrusted server output: every path returns, none panics.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: String,
    pub token68: Option<String>,
    /// In the order received; duplicates are kept so that they can be reported.
    pub params: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed WWW-Authenticate at byte {at}: {what}")]
pub struct ParseError {
    pub at: usize,
    pub what: &'static str,
}

impl Challenge {
    pub fn is_bearer(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("bearer")
    }

    /// The first value of a parameter (names compare case-insensitively).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// RFC 6750 §3 problems of a Bearer challenge: repeated parameters and values outside their
    /// character sets. Empty when the challenge is well formed.
    pub fn bearer_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.token68.is_some() {
            problems.push("a Bearer challenge carries auth-params, not a token68".to_string());
        }
        let mut seen: Vec<String> = Vec::new();
        for (name, value) in &self.params {
            let lower = name.to_ascii_lowercase();
            if seen.contains(&lower) {
                problems.push(format!("parameter `{name}` appears more than once"));
            }
            seen.push(lower.clone());
            let ok = match lower.as_str() {
                // scope-token = 1*NQCHAR, separated by single spaces
                "scope" => {
                    !value.is_empty()
                        && value
                            .split(' ')
                            .all(|t| !t.is_empty() && t.chars().all(is_nqchar))
                }
                "error" | "error_description" => value.chars().all(is_nqschar),
                "error_uri" => value
                    .chars()
                    .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\'),
                _ => true,
            };
            if !ok {
                problems.push(format!(
                    "parameter `{name}` has characters RFC 6750 does not allow: {value:?}"
                ));
            }
        }
        problems
    }
}

fn is_nqchar(c: char) -> bool {
    matches!(c, '\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')
}

fn is_nqschar(c: char) -> bool {
    matches!(c, '\x20' | '\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token68_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)
}

impl fmt::Display for Challenge {
    /// Renders in canonical form: params as quoted strings, escaped as RFC 9110 requires.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.scheme)?;
        if let Some(t) = &self.token68 {
            return write!(f, " {t}");
        }
        for (i, (k, v)) in self.params.iter().enumerate() {
            f.write_str(if i == 0 { " " } else { ", " })?;
            write!(f, "{k}=\"")?;
            for c in v.chars() {
                if c == '"' || c == '\\' {
                    f.write_str("\\")?;
                }
                write!(f, "{c}")?;
            }
            f.write_str("\"")?;
        }
        Ok(())
    }
}

/// Renders several challenges as one header value.
pub fn render(challenges: &[Challenge]) -> String {
    challenges
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }
    fn skip_ws_and_commas(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.i += 1;
        }
    }
    fn token(&mut self) -> Option<&'a str> {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        // tchar is ASCII, so the slice is valid UTF-8.
        (self.i > start).then(|| std::str::from_utf8(&self.s[start..self.i]).unwrap_or_default())
    }
    fn err(&self, what: &'static str) -> ParseError {
        ParseError { at: self.i, what }
    }
    fn quoted(&mut self) -> Result<String, ParseError> {
        // Caller saw the opening quote.
        self.i += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.err("unterminated quoted string")),
                Some(b'"') => {
                    self.i += 1;
                    return String::from_utf8(out)
                        .map_err(|_| self.err("quoted string is not UTF-8"));
                }
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(c) if c == b'\t' || c >= 0x20 && c != 0x7f => {
                            out.push(c);
                            self.i += 1;
                        }
                        _ => return Err(self.err("bad escape in quoted string")),
                    }
                }
                Some(c) if c == b'\t' || (c >= 0x20 && c != 0x7f) => {
                    out.push(c);
                    self.i += 1;
                }
                Some(_) => return Err(self.err("control character in quoted string")),
            }
        }
    }
    /// True when the cursor sits on `token BWS "="` not followed by another `=` run that would make
    /// it a token68 (i.e. the start of an auth-param).
    fn at_param(&self) -> bool {
        let mut j = self.i;
        let start = j;
        while self.s.get(j).copied().is_some_and(is_tchar) {
            j += 1;
        }
        if j == start {
            return false;
        }
        while matches!(self.s.get(j), Some(b' ' | b'\t')) {
            j += 1;
        }
        if self.s.get(j) != Some(&b'=') {
            return false;
        }
        j += 1;
        while matches!(self.s.get(j), Some(b' ' | b'\t')) {
            j += 1;
        }
        // `name=` followed by a value (token or quoted string) is a param; `abc=` then end or comma
        // is a token68 with padding.
        matches!(self.s.get(j), Some(b'"')) || self.s.get(j).copied().is_some_and(is_tchar)
    }
}

/// Parses one `WWW-Authenticate` header value into its challenges.
pub fn parse(value: &str) -> Result<Vec<Challenge>, ParseError> {
    let mut c = Cursor {
        s: value.as_bytes(),
        i: 0,
    };
    let mut out = Vec::new();
    c.skip_ws_and_commas();
    while c.peek().is_some() {
        let scheme = c
            .token()
            .ok_or_else(|| c.err("expected an auth-scheme"))?
            .to_string();
        let mut challenge = Challenge {
            scheme,
            token68: None,
            params: Vec::new(),
        };
        let had_space = matches!(c.peek(), Some(b' ' | b'\t'));
        c.skip_ws();
        if had_space && c.peek().is_some_and(|b| b != b',') {
            if c.at_param() {
                loop {
                    let name = c
                        .token()
                        .ok_or_else(|| c.err("expected a parameter name"))?
                        .to_string();
                    c.skip_ws();
                    c.i += 1; // '=' (at_param checked it)
                    c.skip_ws();
                    let v = if c.peek() == Some(b'"') {
                        c.quoted()?
                    } else {
                        c.token()
                            .ok_or_else(|| c.err("expected a parameter value"))?
                            .to_string()
                    };
                    challenge.params.push((name, v));
                    c.skip_ws();
                    match c.peek() {
                        None => break,
                        Some(b',') => {
                            c.skip_ws_and_commas();
                            if !c.at_param() {
                                break; // next challenge (or trailing commas)
                            }
                        }
                        Some(_) => return Err(c.err("expected `,` after a parameter")),
                    }
                }
            } else {
                let start = c.i;
                while c.peek().is_some_and(is_token68_char) {
                    c.i += 1;
                }
                while c.peek() == Some(b'=') {
                    c.i += 1;
                }
                if c.i == start {
                    return Err(c.err("expected a token68 or auth-params"));
                }
                challenge.token68 = Some(String::from_utf8_lossy(&c.s[start..c.i]).into_owned());
                c.skip_ws();
                if c.peek().is_some_and(|b| b != b',') {
                    return Err(c.err("expected `,` after a token68"));
                }
            }
        }
        out.push(challenge);
        c.skip_ws_and_commas();
    }
    if out.is_empty() {
        return Err(ParseError {
            at: 0,
            what: "no challenge",
        });
    }
    Ok(out)
}

/// Parses every `WWW-Authenticate` header of a response; the first malformed one is the error.
pub fn parse_all<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Challenge>, ParseError> {
    let mut all = Vec::new();
    for v in values {
        all.extend(parse(v)?);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_with_params_and_a_second_challenge() {
        let v = r#"Bearer realm="mcp", error="invalid_token", error_description="The token \"x\" expired", Basic realm=site, DPoP algs="ES256""#;
        let cs = parse(v).unwrap();
        assert_eq!(cs.len(), 3);
        assert!(cs[0].is_bearer());
        assert_eq!(cs[0].param("ERROR"), Some("invalid_token"));
        assert_eq!(
            cs[0].param("error_description"),
            Some("The token \"x\" expired")
        );
        assert_eq!(cs[1].scheme, "Basic");
        assert_eq!(cs[1].param("realm"), Some("site"));
        assert_eq!(cs[2].param("algs"), Some("ES256"));
    }

    #[test]
    fn parses_bare_scheme_and_token68() {
        assert_eq!(parse("Bearer").unwrap()[0].params.len(), 0);
        let cs = parse("Negotiate abc+/==, Bearer").unwrap();
        assert_eq!(cs[0].token68.as_deref(), Some("abc+/=="));
        assert!(cs[1].is_bearer());
    }

    #[test]
    fn rejects_malformed_values() {
        assert!(parse(r#"Bearer realm="open"#).is_err());
        assert!(parse("Bearer realm=\"a\" scope=\"b\"").is_err());
        assert!(parse("").is_err());
        assert!(parse("=x").is_err());
    }

    #[test]
    fn reports_duplicates_and_bad_characters() {
        let c = &parse(r#"Bearer scope="a b", scope="c", error="bad\"quote""#).unwrap()[0];
        let p = c.bearer_problems();
        assert!(p.iter().any(|m| m.contains("more than once")), "{p:?}");
        assert!(p.iter().any(|m| m.contains("`error`")), "{p:?}");
        assert!(
            parse(r#"Bearer scope="a b""#).unwrap()[0]
                .bearer_problems()
                .is_empty()
        );
    }

    #[test]
    fn render_then_parse_round_trips() {
        let c = parse(r#"Bearer resource_metadata="https://h/.well-known/x", scope="a b", error_description="q\"\\""#).unwrap();
        assert_eq!(parse(&render(&c)).unwrap(), c);
    }
}
