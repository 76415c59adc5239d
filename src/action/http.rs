//! `http`: any request, built from the step's method, URL, query, headers and body.

use super::step::{ActionCtx, StepError, StepResult, observe_with_json};
use crate::http::Request;
use crate::suite::model::StepDef;
use crate::suite::vars::Scope;

pub async fn run(ctx: &ActionCtx<'_>, step: &StepDef, scope: &Scope) -> StepResult {
    let req = match build(step, scope) {
        Ok(r) => r,
        Err(e) => {
            return StepResult {
                exchanges: Vec::new(),
                outcome: Err(e),
            };
        }
    };
    let (exchanges, result) = ctx
        .http
        .send_following(&req, step.follow.unwrap_or(0))
        .await;
    // A check's own registrations and authorization and token requests count too, and what
    // they created is the run's to clean up.
    let endpoint = |name: &str| scope.get(&format!("as.{name}")).map(super::step::text);
    let endpoints = crate::footprint::Endpoints {
        registration: endpoint("registration_endpoint"),
        authorization: endpoint("authorization_endpoint"),
        token: endpoint("token_endpoint"),
    };
    ctx.session.footprint.exchanges(&exchanges, &endpoints);
    let outcome = match result {
        Err(e) => Err(StepError::Http(e)),
        Ok(resp) => observe_with_json(step, resp),
    };
    StepResult { exchanges, outcome }
}

fn build(step: &StepDef, scope: &Scope) -> Result<Request, StepError> {
    let url = with_query(
        &scope.interpolate(step.url.as_deref().unwrap_or_default())?,
        step,
        scope,
    )?;
    let mut headers = Vec::new();
    let mut body = None;
    if let Some(raw) = &step.body {
        body = Some(scope.interpolate(raw)?.into_bytes());
    } else if let Some(j) = &step.json {
        headers.push(("Content-Type".to_string(), "application/json".to_string()));
        body = Some(scope.resolve(j)?.to_string().into_bytes());
    } else if let Some(form) = &step.form {
        headers.push((
            "Content-Type".to_string(),
            "application/x-www-form-urlencoded".to_string(),
        ));
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in form {
            ser.append_pair(k, &scope.interpolate(v)?);
        }
        body = Some(ser.finish().into_bytes());
    }
    apply_headers(&mut headers, step, scope)?;
    let method = step.method.clone().unwrap_or_else(|| {
        if body.is_some() {
            "POST".into()
        } else {
            "GET".into()
        }
    });
    Ok(Request {
        method,
        url,
        headers,
        body,
    })
}

/// Step headers replace defaults of the same name; several values send several headers.
pub(super) fn apply_headers(
    headers: &mut Vec<(String, String)>,
    step: &StepDef,
    scope: &Scope,
) -> Result<(), StepError> {
    for (name, values) in &step.headers {
        headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        for v in values.values() {
            headers.push((name.clone(), scope.interpolate(v)?));
        }
    }
    Ok(())
}

pub(super) fn with_query(url: &str, step: &StepDef, scope: &Scope) -> Result<String, StepError> {
    if step.query.is_empty() {
        return Ok(url.to_string());
    }
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &step.query {
        ser.append_pair(k, &scope.interpolate(v)?);
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{sep}{}", ser.finish()))
}
