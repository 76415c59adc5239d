//! The `follow` and `form` modes: a small browser with a cookie jar that follows redirects
//! within the visitable origins and, in `form` mode, submits the forms the login script names.

use cookie_store::{CookieStore, RawCookie};
use url::Url;

use super::form::{self, Form};
use super::run::{AgentError, Landing, LoginStep, Run, Visit, expand_env, origin_of};
use crate::http::Request;

/// Requests one authorization may make: redirects plus form submissions.
const MAX_HOPS: usize = 25;
/// How often one script step may fire: a login page that comes back means the login failed.
const MAX_STEP_USES: usize = 3;

pub async fn browse(run: &Run<'_>, script: &[LoginStep]) -> Result<Landing, AgentError> {
    let mut landing = Landing::default();
    let mut jar = CookieStore::new();
    let mut uses = vec![0usize; script.len()];
    let mut req = Request::get(run.url);
    let mut after_post = false;
    for _ in 0..MAX_HOPS {
        let url = Url::parse(&req.url)
            .map_err(|e| AgentError::Config(format!("cannot browse to {}: {e}", req.url)))?;
        let cookies: Vec<String> = jar
            .get_request_values(&url)
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let mut sent = req.clone();
        if !cookies.is_empty() {
            sent.headers.push(("Cookie".into(), cookies.join("; ")));
        }
        let (ex, result) = run.http.send(&sent).await;
        landing.exchanges.push(ex);
        let resp = result?;
        for v in resp.header_values("set-cookie") {
            if let Ok(c) = RawCookie::parse(v.to_string()) {
                let _ = jar.insert_raw(&c, &url);
            }
        }
        let location = resp.header("location").map(str::to_string);
        if let (true, Some(loc)) = ((300..400).contains(&resp.status), location) {
            if after_post {
                landing.post_redirects.push(resp.status);
            }
            let next = url.join(&loc).map(|u| u.to_string()).unwrap_or(loc);
            let inside = origin_of(&next).is_some_and(|o| run.origins.contains(&o));
            if !inside {
                landing.landed = Some(next);
                landing.last = Some(resp);
                return Ok(landing);
            }
            // 307 and 308 repeat the request as it was; the others become a GET.
            if !matches!(resp.status, 307 | 308) {
                req = Request::get(next);
            } else {
                req.url = next;
            }
            continue;
        }
        after_post = false;
        landing.visits.push(Visit {
            url: req.url.clone(),
            status: resp.status,
        });
        let body = String::from_utf8_lossy(&resp.body).into_owned();
        let forms = form::forms(&body);
        // A page that asks the user something (a login or consent form) is where a person
        // would go on; an error page is the server's answer.
        landing.login_page = resp.status < 400
            && forms
                .iter()
                .any(|f| f.has_password || (f.method == "POST" && !f.submits.is_empty()));
        if !run.allow_login || script.is_empty() {
            landing.stopped = Some(stop_reason(run, script, &req.url, resp.status));
            landing.last = Some(resp);
            return Ok(landing);
        }
        let Some((i, step)) = script
            .iter()
            .enumerate()
            .find(|(i, s)| uses[*i] < MAX_STEP_USES && step_matches(s, &req.url, &body))
        else {
            landing.stopped = Some(format!(
                "no login step matches the page {} ({})",
                crate::http::without_query(&req.url),
                resp.status
            ));
            landing.last = Some(resp);
            return Ok(landing);
        };
        uses[i] += 1;
        let Some(form) = pick_form(step, &forms) else {
            landing.stopped = Some(format!(
                "login step {} matched {} but the page has no such form",
                i + 1,
                req.url
            ));
            landing.last = Some(resp);
            return Ok(landing);
        };
        let values: Vec<(String, String)> = step
            .fields
            .iter()
            .map(|(k, v)| Ok((k.clone(), expand_env(v)?)))
            .collect::<Result<_, AgentError>>()?;
        let submit = step
            .submit
            .iter()
            .next()
            .map(|(k, v)| (k.as_str(), v.as_str()));
        let pairs = form.submission(&values, submit);
        let action = if form.action.is_empty() {
            url.clone()
        } else {
            url.join(&form.action).unwrap_or_else(|_| url.clone())
        };
        if origin_of(action.as_str()).is_none_or(|o| !run.origins.contains(&o)) {
            landing.stopped = Some(format!(
                "the form on {} posts to {action}, outside the origins the agent may visit",
                req.url
            ));
            landing.last = Some(resp);
            return Ok(landing);
        }
        let encoded = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        req = if form.method == "POST" {
            after_post = true;
            Request {
                method: "POST".into(),
                url: action.to_string(),
                headers: vec![(
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded".into(),
                )],
                body: Some(encoded.into_bytes()),
            }
        } else {
            let mut a = action.clone();
            a.set_query(Some(&encoded));
            Request::get(a.to_string())
        };
    }
    landing.stopped = Some(format!(
        "gave up after {MAX_HOPS} requests without being redirected back"
    ));
    Ok(landing)
}

fn stop_reason(run: &Run<'_>, script: &[LoginStep], url: &str, status: u16) -> String {
    if !run.allow_login {
        format!("stopped at {url} ({status}) without logging in")
    } else if script.is_empty() {
        format!(
            "the server showed a page ({url}, {status}) instead of redirecting back; a login script (agent mode `form`) can get past it"
        )
    } else {
        format!("stopped at {url} ({status})")
    }
}

fn step_matches(step: &LoginStep, url: &str, body: &str) -> bool {
    let re_ok = |re: &Option<String>, text: &str| {
        re.as_ref()
            .is_none_or(|r| regex::Regex::new(r).is_ok_and(|re| re.is_match(text)))
    };
    re_ok(&step.url, url) && re_ok(&step.contains, body)
}

fn pick_form<'a>(step: &LoginStep, forms: &'a [Form]) -> Option<&'a Form> {
    match &step.form {
        Some(want) => forms
            .iter()
            .find(|f| f.id.as_deref() == Some(want) || f.name.as_deref() == Some(want)),
        None => forms.iter().find(|f| {
            step.fields
                .keys()
                .all(|k| f.has_field(k) || (k == "password" && f.has_password))
                && step
                    .submit
                    .iter()
                    .all(|(k, v)| f.submits.iter().any(|(n, val)| n == k && val == v))
        }),
    }
}
