//! HTML forms as a browser would submit them: the login and consent pages of an authorization
//! server are read here. Input is whatever the server sent; parsing never fails, it just finds
//! fewer forms.

use scraper::{ElementRef, Html, Selector};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Form {
    /// The `action` attribute as written (empty: the page's own URL).
    pub action: String,
    /// Upper-case; `GET` unless the form says `post`.
    pub method: String,
    /// Successful controls other than submit buttons, in document order: hidden and text inputs,
    /// checked checkboxes and radios, selected options, textareas.
    pub fields: Vec<(String, String)>,
    /// Submit buttons (name, value); a nameless button submits nothing of its own.
    pub submits: Vec<(String, String)>,
    pub has_password: bool,
    /// `id` and `name` attributes of the form, for scripts that pick one.
    pub id: Option<String>,
    pub name: Option<String>,
}

impl Form {
    pub fn has_field(&self, name: &str) -> bool {
        self.fields.iter().any(|(k, _)| k == name)
    }

    /// The body (or query) the form submits with `values` filled in and the given submit button
    /// pressed. Fields the page does not have are added, as a script asks for them.
    pub fn submission(
        &self,
        values: &[(String, String)],
        submit: Option<(&str, &str)>,
    ) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self.fields.clone();
        for (k, v) in values {
            match out.iter_mut().find(|(name, _)| name == k) {
                Some(slot) => slot.1 = v.clone(),
                None => out.push((k.clone(), v.clone())),
            }
        }
        match submit {
            Some((name, value)) => out.push((name.to_string(), value.to_string())),
            // A browser pressing Enter submits the first named submit button, if any.
            None => {
                if let Some((name, value)) = self.submits.iter().find(|(n, _)| !n.is_empty()) {
                    out.push((name.clone(), value.clone()));
                }
            }
        }
        out
    }
}

fn selector(s: &str) -> Selector {
    // Only fixed, valid selectors are passed here.
    Selector::parse(s)
        .unwrap_or_else(|_| Selector::parse("form").expect("`form` is a valid selector"))
}

/// Every form of a page.
pub fn forms(html: &str) -> Vec<Form> {
    let doc = Html::parse_document(html);
    let form_sel = selector("form");
    let control_sel = selector("input, button, select, textarea");
    let option_sel = selector("option");
    doc.select(&form_sel)
        .map(|f| read_form(f, &control_sel, &option_sel))
        .collect()
}

/// The names of every named control of a page (inputs of any type, hidden and password ones
/// included, buttons, selects, textareas), in document order, each once: what a message says a
/// page asked for. Values are left out (they may be secrets).
pub fn control_names(html: &str) -> Vec<String> {
    let doc = Html::parse_document(html);
    let mut out: Vec<String> = Vec::new();
    for c in doc.select(&selector("input, button, select, textarea")) {
        if let Some(name) = c.value().attr("name").filter(|n| !n.is_empty()) {
            if !out.iter().any(|n| n == name) {
                out.push(name.to_string());
            }
        }
    }
    out
}

/// A named control of a form and its kind, for describing a page; its value is left out (it
/// may be a secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Control {
    pub name: String,
    /// An input's `type`, lower-cased (`text` when absent); otherwise the element's name
    /// (`select`, `textarea`, `button`).
    pub kind: String,
}

/// The named, enabled controls of every form of a page, form by form in the order [`forms`]
/// lists them, each in document order.
pub fn form_controls(html: &str) -> Vec<Vec<Control>> {
    let doc = Html::parse_document(html);
    let control_sel = selector("input, button, select, textarea");
    doc.select(&selector("form"))
        .map(|f| {
            f.select(&control_sel)
                .filter(|c| c.value().attr("disabled").is_none())
                .filter_map(|c| {
                    let el = c.value();
                    let name = el.attr("name").filter(|n| !n.is_empty())?;
                    let kind = match el.name() {
                        "input" => el.attr("type").unwrap_or("text").to_ascii_lowercase(),
                        other => other.to_string(),
                    };
                    Some(Control {
                        name: name.to_string(),
                        kind,
                    })
                })
                .collect()
        })
        .collect()
}

/// The visible text of a page (scripts and styles left out), whitespace collapsed, cut to at
/// most `max` characters (with `…` when cut).
pub fn text_excerpt(html: &str, max: usize) -> String {
    let doc = Html::parse_document(html);
    let mut words: Vec<&str> = Vec::new();
    for node in doc.root_element().descendants() {
        let Some(text) = node.value().as_text() else {
            continue;
        };
        let hidden = node.ancestors().any(|a| {
            a.value()
                .as_element()
                .is_some_and(|e| matches!(e.name(), "script" | "style" | "noscript" | "template"))
        });
        if !hidden {
            words.extend(text.split_whitespace());
        }
    }
    let text = words.join(" ");
    if text.chars().count() <= max {
        return text;
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn read_form(form: ElementRef<'_>, controls: &Selector, options: &Selector) -> Form {
    let attr = |e: &ElementRef<'_>, a: &str| e.value().attr(a).map(str::to_string);
    let mut fields = Vec::new();
    let mut submits = Vec::new();
    let mut has_password = false;
    for c in form.select(controls) {
        let el = c.value();
        if el.attr("disabled").is_some() {
            continue;
        }
        let name = el.attr("name").unwrap_or_default().to_string();
        let value = el.attr("value").unwrap_or_default().to_string();
        match el.name() {
            "input" => match el
                .attr("type")
                .unwrap_or("text")
                .to_ascii_lowercase()
                .as_str()
            {
                "submit" | "image" => submits.push((name, value)),
                "button" | "reset" | "file" => {}
                "password" => {
                    has_password = true;
                    if !name.is_empty() {
                        fields.push((name, value));
                    }
                }
                "checkbox" | "radio" if el.attr("checked").is_some() && !name.is_empty() => {
                    let v = if value.is_empty() {
                        "on".to_string()
                    } else {
                        value
                    };
                    fields.push((name, v));
                }
                "checkbox" | "radio" => {}
                _ if !name.is_empty() => fields.push((name, value)),
                _ => {}
            },
            "button"
                if el
                    .attr("type")
                    .is_none_or(|t| t.eq_ignore_ascii_case("submit")) =>
            {
                submits.push((name, value));
            }
            "select" if !name.is_empty() => {
                let mut chosen = None;
                for o in c.select(options) {
                    let v = o
                        .value()
                        .attr("value")
                        .map(str::to_string)
                        .unwrap_or_else(|| o.text().collect::<String>().trim().to_string());
                    if chosen.is_none() || o.value().attr("selected").is_some() {
                        chosen = Some(v);
                    }
                }
                fields.push((name, chosen.unwrap_or_default()));
            }
            "textarea" if !name.is_empty() => fields.push((name, c.text().collect())),
            _ => {}
        }
    }
    Form {
        action: attr(&form, "action").unwrap_or_default(),
        method: attr(&form, "method")
            .map(|m| m.to_ascii_uppercase())
            .filter(|m| m == "POST")
            .unwrap_or_else(|| "GET".into()),
        fields,
        submits,
        has_password,
        id: attr(&form, "id"),
        name: attr(&form, "name"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<html><body>
      <form id="search" action="/search"><input name="q"></form>
      <form id="login" method="post" action="/login">
        <input type="hidden" name="request_id" value="r1">
        <input name="username"><input type="password" name="password">
        <input type="checkbox" name="remember" checked>
        <select name="lang"><option value="en">English</option><option value="fr" selected>French</option></select>
        <input type="text" name="disabled_one" disabled>
        <button type="submit" name="decision" value="approve">Yes</button>
        <button type="submit" name="decision" value="deny">No</button>
      </form></body></html>"#;

    #[test]
    fn reads_controls_as_a_browser_submits_them() {
        let fs = forms(PAGE);
        assert_eq!(fs.len(), 2);
        let login = &fs[1];
        assert_eq!(
            (
                login.method.as_str(),
                login.action.as_str(),
                login.id.as_deref()
            ),
            ("POST", "/login", Some("login"))
        );
        assert!(login.has_password);
        let names: Vec<&str> = login.fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            ["request_id", "username", "password", "remember", "lang"]
        );
        assert_eq!(login.fields[4].1, "fr");
        assert_eq!(login.submits.len(), 2);
        let body = login.submission(
            &[("username".into(), "alice".into())],
            Some(("decision", "deny")),
        );
        assert!(body.contains(&("username".into(), "alice".into())));
        assert_eq!(
            body.last().unwrap(),
            &("decision".to_string(), "deny".to_string())
        );
        assert_eq!(fs[0].method, "GET");
    }

    #[test]
    fn broken_html_gives_fewer_forms_not_errors() {
        assert!(forms("<form><input name=a").len() <= 1);
        assert!(forms("").is_empty());
        assert!(forms("\u{0}<<<>>>").is_empty());
    }

    #[test]
    fn names_and_text_of_a_page() {
        assert_eq!(
            control_names(PAGE),
            [
                "q",
                "request_id",
                "username",
                "password",
                "remember",
                "lang",
                "disabled_one",
                "decision"
            ]
        );
        let kinds: Vec<Vec<(String, String)>> = form_controls(PAGE)
            .into_iter()
            .map(|f| f.into_iter().map(|c| (c.name, c.kind)).collect())
            .collect();
        let pair = |n: &str, k: &str| (n.to_string(), k.to_string());
        assert_eq!(kinds[0], [pair("q", "text")]);
        assert_eq!(
            kinds[1],
            [
                pair("request_id", "hidden"),
                pair("username", "text"),
                pair("password", "password"),
                pair("remember", "checkbox"),
                pair("lang", "select"),
                pair("decision", "button"),
                pair("decision", "button"),
            ]
        );
        let page = "<html><head><style>p{}</style><script>var x=1;</script></head><body><h1>Sign  in</h1>\n<p>to continue</p></body></html>";
        assert_eq!(text_excerpt(page, 200), "Sign in to continue");
        assert_eq!(text_excerpt(page, 8), "Sign in…");
    }
}
