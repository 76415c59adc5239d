//! Tokens a resource server must refuse: a real access token altered, or a JWT the authorization
//! server never signed. Built from what the run already has (a token it obtained, the AS's JWK
//! Set); the tool holds no key of the server's.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;

// Suites name the forgeries (`forge = ...`), so the kinds are part of the suite format.
pub use crate::suite::model::Forgery;

#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    #[error("the token is not a JWT, so it cannot be {0}")]
    NotJwt(&'static str),
    #[error("no usable public key in the JWK Set for key confusion: {0}")]
    NoKey(String),
}

/// A JWT taken apart: header, payload, and the signature segment as sent.
type Parts<'a> = (Map<String, Value>, Map<String, Value>, &'a str);

/// A JWT's header, payload and signature segment; `None` for anything that is not one.
fn split(token: &str) -> Option<Parts<'_>> {
    let jwt = super::jwt::inspect(token).ok()?;
    let signature = token.trim().rsplit('.').next()?;
    match (jwt.header, jwt.payload) {
        (Value::Object(h), Value::Object(p)) => Some((h, p, signature)),
        _ => None,
    }
}

fn encode(v: &Map<String, Value>) -> String {
    URL_SAFE_NO_PAD.encode(Value::Object(v.clone()).to_string())
}

fn hs256(key: &[u8], signing_input: &str) -> String {
    // HMAC takes keys of any length; the error branch cannot happen.
    let mut mac = Hmac::<Sha256>::new_from_slice(key)
        .unwrap_or_else(|_| Hmac::<Sha256>::new_from_slice(b"k").expect("a key"));
    mac.update(signing_input.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// What a forged token claims when there is no real JWT to copy from.
pub struct Defaults<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    pub scope: Option<&'a str>,
}

/// Alters `token` (or mints a JWT modelled on it) as `kind` says. `claims` override payload
/// members; `jwk` is the AS's signing key, for the variants that need one.
pub fn forge(
    kind: Forgery,
    token: &str,
    claims: &Map<String, Value>,
    jwk: Option<&Value>,
    d: &Defaults<'_>,
) -> Result<String, ForgeError> {
    let real = split(token);
    match kind {
        Forgery::Flip => {
            // In a JWT, a character in the middle of the signature: the token stays decodable, so
            // only verification can catch it (changing the payload could break its JSON, and a
            // server's answer would then depend on chance). An opaque token: its middle.
            let (start, end) = match &real {
                Some((_, _, sig)) => (token.len() - sig.len(), token.len()),
                None => (0, token.len()),
            };
            let mut bytes = token.as_bytes().to_vec();
            let at = start + (end - start) / 2;
            if let Some(b) = bytes.get_mut(at) {
                *b = if *b == b'A' { b'B' } else { b'A' };
            }
            Ok(String::from_utf8(bytes).unwrap_or_else(|_| token.to_string()))
        }
        Forgery::TruncateSignature => {
            let (_, _, sig) = real.ok_or(ForgeError::NotJwt("truncated"))?;
            // Whole base64 quanta, so that the shorter signature still decodes cleanly.
            let keep = token.len() - sig.len() + (sig.len() / 2) / 4 * 4;
            Ok(token[..keep].to_string())
        }
        Forgery::Claims => {
            let (header, mut payload, sig) = real.ok_or(ForgeError::NotJwt("re-claimed"))?;
            for (k, v) in claims {
                payload.insert(k.clone(), v.clone());
            }
            Ok(format!("{}.{}.{sig}", encode(&header), encode(&payload)))
        }
        Forgery::AlgNone
        | Forgery::OwnKey
        | Forgery::OwnKeyAsIssuer
        | Forgery::Hs256PublicKey
        | Forgery::Hs256PublicKeyPem
        | Forgery::Hs256PublicKeyJwk => {
            let mut payload = match &real {
                Some((_, p, _)) => p.clone(),
                None => Map::new(),
            };
            let t = now();
            for (k, v) in [
                ("iss", json!(d.issuer)),
                ("aud", json!(d.audience)),
                ("sub", json!("mcp-oauth-conform")),
            ] {
                payload.entry(k).or_insert(v);
            }
            if let Some(s) = d.scope {
                payload.entry("scope").or_insert(json!(s));
            }
            payload.insert("iat".into(), json!(t));
            payload.insert("exp".into(), json!(t + 3600));
            payload.insert("jti".into(), json!(super::pkce::random_token(12)));
            if kind == Forgery::OwnKey {
                payload.insert("iss".into(), json!("https://mcp-oauth-conform.invalid"));
            }
            for (k, v) in claims {
                payload.insert(k.clone(), v.clone());
            }
            let mut header = Map::new();
            header.insert("typ".into(), json!("at+jwt"));
            let key: Vec<u8> = match kind {
                Forgery::AlgNone => {
                    header.insert("alg".into(), json!("none"));
                    if let Some((h, _, _)) = &real {
                        if let Some(kid) = h.get("kid") {
                            header.insert("kid".into(), kid.clone());
                        }
                    }
                    let input = format!("{}.{}", encode(&header), encode(&payload));
                    return Ok(format!("{input}."));
                }
                Forgery::OwnKey => super::pkce::random_token(32).into_bytes(),
                Forgery::OwnKeyAsIssuer => {
                    if let Some(kid) = jwk.and_then(|k| k.get("kid")) {
                        header.insert("kid".into(), kid.clone());
                    }
                    super::pkce::random_token(32).into_bytes()
                }
                _ => {
                    let jwk = jwk.ok_or_else(|| {
                        ForgeError::NoKey("the authorization server publishes no jwks_uri".into())
                    })?;
                    if let Some(kid) = jwk.get("kid") {
                        header.insert("kid".into(), kid.clone());
                    }
                    match kind {
                        Forgery::Hs256PublicKeyPem => spki_pem(jwk)?.into_bytes(),
                        Forgery::Hs256PublicKeyJwk => jwk.to_string().into_bytes(),
                        _ => public_key_bytes(jwk)?,
                    }
                }
            };
            header.insert("alg".into(), json!("HS256"));
            let input = format!("{}.{}", encode(&header), encode(&payload));
            let sig = hs256(&key, &input);
            Ok(format!("{input}.{sig}"))
        }
    }
}

/// The bytes a confused verifier would use as an HMAC key: the raw public key of an OKP key, the
/// uncompressed point of an EC key, the modulus of an RSA key.
fn public_key_bytes(jwk: &Value) -> Result<Vec<u8>, ForgeError> {
    let field = |name: &str| -> Result<Vec<u8>, ForgeError> {
        let v = jwk
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| ForgeError::NoKey(format!("the key has no `{name}`")))?;
        URL_SAFE_NO_PAD
            .decode(v.trim_end_matches('='))
            .map_err(|e| ForgeError::NoKey(format!("`{name}` is not base64url: {e}")))
    };
    match jwk.get("kty").and_then(Value::as_str) {
        Some("OKP") => field("x"),
        Some("EC") => {
            let mut out = vec![4u8];
            out.extend(field("x")?);
            out.extend(field("y")?);
            Ok(out)
        }
        Some("RSA") => field("n"),
        other => Err(ForgeError::NoKey(format!("unsupported key type {other:?}"))),
    }
}

/// DER: a tag, its length (short or long form), the content.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// A DER INTEGER from unsigned big-endian bytes (as JWK members carry them).
fn der_uint(bytes: &[u8]) -> Vec<u8> {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    let trimmed = &bytes[start..];
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(trimmed);
    der(0x02, &content)
}

/// The key as a DER SubjectPublicKeyInfo (RFC 5280 §4.1; the key formats of RFC 8410, RFC 5480
/// and RFC 8017).
fn spki_der(jwk: &Value) -> Result<Vec<u8>, ForgeError> {
    const OID: u8 = 0x06;
    let field = |name: &str| -> Result<Vec<u8>, ForgeError> {
        let v = jwk
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| ForgeError::NoKey(format!("the key has no `{name}`")))?;
        URL_SAFE_NO_PAD
            .decode(v.trim_end_matches('='))
            .map_err(|e| ForgeError::NoKey(format!("`{name}` is not base64url: {e}")))
    };
    let crv = jwk.get("crv").and_then(Value::as_str);
    let unsupported = || ForgeError::NoKey(format!("no SPKI encoding for the curve {crv:?}"));
    let (algorithm, key) = match jwk.get("kty").and_then(Value::as_str) {
        Some("OKP") => {
            let last = match crv {
                Some("X25519") => 0x6e,
                Some("X448") => 0x6f,
                Some("Ed25519") => 0x70,
                Some("Ed448") => 0x71,
                _ => return Err(unsupported()),
            };
            (der(OID, &[0x2b, 0x65, last]), field("x")?)
        }
        Some("EC") => {
            let curve: &[u8] = match crv {
                Some("P-256") => &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
                Some("P-384") => &[0x2b, 0x81, 0x04, 0x00, 0x22],
                Some("P-521") => &[0x2b, 0x81, 0x04, 0x00, 0x23],
                Some("secp256k1") => &[0x2b, 0x81, 0x04, 0x00, 0x0a],
                _ => return Err(unsupported()),
            };
            let mut algorithm = der(OID, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]);
            algorithm.extend(der(OID, curve));
            let mut point = vec![4u8];
            point.extend(field("x")?);
            point.extend(field("y")?);
            (algorithm, point)
        }
        Some("RSA") => {
            let mut algorithm = der(OID, &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]);
            algorithm.extend(der(0x05, &[]));
            let mut numbers = der_uint(&field("n")?);
            numbers.extend(der_uint(&field("e")?));
            (algorithm, der(0x30, &numbers))
        }
        other => return Err(ForgeError::NoKey(format!("unsupported key type {other:?}"))),
    };
    let mut bits = vec![0u8];
    bits.extend(key);
    let mut spki = der(0x30, &algorithm);
    spki.extend(der(0x03, &bits));
    Ok(der(0x30, &spki))
}

/// The key as PEM text, as `openssl pkey -pubout` writes it: 64-character lines, a final newline.
fn spki_pem(jwk: &Value) -> Result<String, ForgeError> {
    let b64 = STANDARD.encode(spki_der(jwk)?);
    let mut out = String::from("-----BEGIN PUBLIC KEY-----\n");
    let mut rest = b64.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(64));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str("-----END PUBLIC KEY-----\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn real() -> String {
        let h = URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","typ":"at+jwt","kid":"k1"}"#);
        let p = URL_SAFE_NO_PAD.encode(r#"{"iss":"https://as","aud":"https://rs/mcp","sub":"alice","exp":1,"scope":"mcp:read"}"#);
        format!("{h}.{p}.c2lnbmF0dXJlLWJ5dGVzLWFyZS1oZXJl")
    }

    fn d() -> Defaults<'static> {
        Defaults {
            issuer: "https://as",
            audience: "https://rs/mcp",
            scope: Some("mcp:read"),
        }
    }

    #[test]
    fn every_variant_differs_and_keeps_the_shape() {
        let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode([7u8; 32]), "kid": "k1"});
        let claims: Map<String, Value> = [("aud".to_string(), json!("https://other/mcp"))]
            .into_iter()
            .collect();
        for kind in [
            Forgery::Flip,
            Forgery::TruncateSignature,
            Forgery::Claims,
            Forgery::AlgNone,
            Forgery::OwnKey,
            Forgery::OwnKeyAsIssuer,
            Forgery::Hs256PublicKey,
            Forgery::Hs256PublicKeyPem,
            Forgery::Hs256PublicKeyJwk,
        ] {
            let t = forge(kind, &real(), &claims, Some(&jwk), &d()).unwrap();
            assert_ne!(t, real(), "{kind:?}");
            assert_eq!(t.matches('.').count(), 2, "{kind:?}: {t}");
        }
        let (h, p, _) =
            split(&forge(Forgery::AlgNone, &real(), &Map::new(), None, &d()).unwrap()).unwrap();
        assert_eq!(h["alg"], "none");
        assert_eq!(p["sub"], "alice");
        let (_, p, _) =
            split(&forge(Forgery::Claims, &real(), &claims, None, &d()).unwrap()).unwrap();
        assert_eq!(p["aud"], "https://other/mcp");
        let (h, _, _) = split(
            &forge(
                Forgery::Hs256PublicKey,
                &real(),
                &Map::new(),
                Some(&jwk),
                &d(),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            (h["alg"].as_str(), h["kid"].as_str()),
            (Some("HS256"), Some("k1"))
        );
    }

    #[test]
    fn hs256_key_confusion_uses_the_raw_public_key() {
        let jwk = json!({"kty": "OKP", "x": URL_SAFE_NO_PAD.encode([9u8; 32])});
        let t = forge(
            Forgery::Hs256PublicKey,
            &real(),
            &Map::new(),
            Some(&jwk),
            &d(),
        )
        .unwrap();
        let (input, sig) = t.rsplit_once('.').unwrap();
        assert_eq!(sig, hs256(&[9u8; 32], input));
    }

    #[test]
    fn hs256_key_confusion_uses_the_pem_text_and_the_jwk_json() {
        let x = "gdEh1gOQqKG5gWgP17zJ6x1BbQgyejbN4m5zUwBi8qU";
        let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "k1"});
        // As `openssl pkey -pubout` wrote this key.
        let pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAgdEh1gOQqKG5gWgP17zJ6x1BbQgyejbN4m5zUwBi8qU=\n-----END PUBLIC KEY-----\n";
        for (kind, key) in [
            (Forgery::Hs256PublicKeyPem, pem.to_string()),
            (
                Forgery::Hs256PublicKeyJwk,
                format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}","kid":"k1"}}"#),
            ),
        ] {
            let t = forge(kind, &real(), &Map::new(), Some(&jwk), &d()).unwrap();
            let (input, sig) = t.rsplit_once('.').unwrap();
            assert_eq!(sig, hs256(key.as_bytes(), input), "{kind:?}");
        }
    }

    #[test]
    fn spki_pem_matches_what_openssl_writes() {
        let cases = [
            (
                json!({"kty": "EC", "crv": "P-256", "x": "RYwNi_vlWT3wNewaLy_Ro9jnw-hidtu-e0DgyCXI_8o", "y": "WuMAowB83l1KJkaDWOwkCFh4MXT9FU-5DbHB0RCkfrA"}),
                "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAERYwNi/vlWT3wNewaLy/Ro9jnw+hi\ndtu+e0DgyCXI/8pa4wCjAHzeXUomRoNY7CQIWHgxdP0VT7kNscHREKR+sA==\n",
            ),
            (
                json!({"kty": "EC", "crv": "P-521", "x": "AcYRfk3AyN_YiGAQeKfiXvPxA7EAySN42sV8M_lmMKfU3aT6E_p6qDmDp6UhJ6ziiAkGvZa15-3U-eYuI2zPrdmm", "y": "ABLPrX1b0NaG5VZzL811oEpu1yRPcPhOvkBVQ2aOmnMdcB7Vqy94YbmVV5H3gg8gOSaWUGIc8l0Ur16tPvzFtAD0"}),
                "MIGbMBAGByqGSM49AgEGBSuBBAAjA4GGAAQBxhF+TcDI39iIYBB4p+Je8/EDsQDJ\nI3jaxXwz+WYwp9TdpPoT+nqoOYOnpSEnrOKICQa9lrXn7dT55i4jbM+t2aYAEs+t\nfVvQ1oblVnMvzXWgSm7XJE9w+E6+QFVDZo6acx1wHtWrL3hhuZVXkfeCDyA5JpZQ\nYhzyXRSvXq0+/MW0APQ=\n",
            ),
            (
                json!({"kty": "RSA", "e": "AQAB", "n": "s-Eo2PHcYd5MMFq8UTexhXB2lwmmLDgtJlT5vKimPgFU-5tnVIiNYiAk52MrxNHu9b8dX08MPuhH5U8RyN4ALOhCG3aTphsZGwdyQ5VZwp6TBInaZXk6CFNGEa6-QFuQKFVxunfyjczzNiPEQ1xFAhoC8vq6UcCN9yon5yoC3SE"}),
                "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCz4SjY8dxh3kwwWrxRN7GFcHaX\nCaYsOC0mVPm8qKY+AVT7m2dUiI1iICTnYyvE0e71vx1fTww+6EflTxHI3gAs6EIb\ndpOmGxkbB3JDlVnCnpMEidpleToIU0YRrr5AW5AoVXG6d/KNzPM2I8RDXEUCGgLy\n+rpRwI33KifnKgLdIQIDAQAB\n",
            ),
        ];
        for (jwk, body) in cases {
            let want = format!("-----BEGIN PUBLIC KEY-----\n{body}-----END PUBLIC KEY-----\n");
            assert_eq!(spki_pem(&jwk).unwrap(), want, "{jwk}");
        }
        assert!(spki_pem(&json!({"kty": "EC", "crv": "P-192", "x": "AA", "y": "AA"})).is_err());
        assert!(spki_pem(&json!({"kty": "oct", "k": "AA"})).is_err());
    }

    #[test]
    fn opaque_tokens_can_only_be_flipped_or_replaced() {
        assert!(
            forge(Forgery::Flip, "opaque-token-value", &Map::new(), None, &d()).unwrap()
                != "opaque-token-value"
        );
        assert!(forge(Forgery::Claims, "opaque", &Map::new(), None, &d()).is_err());
        let minted = forge(Forgery::OwnKey, "opaque", &Map::new(), None, &d()).unwrap();
        assert_eq!(split(&minted).unwrap().1["aud"], "https://rs/mcp");
        assert!(split("a.b").is_none() && split("").is_none() && split("!!.??.x").is_none());
    }
}
