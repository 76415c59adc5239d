//! JWT inspection: the header and payload of a compact JWS, decoded for reading. No signature
//! check and no crypto: a conformance tool must be able to show exactly the tokens a library
//! would refuse (`alg: none`, unknown algorithms, odd claims).

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::Value;

/// base64url as RFC 7515 §2 writes it (no padding), read leniently: padding and non-zero
/// trailing bits are tolerated, since this is for showing what a server sent.
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// base64 with `+` and `/`, read as leniently as [`B64URL`].
const B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// How many layers of encoding [`decoded_text`] looks through (base64 of a JWT is two).
const DECODE_DEPTH: usize = 2;

/// What anyone holding `value` can read from it: each piece of it (split at `.` and whitespace,
/// as a JWT is) that is base64url or base64, decoded, and the pieces of those decoded in turn,
/// one per line. Pieces that decode to nothing readable still come out, as lossy UTF-8: only a
/// search for a known string is meant to look at them.
pub fn decoded_text(value: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut layer = vec![value.to_string()];
    for _ in 0..DECODE_DEPTH {
        let mut next = Vec::new();
        for text in &layer {
            for piece in text.split(|c: char| c == '.' || c.is_whitespace()) {
                let piece = piece.trim_end_matches('=');
                // Shorter than one base64 quantum: not worth a look, and not an encoding.
                if piece.len() < 4 {
                    continue;
                }
                if let Ok(bytes) = B64URL.decode(piece).or_else(|_| B64.decode(piece)) {
                    next.push(String::from_utf8_lossy(&bytes).into_owned());
                }
            }
        }
        out.extend(next.iter().cloned());
        layer = next;
    }
    out.join("\n")
}

/// A decoded compact JWS.
#[derive(Clone, Debug, PartialEq)]
pub struct Jwt {
    /// The JOSE header (always a JSON object).
    pub header: Value,
    /// The claims (always a JSON object).
    pub payload: Value,
    /// Bytes of the decoded signature; 0 for an unsecured (`alg: none`) token.
    pub signature_len: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("a compact JWT has 3 dot-separated parts, this has {0}")]
    Parts(usize),
    #[error("the {0} is not base64url")]
    Base64(&'static str),
    #[error("the {part} is not JSON: {detail}")]
    Json { part: &'static str, detail: String },
    #[error("the {0} is not a JSON object")]
    NotObject(&'static str),
}

/// Splits a compact JWS (`header.payload.signature`) and decodes header and payload.
pub fn inspect(token: &str) -> Result<Jwt, JwtError> {
    let parts: Vec<&str> = token.trim().split('.').collect();
    let [header, payload, signature] = parts[..] else {
        return Err(JwtError::Parts(parts.len()));
    };
    let signature_len = B64URL
        .decode(signature)
        .map_err(|_| JwtError::Base64("signature"))?
        .len();
    Ok(Jwt {
        header: object(header, "header")?,
        payload: object(payload, "payload")?,
        signature_len,
    })
}

fn object(part: &str, name: &'static str) -> Result<Value, JwtError> {
    let bytes = B64URL.decode(part).map_err(|_| JwtError::Base64(name))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(JwtError::NotObject(name)),
        Err(e) => Err(JwtError::Json {
            part: name,
            detail: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(v: &[u8]) -> String {
        B64URL.encode(v)
    }

    fn token(header: &Value, payload: &Value, sig: &[u8]) -> String {
        format!(
            "{}.{}.{}",
            b64(header.to_string().as_bytes()),
            b64(payload.to_string().as_bytes()),
            b64(sig)
        )
    }

    #[test]
    fn decodes_header_payload_and_signature_length() {
        let t = token(
            &json!({"alg": "EdDSA", "kid": "k1"}),
            &json!({"aud": "http://127.0.0.1/mcp", "scope": "mcp"}),
            &[7u8; 64],
        );
        let jwt = inspect(&t).unwrap();
        assert_eq!(jwt.header["alg"], "EdDSA");
        assert_eq!(jwt.payload["aud"], "http://127.0.0.1/mcp");
        assert_eq!(jwt.signature_len, 64);
    }

    #[test]
    fn unsecured_tokens_are_shown_too() {
        let t = token(&json!({"alg": "none"}), &json!({"sub": "alice"}), &[]);
        assert!(t.ends_with('.'));
        let jwt = inspect(&t).unwrap();
        assert_eq!(jwt.header["alg"], "none");
        assert_eq!(jwt.signature_len, 0);
    }

    #[test]
    fn padding_is_tolerated() {
        let header = base64::engine::general_purpose::URL_SAFE.encode(br#"{"alg":"none"}"#);
        assert!(header.ends_with('='));
        let t = format!("{header}.{}.", b64(br#"{"a":1}"#));
        assert_eq!(inspect(&t).unwrap().payload["a"], 1);
    }

    #[test]
    fn refuses_what_is_not_a_jws() {
        let h = b64(br#"{"alg":"none"}"#);
        assert_eq!(inspect("opaque-token"), Err(JwtError::Parts(1)));
        assert_eq!(inspect("a.b.c.d.e"), Err(JwtError::Parts(5)));
        assert_eq!(
            inspect(&format!("{h}.*.")),
            Err(JwtError::Base64("payload"))
        );
        assert_eq!(
            inspect(&format!("{h}.{}.", b64(b"[1,2]"))),
            Err(JwtError::NotObject("payload"))
        );
        assert_eq!(
            inspect(&format!("{}.{}.", b64(b"\"x\""), b64(b"{}"))),
            Err(JwtError::NotObject("header"))
        );
        assert!(matches!(
            inspect(&format!("{h}.{}.", b64(b"{nope"))),
            Err(JwtError::Json {
                part: "payload",
                ..
            })
        ));
        assert_eq!(
            inspect(&format!("{h}.{}.!!", b64(b"{}"))),
            Err(JwtError::Base64("signature"))
        );
    }

    #[test]
    fn decoded_text_reads_through_base64_and_jwts() {
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        let json = format!(r#"{{"cc":"{challenge}","n":"x"}}"#);
        let url = B64URL.encode(&json);
        let std = base64::engine::general_purpose::STANDARD.encode(&json);
        let jwt = token(&json!({"alg": "none"}), &json!({"cc": challenge}), &[]);
        let wrapped = base64::engine::general_purpose::STANDARD.encode(&jwt);
        for encoded in [&url, &std, &jwt, &wrapped] {
            assert!(decoded_text(encoded).contains(challenge), "{encoded}");
        }
        // Random codes decode to noise that does not contain it.
        assert!(!decoded_text("Zm9vYmFyYmF6cXV4cXV1eA-_0123456789abcdefg").contains(challenge));
        assert_eq!(decoded_text(""), "");
        assert_eq!(decoded_text("a.b.c"), "");
    }

    #[test]
    fn never_panics_on_junk() {
        let samples = [
            "",
            ".",
            "..",
            "...",
            "eyJ.eyJ.",
            "\u{0}.\u{ffff}.x",
            "é.é.é",
            "====.====.====",
        ];
        for s in samples {
            let _ = inspect(s);
            let _ = decoded_text(s);
        }
        // Every prefix of a real token, cut anywhere (also inside multi-byte characters).
        let t = token(
            &json!({"alg": "ES256", "x": "ü"}),
            &json!({"n": "ß"}),
            &[1; 10],
        );
        for i in 0..=t.len() {
            if let Some(p) = t.get(..i) {
                let _ = inspect(p);
            }
        }
    }
}
