//! A request the fuzzer can take apart and put back together: the parameters of its query, its
//! form or JSON body and its headers, each addressable by name so that an operator changes one
//! part and leaves the rest of a valid request as it was.

use serde_json::Value;

use crate::http::Request;

/// One query or form parameter. `raw` values are written into the request as they are (already
/// percent-encoded): the only way to send bytes that are not UTF-8.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub value: String,
    pub raw: bool,
}

impl Param {
    pub fn new(name: &str, value: &str) -> Param {
        Param {
            name: name.to_string(),
            value: value.to_string(),
            raw: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    None,
    Form(Vec<Param>),
    Json(Value),
    /// Bytes sent as they are, with this Content-Type (a truncated or deeply nested document).
    Raw {
        content_type: String,
        bytes: Vec<u8>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    pub method: String,
    /// The URL without its query.
    pub base: String,
    pub query: Vec<Param>,
    /// Without Content-Type, which the body decides.
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Template {
    /// Takes apart a request one of the actions built. Query and form values are decoded; a JSON
    /// body that does not parse stays raw.
    pub fn from_request(req: &Request) -> Template {
        let (base, query) = match req.url.split_once('?') {
            Some((b, q)) => (b.to_string(), decode(q.as_bytes())),
            None => (req.url.clone(), Vec::new()),
        };
        let content_type = req
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.to_ascii_lowercase());
        let headers = req
            .headers
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("content-type"))
            .cloned()
            .collect();
        let body = match (&req.body, content_type) {
            (None, _) => Body::None,
            (Some(b), Some(ct)) if ct.starts_with("application/x-www-form-urlencoded") => {
                Body::Form(decode(b))
            }
            (Some(b), Some(ct)) if ct.contains("json") => match serde_json::from_slice(b) {
                Ok(v) => Body::Json(v),
                Err(_) => Body::Raw {
                    content_type: ct,
                    bytes: b.clone(),
                },
            },
            (Some(b), ct) => Body::Raw {
                content_type: ct.unwrap_or_default(),
                bytes: b.clone(),
            },
        };
        Template {
            method: req.method.clone(),
            base,
            query,
            headers,
            body,
        }
    }

    pub fn to_request(&self) -> Request {
        let mut url = self.base.clone();
        if !self.query.is_empty() {
            url.push('?');
            url.push_str(&encode(&self.query));
        }
        let mut headers = self.headers.clone();
        let body = match &self.body {
            Body::None => None,
            Body::Form(params) => {
                headers.push((
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded".into(),
                ));
                Some(encode(params).into_bytes())
            }
            Body::Json(v) => {
                headers.push(("Content-Type".into(), "application/json".into()));
                Some(serde_json::to_vec(v).unwrap_or_default())
            }
            Body::Raw {
                content_type,
                bytes,
            } => {
                if !content_type.is_empty() {
                    headers.push(("Content-Type".into(), content_type.clone()));
                }
                Some(bytes.clone())
            }
        };
        Request {
            method: self.method.clone(),
            url,
            headers,
            body,
        }
    }

    /// The query or form parameters, whichever the request carries its parameters in.
    pub fn params_mut(&mut self, in_form: bool) -> Option<&mut Vec<Param>> {
        if in_form {
            match &mut self.body {
                Body::Form(p) => Some(p),
                _ => None,
            }
        } else {
            Some(&mut self.query)
        }
    }

    pub fn param(&self, in_form: bool, name: &str) -> Option<&str> {
        let params = if in_form {
            match &self.body {
                Body::Form(p) => p,
                _ => return None,
            }
        } else {
            &self.query
        };
        params
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn decode(bytes: &[u8]) -> Vec<Param> {
    url::form_urlencoded::parse(bytes)
        .map(|(k, v)| Param::new(&k, &v))
        .collect()
}

fn encode(params: &[Param]) -> String {
    params
        .iter()
        .map(|p| {
            let name: String = url::form_urlencoded::byte_serialize(p.name.as_bytes()).collect();
            let value: String = if p.raw {
                p.value.clone()
            } else {
                url::form_urlencoded::byte_serialize(p.value.as_bytes()).collect()
            };
            format!("{name}={value}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_request_comes_back_as_it_was() {
        let req = Request::form(
            "POST",
            "http://127.0.0.1:1/token",
            vec![("Authorization".into(), "Basic eDp5".into())],
            Vec::new(),
            vec![
                ("grant_type".into(), "authorization_code".into()),
                ("code".into(), "a b+c".into()),
            ],
        );
        let t = Template::from_request(&req);
        assert_eq!(t.param(true, "code"), Some("a b+c"));
        let again = t.to_request();
        assert_eq!(again.url, req.url);
        assert_eq!(again.body, req.body);
        assert_eq!(Template::from_request(&again), t);
    }

    #[test]
    fn raw_values_are_sent_as_given() {
        let mut t = Template::from_request(&Request::get("http://127.0.0.1:1/a?x=1"));
        t.query.push(Param {
            name: "state".into(),
            value: "%FF%FE".into(),
            raw: true,
        });
        assert_eq!(t.to_request().url, "http://127.0.0.1:1/a?x=1&state=%FF%FE");
    }
}
